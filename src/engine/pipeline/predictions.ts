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

/** `probabilities`: the scores already are probabilities (a softmax target), use them as is. */
export function predictionsFrom(scores: Float32Array, labels: readonly string[] | undefined, k = 5, probabilities = false): Prediction[] {
  const probs = probabilities ? Float64Array.from(scores) : softmax(scores);
  return Array.from(scores.keys())
    .sort((a, b) => scores[b] - scores[a])
    .slice(0, k)
    .map((index) => ({ index, label: labels?.[index] ?? String(index), score: scores[index], prob: probs[index] }));
}
