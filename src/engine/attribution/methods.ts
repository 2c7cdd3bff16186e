// The input-space methods by id: each turns the input (planar [C, H, W]) and a class into an
// attribution of the input's shape, plus the facts S.json reports. Defaults live with each
// method; the ids and what the pipeline needs to know about them are in cam/registry.ts.
import type { ExplainParams, InputSpaceMethod, NoiseTunnelBase } from '../explainTypes';
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import type { AttributionContext } from './batching';
import { baselineName, DEFAULT_BASELINE } from './baselines';
import { runPlan, type GradientPlan } from './gradientPlan';
import { inputXGradientPlan } from './inputXGradient';
import { DEFAULT_IG_STEPS, integratedGradients, integratedGradientsPlan } from './integratedGradients';
import { DEFAULT_NOISE_SAMPLES, DEFAULT_NOISE_SIGMA, noiseTunnelPlan, type NoiseStatistic } from './noiseTunnel';
import { DEFAULT_OCCLUSION_STRIDE, DEFAULT_OCCLUSION_WINDOW, occlusion } from './occlusion';
import { DEFAULT_RISE_MASKS, rise, RISE_CELLS, RISE_KEEP_PROBABILITY } from './rise';
import { saliencyPlan } from './saliency';

export interface AttributionRequest {
  /** The input, planar [C, H, W]. */
  x: Float32Array;
  classIndex: number;
  /** The class's score at x (softmax'd with --softmax). */
  fx: number;
  /** The reference input, resolved on first use (only IG and Occlusion need one). */
  baseline: () => Promise<Float32Array>;
  params: ExplainParams;
}

export interface AttributionOutcome {
  /** [C, H, W], planar. */
  attr: Float32Array;
  /** Per explanation (S.json explanations[i].attribution). */
  stats?: Record<string, number>;
  /** Per result (S.json notes): the settings used. */
  notes: Record<string, number | string>;
}

type Method = (ctx: AttributionContext, r: AttributionRequest) => Promise<AttributionOutcome>;

const single = (plan: (x: Float32Array) => GradientPlan, label: string): Method => {
  return async (ctx, r) => ({ attr: await runPlan(ctx, r.classIndex, plan(r.x), label), notes: {} });
};

/** The plan of a gradient method that SmoothGrad / VarGrad can wrap. */
async function basePlan(base: NoiseTunnelBase, r: AttributionRequest): Promise<(x: Float32Array) => GradientPlan> {
  if (base === 'saliency') return saliencyPlan;
  if (base === 'input-x-gradient') return inputXGradientPlan;
  const baseline = await r.baseline();
  const steps = r.params.igSteps ?? DEFAULT_IG_STEPS;
  return (x) => integratedGradientsPlan(x, baseline, steps);
}

const noiseTunnel =
  (statistic: NoiseStatistic): Method =>
  async (ctx, r) => {
    const base = r.params.noiseBase ?? METHOD_OPTION_SPECS.noiseBase.default;
    const samples = r.params.noiseSamples ?? DEFAULT_NOISE_SAMPLES;
    const sigma = r.params.noiseSigma ?? DEFAULT_NOISE_SIGMA;
    const seed = r.params.seed ?? 0;
    const plan = noiseTunnelPlan(r.x, await basePlan(base, r), statistic, { samples, sigma, seed });
    const attr = await runPlan(ctx, r.classIndex, plan, statistic === 'mean' ? 'SmoothGrad' : 'VarGrad');
    const igNotes: Record<string, number | string> =
      base === 'integrated-gradients' ? { steps: r.params.igSteps ?? DEFAULT_IG_STEPS, baseline: baselineName(r.params.baseline ?? DEFAULT_BASELINE) } : {};
    return { attr, notes: { base, noiseSamples: samples, noiseSigma: sigma, noiseStd: plan.sigma, seed, ...igNotes } };
  };

export const ATTRIBUTIONS: Readonly<Record<InputSpaceMethod, Method>> = {
  saliency: single(saliencyPlan, 'Saliency'),
  'input-x-gradient': single(inputXGradientPlan, 'Input x Gradient'),
  'integrated-gradients': async (ctx, r) => {
    const steps = r.params.igSteps ?? DEFAULT_IG_STEPS;
    const { attr, stats } = await integratedGradients(ctx, r.x, r.classIndex, await r.baseline(), steps);
    return { attr, stats: { ...stats }, notes: { steps, baseline: baselineName(r.params.baseline ?? DEFAULT_BASELINE) } };
  },
  smoothgrad: noiseTunnel('mean'),
  vargrad: noiseTunnel('variance'),
  occlusion: async (ctx, r) => {
    const window = r.params.window ?? DEFAULT_OCCLUSION_WINDOW;
    const stride = r.params.stride ?? DEFAULT_OCCLUSION_STRIDE;
    const { attr, patches } = await occlusion(ctx, r.x, r.classIndex, r.fx, await r.baseline(), { window, stride });
    return { attr, notes: { window, stride, patches, baseline: baselineName(r.params.baseline ?? DEFAULT_BASELINE) } };
  },
  rise: async (ctx, r) => {
    const masks = r.params.masks ?? DEFAULT_RISE_MASKS;
    const seed = r.params.seed ?? 0;
    const { attr } = await rise(ctx, r.x, r.classIndex, { masks, seed });
    return { attr, notes: { masks, cells: RISE_CELLS, keepProbability: RISE_KEEP_PROBABILITY, seed } };
  },
};
