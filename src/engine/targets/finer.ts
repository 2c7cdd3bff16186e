// FinerCAM's target (pytorch-grad-cam's FinerWeightedTarget): with p = softmax(z), the class m
// and comparison classes J,
//   f(z) = Σ_{j∈J} p_j·(z_m − α·z_j) / (Σ_{j∈J} p_j + 1e-9)
// J defaults to the 3 classes whose logits are closest to z_m. The weights p_j are differentiated
// too (as torch does), so the cotangent fed at the logits is ∂f/∂z, computed here in float64 from
// the logits of a first run; the backward pass through the model is the autodiff's.
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import { CamLensError } from '../errors';
import { softmax } from '../pipeline/predictions';

/** pytorch-grad-cam's `comparison_categories=[1, 2, 3]`: the three nearest classes. */
export const FINER_DEFAULT_COMPARISONS = 3;
/** pytorch-grad-cam's default comparison strength. */
export const FINER_DEFAULT_ALPHA: number = METHOD_OPTION_SPECS.finerAlpha.default;
const EPS = 1e-9;

/**
 * The `count` classes whose logits are closest to the target's (|z_k − z_m| ascending, the target
 * itself left out; ties keep the lower index first), as FinerCAM ranks them.
 */
export function similarClasses(logits: ArrayLike<number>, target: number, count = FINER_DEFAULT_COMPARISONS): number[] {
  const zm = logits[target];
  const others = Array.from({ length: logits.length }, (_, k) => k).filter((k) => k !== target);
  others.sort((a, b) => Math.abs(logits[a] - zm) - Math.abs(logits[b] - zm) || a - b);
  return others.slice(0, count);
}

/** f(z) above for one row of logits. */
export function finerScore(logits: ArrayLike<number>, target: number, comparisons: readonly number[], alpha: number): number {
  const p = softmax(logits);
  let num = 0;
  let den = 0;
  for (const j of comparisons) {
    num += p[j] * (logits[target] - alpha * logits[j]);
    den += p[j];
  }
  return num / (den + EPS);
}

/**
 * ∂f/∂z for each row of `logits` ([N, K] flattened): the cotangent whose backward pass gives the
 * gradient of the contrast target. With S = Σ p_j, T = Σ p_j·d_j, d_j = z_m − α·z_j, m_k the
 * times k is in J: ∂S/∂z_k = p_k·(m_k − S), ∂T/∂z_k = p_k·(m_k·d_k − T) + S·[k = m] − α·m_k·p_k.
 */
export function finerCotangent(logits: Float32Array, classCount: number, target: number, comparisons: readonly number[], alpha: number): Float32Array {
  if (comparisons.length === 0) throw new CamLensError('BAD_ARGUMENT', 'finercam: no comparison classes.');
  for (const j of [target, ...comparisons]) {
    if (!Number.isInteger(j) || j < 0 || j >= classCount) {
      throw new CamLensError('BAD_ARGUMENT', `finercam: class ${j} is out of range: the model has ${classCount} classes (0–${classCount - 1}).`);
    }
  }
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classCount; r++) {
    const z = logits.subarray(r * classCount, (r + 1) * classCount);
    const p = softmax(z);
    const times = new Float64Array(classCount);
    let S = 0;
    let T = 0;
    for (const j of comparisons) {
      times[j]++;
      S += p[j];
      T += p[j] * (z[target] - alpha * z[j]);
    }
    const den = S + EPS;
    for (let k = 0; k < classCount; k++) {
      const dk = z[target] - alpha * z[k];
      const dS = p[k] * (times[k] - S);
      const dT = p[k] * (times[k] * dk - T) + (k === target ? S : 0) - alpha * times[k] * p[k];
      out[r * classCount + k] = (dT * den - T * dS) / (den * den);
    }
  }
  return out;
}
