// How preprocessing maps the original image onto the model input, as plain data, and the maps
// back: points and boxes from input pixels to original pixels (detections, ground truth) and an
// input-sized map resampled onto the original image (overlays at the photo's own size). The
// one description of the resize modes: decode.ts resizes by it, metrics rasterise ground truth
// by it, the CLI, batch and panel draw maps by it. Pure (no DOM, no Node): the webview bundles it.
//
// Coordinates are continuous pixel coordinates with pixel i covering [i, i + 1) (its centre at
// i + 0.5), on both sides: input = original · scale + offset, per axis.
import type { ResizeMode } from './config';

/** ultralytics' grey: what YOLO-family exports were trained to see in the padding. */
export const LETTERBOX_PAD = 114;

export interface Size {
  width: number;
  height: number;
}

/** [x0, y0, x1, y1], pixel edges (a box covering pixels 0..9 is [0, 0, 10, 10]). */
export type Box = [number, number, number, number];

export interface ImageGeometry {
  mode: ResizeMode;
  original: Size;
  input: Size;
  /** input = original · scale + offset. */
  scaleX: number;
  scaleY: number;
  /** Negative for a centre crop (the pixels cut away on the left/top), positive for letterbox padding. */
  offsetX: number;
  offsetY: number;
  /** The part of the input holding picture content (all of it, except letterbox padding). */
  content: Box;
  /** The pixel size the original is resized to before the crop or the padding. */
  resized: Size;
  /** Letterbox only: the grey the padding is filled with. */
  pad?: number;
}

/**
 * The geometry of resizing `original` to `input` by `mode`:
 * - stretch: each axis on its own (sharp fit 'fill').
 * - shorter-side-then-center-crop: one scale so the image covers the input, then the middle
 *   (sharp fit 'cover', position 'centre': the resized size is round(side · scale) and the crop
 *   starts at ⌈excess / 2⌉, sharp's CalculateCrop).
 * - letterbox: one scale so the image fits, resized to round(side · scale), padded centred with
 *   `pad` (the smaller half of an odd padding on the left/top, as ultralytics' LetterBox does).
 */
export function imageGeometry(original: Size, input: Size, mode: ResizeMode, pad = LETTERBOX_PAD): ImageGeometry {
  const { width: w0, height: h0 } = original;
  const { width: W, height: H } = input;
  const full: Box = [0, 0, W, H];
  if (mode === 'stretch' || (w0 === W && h0 === H)) {
    return { mode, original, input, scaleX: W / w0, scaleY: H / h0, offsetX: 0, offsetY: 0, content: full, resized: { width: W, height: H } };
  }
  if (mode === 'shorter-side-then-center-crop') {
    const s = Math.max(W / w0, H / h0);
    const rw = Math.max(W, Math.round(w0 * s));
    const rh = Math.max(H, Math.round(h0 * s));
    const left = Math.floor((rw - W + 1) / 2);
    const top = Math.floor((rh - H + 1) / 2);
    return { mode, original, input, scaleX: s, scaleY: s, offsetX: 0 - left, offsetY: 0 - top, content: full, resized: { width: rw, height: rh } };
  }
  const s = Math.min(W / w0, H / h0);
  const rw = Math.max(1, Math.min(W, Math.round(w0 * s)));
  const rh = Math.max(1, Math.min(H, Math.round(h0 * s)));
  const left = Math.floor((W - rw) / 2);
  const top = Math.floor((H - rh) / 2);
  // The resize is to exactly rw × rh, so each axis has its own (nearly equal) scale.
  return {
    mode,
    original,
    input,
    scaleX: rw / w0,
    scaleY: rh / h0,
    offsetX: left,
    offsetY: top,
    content: [left, top, left + rw, top + rh],
    resized: { width: rw, height: rh },
    pad,
  };
}

/** A point in input pixels → the same point in original pixels (not clipped). */
export function inputToOriginalPoint(g: ImageGeometry, x: number, y: number): [number, number] {
  return [(x - g.offsetX) / g.scaleX, (y - g.offsetY) / g.scaleY];
}

/** A point in original pixels → the same point in input pixels (not clipped). */
export function originalToInputPoint(g: ImageGeometry, x: number, y: number): [number, number] {
  return [x * g.scaleX + g.offsetX, y * g.scaleY + g.offsetY];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** A box in input pixels → original pixels, clipped to the original image (a box on the padding shrinks to its edge). */
export function inputToOriginalBox(g: ImageGeometry, box: Box): Box {
  const [x0, y0] = inputToOriginalPoint(g, box[0], box[1]);
  const [x1, y1] = inputToOriginalPoint(g, box[2], box[3]);
  const { width, height } = g.original;
  return [clamp(x0, 0, width), clamp(y0, 0, height), clamp(x1, 0, width), clamp(y1, 0, height)];
}

/** A box in original pixels → input pixels, clipped to the input's picture content. */
export function originalToInputBox(g: ImageGeometry, box: Box): Box {
  const [x0, y0] = originalToInputPoint(g, box[0], box[1]);
  const [x1, y1] = originalToInputPoint(g, box[2], box[3]);
  const [cx0, cy0, cx1, cy1] = g.content;
  return [clamp(x0, cx0, cx1), clamp(y0, cy0, cy1), clamp(x1, cx0, cx1), clamp(y1, cy0, cy1)];
}

/**
 * Where the centre of each input column / row lies in the original image, in original pixels
 * (the sampling positions of the resize): sx[x] for x < input width, sy[y] for y < input height.
 */
export function inputPixelCentres(g: ImageGeometry): { sx: Float64Array; sy: Float64Array } {
  const sx = Float64Array.from({ length: g.input.width }, (_, x) => (x + 0.5 - g.offsetX) / g.scaleX);
  const sy = Float64Array.from({ length: g.input.height }, (_, y) => (y + 0.5 - g.offsetY) / g.scaleY);
  return { sx, sy };
}

/** Linear taps of one axis: for each output position, the two source indices and the weight of the second. */
function taps(count: number, toSource: (i: number) => number, lo: number, hi: number) {
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const w1 = new Float32Array(count);
  const inside = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const u = toSource(i + 0.5);
    inside[i] = u >= lo && u <= hi ? 1 : 0;
    // Sample centres are at k + 0.5; clamp to the first/last centre inside [lo, hi).
    const c = clamp(u - 0.5, lo, hi - 1);
    const f = Math.floor(c);
    i0[i] = f;
    i1[i] = Math.min(hi - 1, f + 1);
    w1[i] = c - f;
  }
  return { i0, i1, w1, inside };
}

/**
 * An input-sized map ([H·W], row-major) resampled onto the original image (bilinear at pixel
 * centres): the inverse of the resize. Letterbox padding is cut away (only the content is
 * sampled); with a centre crop, original pixels the model never saw get `outside` (NaN by
 * default: no value, rather than a made-up zero).
 */
export function mapToOriginal(g: ImageGeometry, map: Float32Array, outside = Number.NaN): Float32Array {
  const { width: W, height: H } = g.input;
  if (map.length !== W * H) throw new Error(`mapToOriginal: map has ${map.length} values, not ${W}x${H}`);
  const { width: w0, height: h0 } = g.original;
  const [cx0, cy0, cx1, cy1] = g.content;
  // An image already at the input size and not moved: every sample lands on its own pixel
  // (weight 0), so the map is its own resampling; a copy skips 0.5 ms per 224² image of a batch.
  if (w0 === W && h0 === H && g.scaleX === 1 && g.scaleY === 1 && g.offsetX === 0 && g.offsetY === 0 && cx0 === 0 && cy0 === 0 && cx1 === W && cy1 === H) {
    return map.slice();
  }
  const tx = taps(w0, (x) => x * g.scaleX + g.offsetX, cx0, cx1);
  const ty = taps(h0, (y) => y * g.scaleY + g.offsetY, cy0, cy1);
  const out = new Float32Array(w0 * h0);
  for (let y = 0; y < h0; y++) {
    const r0 = ty.i0[y] * W;
    const r1 = ty.i1[y] * W;
    const wy = ty.w1[y];
    for (let x = 0; x < w0; x++) {
      if (!ty.inside[y] || !tx.inside[x]) {
        out[y * w0 + x] = outside;
        continue;
      }
      const a = tx.i0[x];
      const b = tx.i1[x];
      const wx = tx.w1[x];
      const top = map[r0 + a] * (1 - wx) + map[r0 + b] * wx;
      const bottom = map[r1 + a] * (1 - wx) + map[r1 + b] * wx;
      out[y * w0 + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/** S.json's `image`: the original's size and how preprocessing mapped it onto the model input. */
export function imageJson(g: ImageGeometry) {
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    width: g.original.width,
    height: g.original.height,
    resize: g.mode,
    input: [g.input.height, g.input.width],
    scale: [r(g.scaleY), r(g.scaleX)],
    offset: [r(g.offsetY), r(g.offsetX)],
    ...(g.pad !== undefined ? { pad: g.pad, content: g.content } : {}),
  };
}
