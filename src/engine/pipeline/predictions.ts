// Class predictions from a score vector: top-k with labels, raw score and probability (the
// softmax of logits; the scores themselves when the model already outputs probabilities).
import type { Prediction, ScoreKind } from '../explainTypes';
import type { LoadedModel } from '../model';

export function softmax(scores: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]);
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += out[i] = Math.exp(scores[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * The indices of the k largest scores, largest first; equal scores in index order (what a stable
 * sort by descending score gives). One pass per place, no sort: k is 1 or 5 against 1,000+ classes.
 */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  const n = scores.length;
  const top: number[] = [];
  const taken = new Uint8Array(n);
  for (let place = 0; place < Math.min(k, n); place++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      // NaN scores never win over a number; among NaNs the first one comes first.
      if (!taken[i] && (best < 0 || scores[i] > scores[best] || (Number.isNaN(scores[best]) && !Number.isNaN(scores[i])))) best = i;
    }
    taken[best] = 1;
    top.push(best);
  }
  return top;
}

/** Ops that only move or relabel values: a Softmax before them still makes the output probabilities. */
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Cast', 'Slice', 'Gather', 'Concat', 'Split']);

/** A Softmax / Sigmoid (or a LogSoftmax's opposite: none) computes `output`, through layout-only ops. */
export function outputIsProbabilities(model: LoadedModel, output: string): boolean {
  let producer = model.graph.producerOf(output);
  for (let hops = 0; producer && hops < 16; hops++) {
    if (producer.opType === 'Softmax' || producer.opType === 'Sigmoid') return true;
    if (!PASS_THROUGH.has(producer.opType) || !producer.inputs[0]) return false;
    producer = model.graph.producerOf(producer.inputs[0]);
  }
  return false;
}

/** Rows of `k` scores that are all in [0, 1] and each sum to 1 within 1e-3: a distribution already. */
export function rowsAreDistributions(scores: ArrayLike<number>, k = scores.length): boolean {
  if (k < 2 || scores.length % k !== 0) return false;
  for (let r = 0; r < scores.length; r += k) {
    let sum = 0;
    for (let i = r; i < r + k; i++) {
      const v = scores[i];
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/** What `scores` of `output` are: see ScoreKind. `softmaxTarget`: explain already soft-maxed them. */
export function scoreKindOf(model: LoadedModel, output: string, scores: ArrayLike<number>, k: number, softmaxTarget: boolean): ScoreKind {
  return softmaxTarget || outputIsProbabilities(model, output) || rowsAreDistributions(scores, k) ? 'probabilities' : 'logits';
}

/** `probabilities`: the scores already are probabilities (a softmax target, a Softmax output), use them as is. */
export function predictionsFrom(scores: Float32Array, labels: readonly string[] | undefined, k = 5, probabilities = false): Prediction[] {
  const probs = probabilities ? Float64Array.from(scores) : softmax(scores);
  return topIndices(scores, k).map((index) => ({ index, label: labels?.[index] ?? String(index), score: scores[index], prob: probs[index] }));
}
