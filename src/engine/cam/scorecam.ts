// ScoreCAM: w = softmax over channels of the target scores the model gives for the input masked
// by each channel's (upsampled, min-max normalised) activation. The runtime produces the scores:
//
//   const { run, constant } = scoreCamPlan(activations, n);
//   for batches of `run`:  scores = model(scoreCamMaskedInputs(input, activations, n, batchChannels))
//   if (constant.length)   zeroScore = model(zeros like one input image)   // once per target class
//   channelScores[n] = assembleScoreCamScores(C, run, runScores, constant, zeroScore)
//
// Constant channels: (u − min)/(max − min + 1e-8) is exactly 0 everywhere for a channel whose
// map is constant, so its masked input is the all-zero tensor whatever the image, and its score
// is the model's score on a zero input: one run of one zeros image serves every constant channel
// of every image with the same target. (Upsampling here keeps constant maps exactly constant;
// torch's kernel can leave 1-ulp noise on a non-zero constant map, which its 1e-8 then amplifies —
// a numerical accident we do not reproduce. All-zero channels, the common case after a ReLU, are
// exactly zero in both.)
import { CamLensError } from '../errors';
import type { CamInput } from './base';
import { checkImage, ChannelScoreCam, selectedChannels, type ChannelSelection } from './channelRuns';
import { upsampleAlignCorners } from './postprocess';
import { checkTensor, type FeatureMaps, type Float32Tensor } from './tensor';

/** ScoreCAM's mask normalisation epsilon. */
export const SCORECAM_EPS = 1e-8;

export class ScoreCam extends ChannelScoreCam {
  readonly id = 'scorecam';
  readonly referenceName = 'ScoreCAM';
  protected readonly scoresAre = 'the target score of each channel-masked input';

  protected weightsFromScores(scores: Float32Array, _input: CamInput, n: number, c: number): Float32Array {
    return scoreCamWeights(scores, n, c);
  }
}

/** Softmax over channels of [N, C] scores (float64 inside, max subtracted). */
export function scoreCamWeights(scores: Float32Array | Float64Array, n: number, c: number): Float32Array {
  if (scores.length !== n * c) throw new CamLensError('BAD_ARGUMENT', `ScoreCAM scores: ${scores.length} values, expected ${n}·${c}`);
  const out = new Float32Array(n * c);
  const e = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    let max = -Infinity;
    for (let ch = 0; ch < c; ch++) max = Math.max(max, scores[b * c + ch]);
    let sum = 0;
    for (let ch = 0; ch < c; ch++) sum += e[ch] = Math.exp(scores[b * c + ch] - max);
    for (let ch = 0; ch < c; ch++) out[b * c + ch] = e[ch] / sum;
  }
  return out;
}

/** Channels of image `image` whose activation map is constant (min = max), in ascending order. */
export function constantChannels(activations: FeatureMaps, image: number): number[] {
  const [n, c, h, w] = activations.shape;
  checkImage(image, n);
  const hw = h * w;
  const a = activations.data;
  const out: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const o = (image * c + ch) * hw;
    const v0 = a[o];
    let constant = true;
    for (let p = o + 1; p < o + hw; p++)
      if (a[p] !== v0) {
        constant = false;
        break;
      }
    if (constant) out.push(ch);
  }
  return out;
}

/** Which channels need a masked run and which are constant (their score is the zero input's). */
export function scoreCamPlan(activations: FeatureMaps, image: number): { run: number[]; constant: number[] } {
  const constant = constantChannels(activations, image);
  const isConstant = new Set(constant);
  const run: number[] = [];
  for (let ch = 0; ch < activations.shape[1]; ch++) if (!isConstant.has(ch)) run.push(ch);
  return { run, constant };
}

/**
 * The `count` channels of image `image` whose activation maps vary most (spatial variance),
 * largest first, ties by channel index: Faster Score-CAM's selection (Wang et al.), which runs
 * only these and gives the others no weight.
 */
export function channelsByVariance(activations: FeatureMaps, image: number, count: number): number[] {
  const [n, c, h, w] = activations.shape;
  checkImage(image, n);
  const hw = h * w;
  const a = activations.data;
  const variance = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const o = (image * c + ch) * hw;
    let sum = 0;
    let squares = 0;
    for (let p = o; p < o + hw; p++) {
      sum += a[p];
      squares += a[p] * a[p];
    }
    const mean = sum / hw;
    variance[ch] = Math.max(0, squares / hw - mean * mean);
  }
  return Array.from({ length: c }, (_, ch) => ch)
    .sort((x, y) => variance[y] - variance[x] || x - y)
    .slice(0, Math.max(0, count));
}

/**
 * One batch of ScoreCAM inputs for image `image`: for each selected channel c, the input image
 * [Cin, H, W] times the mask norm(upsample_align_corners(A_c)), as [count, Cin, H, W].
 * `input` is the model input [N, Cin, H, W] (NCHW). `into`, when given and large enough, holds
 * the batch (a view of its start is returned): a series of batches reuses one buffer instead of
 * allocating tens of megabytes per run.
 */
export function scoreCamMaskedInputs(
  input: Float32Tensor,
  activations: FeatureMaps,
  image: number,
  channels: ChannelSelection,
  into?: Float32Array,
): Float32Tensor {
  checkTensor(input, 4, 'model input');
  const [n, cin, H, W] = input.shape;
  const [na, c, h, w] = activations.shape;
  if (na !== n) throw new CamLensError('BAD_ARGUMENT', `model input has ${n} images but the activations ${na}`);
  checkImage(image, n);
  const list = selectedChannels(channels, c);
  const HW = H * W;
  const out = into && into.length >= list.length * cin * HW ? into.subarray(0, list.length * cin * HW) : new Float32Array(list.length * cin * HW);
  const mask = new Float32Array(HW);
  const x = input.data;
  const xo = image * cin * HW;
  for (const [k, ch] of list.entries()) {
    upsampleAlignCorners(activations.data, (image * c + ch) * h * w, h, w, mask, 0, H, W);
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < HW; p++) {
      const v = mask[p];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const scale = 1 / (hi - lo + SCORECAM_EPS);
    for (let p = 0; p < HW; p++) mask[p] = (mask[p] - lo) * scale;
    const base = k * cin * HW;
    for (let ci = 0; ci < cin; ci++) {
      const so = xo + ci * HW;
      const d = base + ci * HW;
      for (let p = 0; p < HW; p++) out[d + p] = x[so + p] * mask[p];
    }
  }
  return { data: out, shape: [list.length, cin, H, W] };
}

/** One image's [C] scores from the masked runs plus the shared zero-input score of constant channels. */
export function assembleScoreCamScores(
  c: number,
  runChannels: readonly number[],
  runScores: ArrayLike<number>,
  constant: readonly number[],
  zeroInputScore?: number,
): Float32Array {
  if (runScores.length !== runChannels.length) {
    throw new CamLensError('BAD_ARGUMENT', `${runScores.length} scores for ${runChannels.length} masked runs`);
  }
  if (constant.length && zeroInputScore === undefined) {
    throw new CamLensError('BAD_ARGUMENT', `${constant.length} constant channel(s) need the model's score on a zero input`);
  }
  const out = new Float32Array(c).fill(NaN);
  runChannels.forEach((ch, i) => {
    out[ch] = runScores[i];
  });
  for (const ch of constant) out[ch] = zeroInputScore!;
  const missing = out.findIndex((v) => Number.isNaN(v));
  if (missing >= 0) throw new CamLensError('BAD_ARGUMENT', `no ScoreCAM score for channel ${missing}`);
  return out;
}
