// Stability (Quantus' LocalLipschitz/MaxSensitivity family, in the form the issue asks for):
//   stability       = 1 − mean_k ‖CAM(x) − CAM(x + ε_k)‖₂ / ‖CAM(x)‖₂
//   max_sensitivity = max_k  ‖CAM(x) − CAM(x + ε_k)‖₂ / ‖CAM(x)‖₂
// with ε_k ~ N(0, σ²), σ = `sigmaFraction` × (max − min of the input tensor), draw k seeded with
// seed + k so every figure can be reproduced.
import { gaussian, rng } from './stats';

export const DEFAULT_STABILITY_DRAWS = 8;
export const DEFAULT_STABILITY_SIGMA = 0.01;

export function noisyInputs(
  input: Float32Array,
  draws: number,
  sigmaFraction: number,
  seed: number,
): { inputs: Float32Array[]; sigma: number; seeds: number[] } {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of input) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const sigma = sigmaFraction * (hi - lo);
  const seeds = Array.from({ length: draws }, (_, k) => seed + k);
  const inputs = seeds.map((s) => {
    const normal = gaussian(rng(s));
    return Float32Array.from(input, (v) => v + sigma * normal());
  });
  return { inputs, sigma, seeds };
}

export function relativeDistance(base: ArrayLike<number>, other: ArrayLike<number>): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < base.length; i++) {
    d += (base[i] - other[i]) ** 2;
    n += base[i] ** 2;
  }
  return n > 0 ? Math.sqrt(d) / Math.sqrt(n) : d > 0 ? Infinity : 0;
}

export function stabilityScores(
  base: ArrayLike<number>,
  perturbed: ReadonlyArray<ArrayLike<number>>,
): { stability: number; max_sensitivity: number; distances: number[] } {
  const distances = perturbed.map((p) => relativeDistance(base, p));
  const meanD = distances.reduce((a, b) => a + b, 0) / Math.max(1, distances.length);
  return { stability: 1 - meanD, max_sensitivity: Math.max(0, ...distances), distances };
}
