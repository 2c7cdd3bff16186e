// Test-time augmentation for aug_smooth (pytorch-grad-cam's ttach Compose of HorizontalFlip and
// Multiply [0.9, 1.0, 1.1]): the input variants, and undoing the flip on their maps.
import type { PlainTensor } from '../runtime/tapRunner';

export interface Augmentation {
  flip: boolean;
  factor: number;
}

export const AUGMENTATIONS: readonly Augmentation[] = [false, true].flatMap((flip) => [0.9, 1.0, 1.1].map((factor) => ({ flip, factor })));

/** The input with the augmentation applied; `layout` says where the width axis is. */
export function augmentInput(input: PlainTensor, aug: Augmentation, layout: 'NCHW' | 'NHWC'): PlainTensor {
  const src = input.data as Float32Array;
  const out = new Float32Array(src.length);
  const [, d1, d2, d3] = input.dims;
  const [rows, width, inner] = layout === 'NCHW' ? [input.dims[0] * d1 * d2, d3, 1] : [input.dims[0] * d1, d2, d3];
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < width; x++) {
      const from = (r * width + (aug.flip ? width - 1 - x : x)) * inner;
      const to = (r * width + x) * inner;
      for (let k = 0; k < inner; k++) out[to + k] = src[from + k] * aug.factor;
    }
  }
  return { ...input, data: out };
}

/** Flips an [H, W] map back if the augmentation flipped the input. */
export function deaugmentMap(map: Float32Array, height: number, width: number, aug: Augmentation): Float32Array {
  if (!aug.flip) return map;
  const out = new Float32Array(map.length);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = map[y * width + width - 1 - x];
  return out;
}
