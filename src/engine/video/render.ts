// Pictures of a video explanation: one overlay per frame, the frames side by side (strip), and
// an animated GIF or WebP of the overlays. sharp only: this runs in the worker / CLI, never in
// the extension host.
import sharp from 'sharp';
import type { ColormapName } from '../image/colormap';
import { blendFrames, stripRgb } from '../image/blend';
import type { RgbImage } from '../image/decode';

export interface VideoPictures {
  frameOverlaysPng: Uint8Array[];
  stripPng: Uint8Array;
  animatedGif: Uint8Array;
}

/** Frames stacked top to bottom with pageHeight = H: libvips' multi-page layout for GIF/WebP. */
export async function animation(frames: readonly Uint8Array[], width: number, height: number, format: 'gif' | 'webp' = 'gif', delayMs = 125): Promise<Buffer> {
  const tall = new Uint8Array(frames.length * height * width * 3);
  frames.forEach((f, t) => tall.set(f, t * f.length));
  const s = sharp(tall, { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } as never });
  const options = { loop: 0, delay: frames.map(() => delayMs) };
  return format === 'gif' ? s.gif({ ...options, effort: 3 }).toBuffer() : s.webp({ ...options, lossless: true }).toBuffer();
}

/** `cam` is [T, H, W] in [0, 1], frames are [H, W] RGB. */
export async function renderVideo(frames: readonly RgbImage[], cam: Float32Array, colormap: ColormapName, alpha: number): Promise<VideoPictures> {
  const { width, height } = frames[0];
  const overlays = blendFrames(frames, cam, width, height, colormap, alpha);
  const png = (rgb: Uint8Array, w: number, h: number) =>
    sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .png({ compressionLevel: 6 })
      .toBuffer();
  const [frameOverlaysPng, stripPng, animatedGif] = await Promise.all([
    Promise.all(overlays.map((o) => png(o, width, height))),
    png(stripRgb(overlays, width, height), width * frames.length, height),
    animation(overlays, width, height, 'gif'),
  ]);
  return { frameOverlaysPng, stripPng, animatedGif };
}
