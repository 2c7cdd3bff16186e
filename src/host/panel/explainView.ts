// What the CAM panel's webview gets of an explanation (the `result` message), and the overlay
// PNG "Save overlay" writes. No 'vscode' import, so node tests check both against the CLI's.
import { blendFrames, stripRgb } from '../../engine/image/blend';
import type { ColormapName } from '../../engine/image/colormap';
import { encodeRgbPng } from '../../engine/image/png';
import type { ConceptsView, ExplainView, VideoView } from '../../panel/protocol';
import type { ExplainAnswer, ExplainResult, MapData } from '../../worker/protocol';

/**
 * A clip's frames as one [T, H, W, 3] array (one transfer; the webview composes every frame's
 * overlay itself, so opacity and colormap changes stay local for video too).
 */
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

/**
 * What the panel draws a result on: the original picture and the map on it when the input was
 * an image file (its own size and aspect), else the model-size picture and map (.npy, clips).
 * `cam` is absent when the answer left the map at the layer's size (mapsAt: 'layer').
 */
function shownPicture(r: ExplainAnswer): { image: { data: Uint8Array; width: number; height: number }; cam?: MapData; onOriginal: boolean } {
  const e = r.explanations[0];
  const onOriginal = Boolean(r.original?.picture && e && (e.camImage || e.mapAtLayer) && !e.video);
  const shown = onOriginal ? { image: r.original!.picture, cam: e.camImage } : { image: r.image, cam: e?.cam };
  // The panel's requests never say `pictures: false`; a result without them is a caller's mistake.
  if (!shown.image) throw new Error('explain view: the result carries no picture (requested with pictures: false)');
  return { image: shown.image, cam: shown.cam, onOriginal };
}

/**
 * The first explanation of `r` as the panel draws it (copies: the result stays the host's).
 * `picture: false` when the webview shows this image's picture already (not for clips).
 */
export function explainView(r: ExplainAnswer, requestId: number, options: { picture?: boolean } = {}): ExplainView | undefined {
  const e = r.explanations[0];
  if (!e) return undefined;
  const { image, cam, onOriginal } = shownPicture(r);
  // A map left at the layer's size goes to the webview as it is, with how to rebuild it there.
  const atLayer = !cam && e.mapAtLayer ? { ...e.mapAtLayer, ...(onOriginal ? { geometry: r.original!.geometry } : {}) } : undefined;
  if (!cam && !atLayer) throw new Error('explain view: the explanation has no map');
  return {
    requestId,
    method: r.method,
    layers: r.layers,
    classIndex: e.classIndex,
    label: e.label,
    predictions: r.predictions,
    ...(options.picture === false && !e.video
      ? { samePicture: true as const }
      : { image: { data: new Uint8Array(image.data), width: image.width, height: image.height } }),
    ...(cam ? { cam: { data: new Float32Array(cam.data), width: cam.width, height: cam.height } } : {}),
    camRaw: { width: e.camRaw.width, height: e.camRaw.height, ...(atLayer ? { data: new Float32Array(e.camRaw.data) } : {}) },
    ...(atLayer ? { mapAt: atLayer } : {}),
    ep: r.ep,
    timings: r.timings_ms,
    notes: r.notes,
    warnings: r.warnings.map((w) => w.message),
    ...(e.video && r.frames ? { video: videoView(r.frames, e.video.temporalWeights) } : {}),
    ...(r.detections ? detectionsView(r) : {}),
    ...(r.regions ? { regions: r.regions.map((g) => ({ class: g.class, label: g.label, pixels: g.pixels, share: g.share })) } : {}),
    ...(e.concepts ? { concepts: conceptsView(r) } : {}),
  };
}

/**
 * DFF's concepts for the panel's strip: the maps at the model's input size over the picture the
 * model saw (that size too), so no concept map is resampled for the panel (K maps on a photo's
 * own size would be K photos of floats).
 */
function conceptsView(r: ExplainAnswer): ConceptsView {
  const c = r.explanations[0].concepts!;
  if (!r.image) throw new Error('explain view: the result carries no picture (requested with pictures: false)');
  return {
    layer: c.layer,
    image: { data: new Uint8Array(r.image.data), width: r.image.width, height: r.image.height },
    maps: { data: new Float32Array(c.maps.data), width: c.maps.width, height: c.maps.height },
    count: c.count,
    topClasses: c.topClasses.map((top) => top.map((k) => ({ index: k.index, label: k.label, prob: k.prob }))),
    chosen: c.chosen,
  };
}

/**
 * A detector's detections for the panel: boxes in the shown picture's pixels (the original's, or
 * the model input's when that is what is shown) and the detection explained.
 */
function detectionsView(r: ExplainAnswer): Pick<ExplainView, 'detections' | 'detection'> {
  const e = r.explanations[0];
  const onOriginal = Boolean(r.original) && shownPicture(r).onOriginal;
  return {
    detections: (r.detections ?? []).map((d) => {
      const [x0, y0, x1, y1] = onOriginal || !r.original ? d.box : d.inputBox;
      return { box: [x0, y0, x1, y1], class: d.class, label: d.label, score: d.score };
    }),
    ...(e?.detection !== undefined ? { detection: e.detection } : {}),
  };
}

/**
 * The overlay PNG of the first explanation with the colormap and opacity the panel shows: the
 * same blend as the panel's canvas and the CLI's PNG. A clip's is its frames side by side.
 */
export function overlayPngAsShown(r: ExplainResult, look: { colormap: ColormapName; alpha: number }): Uint8Array {
  const e = r.explanations[0];
  if (!e) throw new Error('overlay: the result has no explanation');
  const { image, cam } = shownPicture(r);
  const { width, height } = cam!;
  const overlays = blendFrames(e.video && r.frames ? r.frames : [image], cam!.data, width, height, look.colormap, look.alpha);
  return overlays.length === 1 ? encodeRgbPng(overlays[0], width, height) : encodeRgbPng(stripRgb(overlays, width, height), width * overlays.length, height);
}
