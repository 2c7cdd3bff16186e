// Dense outputs (segmentation logits, heat maps, depth): which axis holds the classes, and the
// regions a class target sums over. A region is a 0/1 mask over the output's h×w pixels: a mask
// image, the whole image, or the pixels whose predicted class (argmax over the class axis) is
// the class explained — pytorch-grad-cam's SemanticSegmentationTarget with the mask made from
// the model's own prediction.
import { CamLensError } from '../errors';

/** NCHW: [N, K, h, w]; NHWC: [N, h, w, K]. */
export type DenseLayout = 'NCHW' | 'NHWC';
export const DENSE_LAYOUTS: readonly DenseLayout[] = ['NCHW', 'NHWC'];

/** K, h, w of a dense output of `dims` in `layout`. */
export function denseSizes(dims: readonly number[], layout: DenseLayout): { k: number; h: number; w: number } {
  return layout === 'NCHW' ? { k: dims[1], h: dims[2], w: dims[3] } : { k: dims[3], h: dims[1], w: dims[2] };
}

/**
 * The layout of a rank-4 output: named, or read from the shape when one end axis is smaller than
 * both spatial axes (classes are fewer than pixels per side in every real segmenter:
 * [1, 21, 520, 520], [1, 512, 512, 19]; at most one end axis can be). A shape where neither is
 * ([1, 4, 4, 4]) is an error asking for the layout: a guess there would explain the wrong axis.
 */
export function denseLayoutOf(value: string, dims: readonly number[], named?: DenseLayout): DenseLayout {
  if (dims.length !== 4)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Output "${value}" has shape [${dims.join(', ')}]; region targets need a dense output [N, K, h, w] or [N, h, w, K]. ` +
        'A sequence output [T, N, C] / [N, T, C] is explained with --ctc, --target-sequence or --sequence-step; any element with --target VALUE@i,j,k.',
    );
  if (named) return named;
  const [, a, b, c] = dims;
  if (a < Math.min(b, c)) return 'NCHW';
  if (c < Math.min(a, b)) return 'NHWC';
  throw new CamLensError(
    'BAD_ARGUMENT',
    `Output "${value}" [${dims.join(', ')}]: the class axis cannot be told from the shape (neither end axis is smaller than the other two); name it with --dense-layout NCHW or NHWC.`,
  );
}

/** Row-major offset of pixel p (of h·w) of class c in batch row 0. */
export function denseOffset(layout: DenseLayout, k: number, hw: number, c: number, p: number): number {
  return layout === 'NCHW' ? c * hw + p : p * k + c;
}

/** Per pixel of batch row 0: the class with the largest score (the first on ties). */
export function predictedClasses(data: ArrayLike<number>, dims: readonly number[], layout: DenseLayout): Int32Array {
  const { k, h, w } = denseSizes(dims, layout);
  const hw = h * w;
  const out = new Int32Array(hw);
  for (let p = 0; p < hw; p++) {
    let best = 0;
    let bestScore = data[denseOffset(layout, k, hw, 0, p)];
    for (let c = 1; c < k; c++) {
      const s = data[denseOffset(layout, k, hw, c, p)];
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    out[p] = best;
  }
  return out;
}

/** The pixels predicted as `c`, inside `within` (a 0/1 mask): class c's region. */
export function predictedRegion(predicted: Int32Array, c: number, within: Float32Array): Float32Array {
  return Float32Array.from(predicted, (k, p) => (k === c && within[p] ? 1 : 0));
}

/** A class's predicted region: its pixel count and share of the region considered. */
export interface ClassRegion {
  class: number;
  label: string;
  pixels: number;
  /** pixels / the pixels inside the region mask (the whole output without one). */
  share: number;
}

/** The classes predicted somewhere inside `within`, the largest region first. */
export function predictedRegions(predicted: Int32Array, k: number, within: Float32Array, labels?: readonly string[]): ClassRegion[] {
  const counts = new Array<number>(k).fill(0);
  let inside = 0;
  for (let p = 0; p < predicted.length; p++) {
    if (!within[p]) continue;
    counts[predicted[p]]++;
    inside++;
  }
  return counts
    .map((pixels, c) => ({ class: c, label: labels?.[c] ?? String(c), pixels, share: inside ? pixels / inside : 0 }))
    .filter((r) => r.pixels > 0)
    .sort((x, y) => y.pixels - x.pixels || x.class - y.class);
}

/** Σ over the region of class c's channel: one class's score, the scalar its region target explains. */
export function regionSum(data: ArrayLike<number>, dims: readonly number[], layout: DenseLayout, c: number, mask: Float32Array): number {
  const { k, h, w } = denseSizes(dims, layout);
  const hw = h * w;
  let s = 0;
  for (let p = 0; p < hw; p++) if (mask[p]) s += data[denseOffset(layout, k, hw, c, p)];
  return s;
}

/** d(region sum of class c)/d(output): the mask placed in class c's channel of every batch row. */
export function regionCotangentData(dims: readonly number[], layout: DenseLayout, c: number, mask: Float32Array): Float32Array {
  const { k, h, w } = denseSizes(dims, layout);
  const hw = h * w;
  const row = k * hw;
  const data = new Float32Array(dims[0] * row);
  for (let b = 0; b < dims[0]; b++) for (let p = 0; p < hw; p++) if (mask[p]) data[b * row + denseOffset(layout, k, hw, c, p)] = mask[p];
  return data;
}
