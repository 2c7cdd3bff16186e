// Attention rollout (Abnar & Zuidema 2020), as in jacobgil/vit-explain's `rollout`: per layer,
// fuse heads (mean/max/min), zero the lowest `discardRatio` of the fused weights (never flat
// index 0, CLS→CLS, as in the reference), add the identity, halve, re-normalise rows, and
// multiply through the layers: R = Â_L · … · Â_1. The map is R's class-token row over the
// patch tokens, divided by its maximum. Only that row is computed (e₀ᵀ·Â_L·…·Â_1, O(L·N²)).
// Deliberate difference from vit-explain: rows are normalised by their own sums (the
// reference's `a / a.sum(dim=-1)` broadcasts the row sums along the last axis, i.e. divides
// column j by row j's sum, which only matches the paper when the rows already sum alike).
import { CamLensError } from '../errors';
import { tokenGrid, type TokenGrid } from '../cam/layout';

export type HeadFusion = 'mean' | 'max' | 'min';
export const HEAD_FUSIONS: readonly HeadFusion[] = ['mean', 'max', 'min'];

export interface AttentionTensor {
  data: Float32Array;
  /** [B, heads, N, N], or [B·heads, N, N] / [heads, N, N] with `heads` given. */
  shape: readonly number[];
}

export interface RolloutOptions {
  headFusion?: HeadFusion;
  /** Fraction of the lowest fused attention weights set to 0 per layer (0 ≤ r < 1). */
  discardRatio?: number;
  /** Image in the batch (default 0). */
  batchIndex?: number;
  /** Heads when the tensors are [B·heads, N, N]. */
  heads?: number;
  /** Token grid (default: inferred from N; class token(s) in front). */
  grid?: TokenGrid;
}

export interface RolloutResult {
  /** [h·w] class-token row over the patches, max-normalised (max = 1). */
  map: Float32Array;
  grid: TokenGrid;
  /** R's class-token row over all N tokens (unnormalised; sums to 1). */
  row: Float64Array;
}

/** Heads fused into one [N, N] matrix for image `b`. */
export function fuseHeads(t: AttentionTensor, fusion: HeadFusion, b = 0, heads?: number): Float64Array {
  let B: number, H: number, N: number;
  if (t.shape.length === 4) [B, H, N] = [t.shape[0], t.shape[1], t.shape[2]];
  else if (t.shape.length === 3) {
    H = heads ?? 1;
    if (t.shape[0] % H) throw new CamLensError('BAD_ARGUMENT', `attention of shape [${t.shape.join(', ')}] is not a multiple of ${H} heads`);
    [B, N] = [t.shape[0] / H, t.shape[1]];
  } else throw new CamLensError('BAD_ARGUMENT', `attention probabilities must be [B, heads, N, N]; got [${t.shape.join(', ')}]`);
  if (t.shape[t.shape.length - 1] !== N)
    throw new CamLensError('BAD_ARGUMENT', `attention probabilities must be square over the last two axes; got [${t.shape.join(', ')}]`);
  if (b >= B) throw new CamLensError('BAD_ARGUMENT', `batch index ${b} out of range (batch ${B})`);
  const nn = N * N;
  const out = new Float64Array(nn);
  const base = b * H * nn;
  if (fusion === 'mean') {
    for (let h = 0; h < H; h++) for (let i = 0; i < nn; i++) out[i] += t.data[base + h * nn + i];
    for (let i = 0; i < nn; i++) out[i] /= H;
  } else {
    out.set(t.data.subarray(base, base + nn));
    const pick = fusion === 'max' ? Math.max : Math.min;
    for (let h = 1; h < H; h++) for (let i = 0; i < nn; i++) out[i] = pick(out[i], t.data[base + h * nn + i]);
  }
  return out;
}

/** Zeroes the `ratio` lowest entries of a fused [N, N] matrix, never flat index 0 (CLS→CLS). */
export function discardLowest(a: Float64Array, ratio: number): void {
  if (!(ratio >= 0 && ratio < 1)) throw new CamLensError('BAD_ARGUMENT', `discard ratio must be in [0, 1); got ${ratio}`);
  const k = Math.floor(a.length * ratio);
  if (k === 0) return;
  const order = Array.from(a.keys()).sort((i, j) => a[i] - a[j] || i - j);
  for (let i = 0; i < k; i++) if (order[i] !== 0) a[order[i]] = 0;
}

export function rollout(attentions: readonly AttentionTensor[], options: RolloutOptions = {}): RolloutResult {
  if (!attentions.length) throw new CamLensError('BAD_ARGUMENT', 'attention rollout needs at least one attention layer');
  const fusion = options.headFusion ?? 'mean';
  if (!HEAD_FUSIONS.includes(fusion)) throw new CamLensError('BAD_ARGUMENT', `head fusion must be one of ${HEAD_FUSIONS.join(', ')}; got "${fusion}"`);
  const ratio = options.discardRatio ?? 0;
  const fused: Float64Array[] = [];
  let N = 0;
  for (const t of attentions) {
    const a = fuseHeads(t, fusion, options.batchIndex ?? 0, options.heads);
    const n = Math.round(Math.sqrt(a.length));
    if (fused.length && n !== N)
      throw new CamLensError(
        'BAD_ARGUMENT',
        `attention layers disagree on the token count (${N} vs ${n}); rollout needs one token sequence (ViT/DeiT, not Swin's windows)`,
      );
    N = n;
    discardLowest(a, ratio);
    for (let i = 0; i < N; i++) {
      a[i * N + i] += 1;
      let s = 0;
      for (let j = 0; j < N; j++) s += a[i * N + j];
      // (A + I)/2 then row-normalised: the halving cancels, kept implicit.
      for (let j = 0; j < N; j++) a[i * N + j] /= s;
    }
    fused.push(a);
  }
  let row: Float64Array = new Float64Array(N);
  row[0] = 1;
  for (let l = fused.length - 1; l >= 0; l--) row = vecMat(row, fused[l], N);
  const grid = options.grid ?? tokenGrid(N);
  const hw = grid.h * grid.w;
  if (grid.extraTokens < 1)
    throw new CamLensError(
      'BAD_ARGUMENT',
      `attention rollout reads the class token's row, but ${N} tokens form a ${grid.h}x${grid.w} grid with no class token`,
    );
  const map = new Float32Array(hw);
  let max = 0;
  for (let p = 0; p < hw; p++) {
    const v = row[grid.extraTokens + p]; // row 0 = class token
    map[p] = v;
    if (v > max) max = v;
  }
  if (max > 0) for (let p = 0; p < hw; p++) map[p] /= max;
  return { map, grid, row };
}

function vecMat(v: Float64Array, a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const x = v[k];
    if (x === 0) continue;
    const o = k * n;
    for (let j = 0; j < n; j++) out[j] += x * a[o + j];
  }
  return out;
}
