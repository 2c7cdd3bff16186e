// AblationCAM: w_c = (s − s_c) / s, with s the target score and s_c the score when channel c of
// the layer's output is overwritten (the tail of the model after the layer re-run on the ablated
// activation). The runtime produces the scores:
//
//   const skip = ablationSkippableChannels(raw, axis, n);        // their s_c = s, no run
//   for batches of the other channels: s_c = tail(ablatedActivations(raw, axis, n, batch))
//   channelScores[n] = assembleAblationScores(C, ablated, scores, s)
//
// Overwrite value, as pytorch-grad-cam: 0 if the image's activation has minimum exactly 0 (post-
// ReLU layers), else min(A) − 1e7. pytorch-grad-cam re-reads the running minimum after every
// overwrite within a batch, so its k-th channel in a batch gets min(A) − 1e7·(k + 1); mode
// 'pytorch' reproduces that, the default 'constant' uses min(A) − 1e7 throughout (scores differ
// by < 1e-6 relative). The overwrite is in the model's own layout: for tokens ([N, T, C], all
// tokens including the class token) and NHWC the channel is the last axis (`AblationLayerVit`).
//
// Skipping: a channel whose values already all equal the overwrite value (an all-zero channel in
// a post-ReLU layer) is left unchanged by the ablation, so s_c = s and w_c = 0 without a run.
// A constant channel at any other value does change the activation and needs its run.
import { CamLensError } from '../errors';
import type { CamInput } from './base';
import { checkImage, ChannelScoreCam, selectedChannels, type ChannelSelection } from './channelRuns';
import { elementCount, type Float32Tensor } from './tensor';

export const ABLATION_VALUE = 1e7;

export type AblationMode = 'constant' | 'pytorch';

export class AblationCam extends ChannelScoreCam {
  readonly id = 'ablationcam';
  readonly referenceName = 'AblationCAM';
  protected readonly scoresAre = 'the target score with each channel ablated';

  protected weightsFromScores(scores: Float32Array, input: CamInput, n: number, c: number): Float32Array {
    if (!input.baseScores || input.baseScores.length !== n) {
      throw new CamLensError('BAD_ARGUMENT', `AblationCAM needs baseScores: the ${n} unablated target score(s)`);
    }
    return ablationCamWeights(input.baseScores, scores, n, c);
  }
}

/** (s − s_c) / s per image and channel. A negative s flips the signs, as in pytorch-grad-cam. */
export function ablationCamWeights(baseScores: ArrayLike<number>, scores: ArrayLike<number>, n: number, c: number): Float32Array {
  if (baseScores.length !== n || scores.length !== n * c) {
    throw new CamLensError('BAD_ARGUMENT', `AblationCAM scores: expected ${n} base and ${n}·${c} ablated scores`);
  }
  const out = new Float32Array(n * c);
  for (let b = 0; b < n; b++) {
    const s = Math.fround(baseScores[b]);
    for (let ch = 0; ch < c; ch++) out[b * c + ch] = (s - Math.fround(scores[b * c + ch])) / s;
  }
  return out;
}

interface Geometry {
  n: number;
  outer: number;
  c: number;
  inner: number;
  per: number;
}

function geometry(raw: Float32Tensor, axis: number): Geometry {
  const shape = raw.shape;
  if (!Number.isInteger(axis) || axis < 1 || axis >= shape.length) {
    throw new CamLensError('BAD_ARGUMENT', `channel axis ${axis} is not a non-batch axis of shape [${shape.join(', ')}]`);
  }
  if (raw.data.length !== elementCount(shape)) {
    throw new CamLensError('BAD_ARGUMENT', `activation has ${raw.data.length} values for shape [${shape.join(', ')}]`);
  }
  const outer = elementCount(shape.slice(1, axis));
  const inner = elementCount(shape.slice(axis + 1));
  const c = shape[axis];
  return { n: shape[0], outer, c, inner, per: outer * c * inner };
}

/** min over one image's activation. */
function imageMin(raw: Float32Tensor, g: Geometry, image: number): number {
  let lo = Infinity;
  for (let i = image * g.per, end = i + g.per; i < end; i++) if (raw.data[i] < lo) lo = raw.data[i];
  return lo;
}

/** The value channel c is overwritten with (first channel of a batch for mode 'pytorch'). */
export function ablationValue(raw: Float32Tensor, axis: number, image: number): number {
  const g = geometry(raw, axis);
  checkImage(image, g.n);
  const lo = imageMin(raw, g, image);
  return lo === 0 ? 0 : Math.fround(lo - ABLATION_VALUE);
}

/**
 * A batch of ablated activations for image `image`: one copy of the image's activation per
 * selected channel with that channel overwritten, shape [count, ...raw.shape.slice(1)], in the
 * model's layout (`axis` = the channel axis of `raw`).
 */
export function ablatedActivations(
  raw: Float32Tensor,
  axis: number,
  image: number,
  channels: ChannelSelection,
  options: { mode?: AblationMode } = {},
): Float32Tensor {
  const g = geometry(raw, axis);
  checkImage(image, g.n);
  const list = selectedChannels(channels, g.c);
  const src = raw.data.subarray(image * g.per, (image + 1) * g.per);
  const out = new Float32Array(list.length * g.per);
  const lo = imageMin(raw, g, image);
  let value = lo === 0 ? 0 : Math.fround(lo - ABLATION_VALUE);
  for (const [k, ch] of list.entries()) {
    const base = k * g.per;
    out.set(src, base);
    for (let o = 0; o < g.outer; o++) {
      const start = base + (o * g.c + ch) * g.inner;
      out.fill(value, start, start + g.inner);
    }
    // torch.min over the batch sees the previous overwrite: the next value is 1e7 lower.
    if (options.mode === 'pytorch' && value !== 0) value = Math.fround(value - ABLATION_VALUE);
  }
  return { data: out, shape: [list.length, ...raw.shape.slice(1)] };
}

/** Channels whose values all equal the overwrite value: ablating them changes nothing (w_c = 0). */
export function ablationSkippableChannels(raw: Float32Tensor, axis: number, image: number): number[] {
  const g = geometry(raw, axis);
  checkImage(image, g.n);
  const value = ablationValue(raw, axis, image);
  const d = raw.data;
  const out: number[] = [];
  for (let ch = 0; ch < g.c; ch++) {
    let same = true;
    for (let o = 0; o < g.outer && same; o++) {
      const start = image * g.per + (o * g.c + ch) * g.inner;
      for (let i = start; i < start + g.inner; i++)
        if (d[i] !== value) {
          same = false;
          break;
        }
    }
    if (same) out.push(ch);
  }
  return out;
}

/** One image's [C] scores: ablated channels' scores, the base score for skipped channels. */
export function assembleAblationScores(c: number, ablated: readonly number[], scores: ArrayLike<number>, baseScore: number): Float32Array {
  if (scores.length !== ablated.length) throw new CamLensError('BAD_ARGUMENT', `${scores.length} scores for ${ablated.length} ablated channels`);
  const out = new Float32Array(c).fill(baseScore);
  ablated.forEach((ch, i) => {
    out[ch] = scores[i];
  });
  return out;
}
