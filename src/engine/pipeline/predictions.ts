// Class predictions from a score vector: top-k with labels, raw score and softmax probability.
import type { Prediction } from '../explainTypes';

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

/** `probabilities`: the scores already are probabilities (a softmax target), use them as is. */
export function predictionsFrom(scores: Float32Array, labels: readonly string[] | undefined, k = 5, probabilities = false): Prediction[] {
  const probs = probabilities ? Float64Array.from(scores) : softmax(scores);
  return topIndices(scores, k).map((index) => ({ index, label: labels?.[index] ?? String(index), score: scores[index], prob: probs[index] }));
}
