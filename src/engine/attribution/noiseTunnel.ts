// SmoothGrad (Smilkov et al. 2017) and VarGrad (Adebayo et al. 2018), as Captum's NoiseTunnel:
// any gradient method (saliency, input × gradient, integrated gradients) run on `samples` noisy
// copies x + ε, ε ~ N(0, σ²), σ = `sigma` × (max − min of x); SmoothGrad is the mean of their
// attributions, VarGrad the (population) variance, E[a²] − E[a]². The copies' rows share one
// batched stream; a copy's rows are combined as soon as its last one is answered.
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import { noisyInputs } from '../metrics/stability';
import type { GradientPlan } from './gradientPlan';

export const DEFAULT_NOISE_SAMPLES: number = METHOD_OPTION_SPECS.noiseSamples.default;
export const DEFAULT_NOISE_SIGMA: number = METHOD_OPTION_SPECS.noiseSigma.default;

export type NoiseStatistic = 'mean' | 'variance';

export function noiseTunnelPlan(
  x: Float32Array,
  base: (x: Float32Array) => GradientPlan,
  statistic: NoiseStatistic,
  options: { samples?: number; sigma?: number; seed?: number } = {},
): GradientPlan & { sigma: number } {
  const samples = options.samples ?? DEFAULT_NOISE_SAMPLES;
  const noisy = noisyInputs(x, samples, options.sigma ?? DEFAULT_NOISE_SIGMA, options.seed ?? 0);
  const perSample = base(noisy.inputs[0]).rows;
  const plans = new Map<number, GradientPlan>();
  const planOf = (k: number) => {
    let p = plans.get(k);
    if (!p) plans.set(k, (p = base(noisy.inputs[k])));
    return p;
  };
  const sum = new Float64Array(x.length);
  const squares = new Float64Array(x.length);
  return {
    sigma: noisy.sigma,
    rows: samples * perSample,
    row: (i) => planOf(Math.floor(i / perSample)).row(i % perSample),
    take: (i, answer) => {
      const k = Math.floor(i / perSample);
      const plan = planOf(k);
      plan.take(i % perSample, answer);
      if (i % perSample !== perSample - 1) return;
      const a = plan.result();
      for (let j = 0; j < a.length; j++) {
        sum[j] += a[j];
        squares[j] += a[j] * a[j];
      }
      plans.delete(k);
    },
    result: () =>
      statistic === 'mean'
        ? Float32Array.from(sum, (s) => s / samples)
        : Float32Array.from(sum, (s, j) => Math.max(0, squares[j] / samples - (s / samples) ** 2)),
  };
}
