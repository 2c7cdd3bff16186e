// Region targets for dense outputs (engine/targets/dense): the score of class k is the sum of its
// output channel over a region (a mask image, non-zero = inside; the whole image by default; the
// pixels predicted as k with `region: 'predicted'`), and the cotangent that selects it is that
// mask placed in channel k.
import { CamLensError } from '../errors';
import { decodeImage } from '../image/decode';
import type { PlainTensor } from '../runtime/tapRunner';
import type { ExplainParams } from '../explainTypes';
import {
  denseLayoutOf,
  denseSizes,
  predictedClasses,
  predictedRegion,
  predictedRegions,
  regionCotangentData,
  regionSum,
  type ClassRegion,
  type DenseLayout,
} from '../targets/dense';
import { topIndices } from './predictions';

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
  // An empty region has a score of 0 and no gradient: every map would be blank.
  if (!out.some((v) => v))
    throw new CamLensError('BAD_ARGUMENT', `--region-mask ${file}: the mask is empty at the output's ${h}×${w} resolution (no non-black pixel).`);
  return out;
}

/** Per-class sums of the output over the region: the "scores" of a segmentation model. */
export function regionScores(output: PlainTensor, mask: Float32Array, layout: DenseLayout = 'NCHW'): Float32Array {
  const { k } = denseSizes(output.dims, layout);
  return Float32Array.from({ length: k }, (_, c) => regionSum(output.data as Float32Array, output.dims, layout, c, mask));
}

export function regionCotangent(dims: readonly number[], classIndex: number, mask: Float32Array, layout: DenseLayout = 'NCHW'): PlainTensor {
  return { dtype: 'float32', dims: [...dims], data: regionCotangentData(dims, layout, classIndex, mask) };
}

export interface DenseRegions {
  layout: DenseLayout;
  /** Per class: its channel summed over its region (0 for a class with an empty predicted region). */
  scores: Float32Array;
  /** The classes in the order top-k takes them: by score, or by predicted area with `region: 'predicted'`. */
  ranked: number[];
  /** Class c's region; an error when it is empty (its map would be blank). */
  regionOf(c: number): Float32Array;
  /** `region: 'predicted'`: the classes predicted, the largest region first (labels are the indices). */
  regions?: ClassRegion[];
}

/** The regions of a dense output `map` (the value `output`) for the request's mask, layout and region mode. */
export async function denseRegions(
  output: string,
  map: PlainTensor,
  params: Pick<ExplainParams, 'regionMask' | 'region' | 'denseLayout'>,
): Promise<DenseRegions> {
  const layout = denseLayoutOf(output, map.dims, params.denseLayout);
  const { k, h, w } = denseSizes(map.dims, layout);
  const within = await loadRegionMask(params.regionMask, h, w);
  const data = map.data as Float32Array;
  if (params.region !== 'predicted') {
    const scores = regionScores(map, within, layout);
    return { layout, scores, ranked: topIndices(scores, k), regionOf: () => within };
  }
  const predicted = predictedClasses(data, map.dims, layout);
  const regions = predictedRegions(predicted, k, within);
  const regionOf = (c: number) => {
    const mask = predictedRegion(predicted, c, within);
    if (!mask.some((v) => v))
      throw new CamLensError(
        'BAD_ARGUMENT',
        `Class ${c} is predicted at no pixel of "${output}"${params.regionMask ? ' inside --region-mask' : ''}: its region is empty. ` +
          `The classes predicted are ${regions.map((r) => `${r.class} (${(r.share * 100).toFixed(1)}%)`).join(', ')}.`,
      );
    return mask;
  };
  const scores = Float32Array.from({ length: k }, (_, c) => regionSum(data, map.dims, layout, c, predictedRegion(predicted, c, within)));
  return { layout, scores, ranked: regions.map((r) => r.class), regionOf, regions };
}
