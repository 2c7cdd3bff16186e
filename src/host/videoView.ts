// What the CAM panel's webview gets of a video explanation besides the map: the clip's frames
// as one [T, H, W, 3] array (one transfer; the webview composes every frame's overlay itself, so
// opacity and colormap changes stay local for video too) and the temporal weights. No 'vscode'
// import, so node tests check it.
import type { VideoView } from '../../webview/messages';

export function videoView(frames: ReadonlyArray<{ data: Uint8Array; width: number; height: number }>, temporalWeights: readonly number[]): VideoView {
  const { width, height } = frames[0];
  const size = width * height * 3;
  const packed = new Uint8Array(size * frames.length);
  frames.forEach((f, t) => {
    if (f.width !== width || f.height !== height || f.data.length < size) {
      throw new Error(`clip frame ${t} is ${f.width}×${f.height}, frame 0 ${width}×${height}: every frame must have the model's size`);
    }
    packed.set(f.data.subarray(0, size), t * size);
  });
  return { count: frames.length, frames: packed, temporalWeights: [...temporalWeights] };
}
