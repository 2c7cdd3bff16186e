// RISE (Petsiuk et al. 2018): N random masks; each is a `cells` × `cells` grid of cells kept with
// probability p, upsampled bilinearly to (cells + 1) × the cell size and cropped at a random shift
// (so cell borders fall anywhere), as in the paper's code (7 × 7 cells, p = 0.5). The model input
// is multiplied by the mask (the paper's x ⊙ M on the normalised input: a masked pixel is the
// normalisation's mean colour), and the saliency is the score-weighted mean mask,
//   S = Σᵢ f(x ⊙ Mᵢ) Mᵢ / (N · p).
// Masks are drawn from one seeded stream, row by row, and kept only until their score arrives.
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import { resizeBilinear } from '../cam/postprocess';
import { rng } from '../metrics/stats';
import { streamScores, type AttributionContext } from './batching';

export const DEFAULT_RISE_MASKS: number = METHOD_OPTION_SPECS.masks.default;
export const RISE_CELLS = 7;
export const RISE_KEEP_PROBABILITY = 0.5;

/** A mask source: the i-th call gives the i-th mask [h·w] of one seeded sequence. */
export function riseMasks(h: number, w: number, seed: number, cells = RISE_CELLS, p = RISE_KEEP_PROBABILITY): () => Float32Array {
  const random = rng(seed);
  const [ch, cw] = [Math.ceil(h / cells), Math.ceil(w / cells)];
  const [uh, uw] = [(cells + 1) * ch, (cells + 1) * cw];
  return () => {
    const grid = Float32Array.from({ length: cells * cells }, () => (random() < p ? 1 : 0));
    const [dy, dx] = [Math.floor(random() * ch), Math.floor(random() * cw)];
    const up = resizeBilinear({ data: grid, shape: [1, cells, cells] }, [uh, uw]).data;
    const mask = new Float32Array(h * w);
    for (let y = 0; y < h; y++) mask.set(up.subarray((y + dy) * uw + dx, (y + dy) * uw + dx + w), y * w);
    return mask;
  };
}

export async function rise(
  ctx: AttributionContext,
  x: Float32Array,
  classIndex: number,
  options: { masks?: number; seed?: number } = {},
): Promise<{ attr: Float32Array }> {
  const { c, h, w } = ctx;
  const n = options.masks ?? DEFAULT_RISE_MASKS;
  const next = riseMasks(h, w, options.seed ?? 0);
  const pending = new Map<number, Float32Array>();
  const sum = new Float64Array(h * w);
  await streamScores(
    ctx,
    classIndex,
    {
      rows: n,
      row: (i) => {
        const mask = next();
        pending.set(i, mask);
        const out = new Float32Array(x.length);
        for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[ch * h * w + p] = x[ch * h * w + p] * mask[p];
        return out;
      },
      take: (i, score) => {
        const mask = pending.get(i)!;
        pending.delete(i);
        for (let p = 0; p < h * w; p++) sum[p] += score * mask[p];
      },
    },
    'RISE',
  );
  const attr = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) attr[ch * h * w + p] = sum[p] / (n * RISE_KEEP_PROBABILITY);
  return { attr };
}
