// What Score-CAM and Ablation-CAM share: their weights come from per-channel target scores that
// model runs produce (pipeline/channelScores.ts makes them: masked inputs, ablated tails), and
// the helpers that build those runs pick channels of one image of the layer's activation.
import { CamLensError } from '../errors';
import { BaseCam, type CamInput } from './base';

/** A method whose channel weights are a function of [N, C] per-channel scores from model runs. */
export abstract class ChannelScoreCam extends BaseCam {
  readonly needsGradients = false;
  /** What the scores are, for the error when the runtime did not supply them. */
  protected abstract readonly scoresAre: string;

  protected abstract weightsFromScores(scores: Float32Array, input: CamInput, n: number, c: number): Float32Array;

  override weights(input: CamInput): Float32Array {
    const [n, c] = input.activations.shape;
    return this.weightsFromScores(checkChannelScores(input, this.referenceName, this.scoresAre), input, n, c);
  }
}

/** Checks an [N, C] per-channel score array against the activations. */
export function checkChannelScores(input: CamInput, method: string, what: string): Float32Array {
  const [n, c] = input.activations.shape;
  const s = input.channelScores;
  if (!s) {
    throw new CamLensError('BAD_ARGUMENT', `${method} needs ${what} (channelScores, [${n}, ${c}]) from the runtime`);
  }
  if (s.length !== n * c) {
    throw new CamLensError('BAD_ARGUMENT', `${method}: channelScores has ${s.length} values, expected N·C = ${n}·${c} = ${n * c}`);
  }
  return s;
}

/** Channel list from either an explicit list or a [start, start + count) range. */
export type ChannelSelection = readonly number[] | { start: number; count: number };

export function selectedChannels(sel: ChannelSelection, c: number): number[] {
  const list = Array.isArray(sel) ? [...(sel as readonly number[])] : range((sel as { start: number }).start, (sel as { start: number; count: number }).count);
  for (const ch of list) {
    if (!Number.isInteger(ch) || ch < 0 || ch >= c) throw new CamLensError('BAD_ARGUMENT', `channel ${ch} out of range 0..${c - 1}`);
  }
  return list;
}

const range = (start: number, count: number) => Array.from({ length: count }, (_, i) => start + i);

/** A BAD_ARGUMENT error unless `image` indexes one of the `n` images. */
export function checkImage(image: number, n: number): void {
  if (!Number.isInteger(image) || image < 0 || image >= n) throw new CamLensError('BAD_ARGUMENT', `image ${image} out of range 0..${n - 1}`);
}
