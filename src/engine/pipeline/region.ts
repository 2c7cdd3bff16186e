// Region targets for segmentation outputs [N, K, h, w]: the score of class k is the sum of its
// output channel over a region (a mask image, non-zero = inside; the whole image by default),
// and the cotangent that selects it is that mask placed in channel k.
import { decodeImage } from '../image/decode';
import type { PlainTensor } from '../runtime/tapRunner';

/** The region as an [h, w] 0/1 mask at the output's resolution (nearest neighbour). */
export async function loadRegionMask(file: string | undefined, h: number, w: number): Promise<Float32Array> {
  const out = new Float32Array(h * w);
  if (!file) return out.fill(1);
  const img = await decodeImage(file);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      const p = (sy * img.width + sx) * 3;
      out[y * w + x] = img.data[p] || img.data[p + 1] || img.data[p + 2] ? 1 : 0;
    }
  }
  return out;
}

/** Per-class sums of the output over the region: the "scores" of a segmentation model. */
export function regionScores(output: PlainTensor, mask: Float32Array): Float32Array {
  const [, k] = output.dims;
  const hw = mask.length;
  const data = output.data as Float32Array;
  const scores = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let p = 0; p < hw; p++) if (mask[p]) s += data[c * hw + p];
    scores[c] = s;
  }
  return scores;
}

export function regionCotangent(dims: readonly number[], classIndex: number, mask: Float32Array): PlainTensor {
  const [n, k] = dims;
  const hw = mask.length;
  const data = new Float32Array(n * k * hw);
  for (let b = 0; b < n; b++) data.set(mask, (b * k + classIndex) * hw);
  return { dtype: 'float32', dims: [...dims], data };
}
