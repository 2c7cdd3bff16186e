// The two attention methods of the explain pipeline:
//   attention-rollout  one forward run tapping every attention Softmax → rollout map (class-agnostic)
//   attention-gradcam  the Grad-CAM map times the rollout map (both min-max normalised), renormalised
import { CamLensError } from '../errors';
import type { ExplainContext, ExplainParams, ExplainResult, Explanation } from '../explainTypes';
import { minMaxInPlace, resizeBilinear } from '../cam/postprocess';
import { resolveModelConfig } from '../image/config';
import type { ColormapName } from '../image/colormap';
import { overlayOnOriginal, overlayPng } from '../image/overlay';
import { loadModel, type LoadedModel } from '../model';
import { resultPictures } from '../pipeline/input';
import { loadModelInputReused } from '../pipeline/inputCache';
import { predictionsFrom, scoreKindOf } from '../pipeline/predictions';
import { inputWarnings, mapWarnings } from '../pipeline/warnings';
import { runWithTaps, type PlainTensor } from '../runtime/tapRunner';
import type { ProviderAttempt } from '../runtime/providers';
import { requireAttention } from './attention';
import { rollout, type RolloutResult } from './rollout';
import { tokenGridAt } from './tokenGeometry';

export interface AttentionRun {
  rollout: RolloutResult;
  /** The rollout map upsampled to the input size and min-max normalised, [H·W]. */
  final: Float32Array;
  scores: Float32Array;
  /** Attention Softmax outputs used, in graph order. */
  attention: string[];
  provider: string;
  fallbacks: readonly ProviderAttempt[];
  runMs: number;
}

export async function attentionRollout(
  model: LoadedModel,
  ctx: ExplainContext,
  params: ExplainParams,
  input: PlainTensor,
  size: [number, number],
  output: string,
): Promise<AttentionRun> {
  const attention = requireAttention(model).map((a) => a.value);
  const t0 = performance.now();
  const run = await runWithTaps(
    model,
    ctx.sessions,
    { [model.graph.inputs[0]]: input },
    {
      taps: attention,
      stats: false,
      provider: params.provider,
      purpose: 'explain-attention',
      signal: ctx.signal,
    },
  );
  const byValue = new Map(run.taps.map((t) => [t.value, t.tensor!]));
  const batch = input.dims[0];
  const tensors = attention.map((v) => {
    const t = byValue.get(v)!;
    if (!(t.data instanceof Float32Array)) throw new CamLensError('BAD_ARGUMENT', `attention "${v}" is ${t.dtype}; rollout needs float32`);
    return { data: t.data, shape: t.dims };
  });
  const first = tensors[0].shape;
  const heads = first.length === 3 ? first[0] / batch : undefined;
  // The grid from the input's geometry: the token count alone cannot tell a strip from registers and a square.
  const tokens = first[first.length - 1];
  const grid = tokenGridAt(model, attention[0], tokens, size);
  const r = rollout(tensors, { headFusion: params.headFusion, discardRatio: params.discardRatio, heads, grid });
  const final = resizeBilinear({ data: r.map, shape: [1, r.grid.h, r.grid.w] }, size).data;
  minMaxInPlace(final);
  const scores = run.outputs[output].data as Float32Array;
  return { rollout: r, final, scores, attention, provider: run.provider, fallbacks: run.fallbacks, runMs: performance.now() - t0 };
}

/** attention-gradcam: multiplies each explanation's maps by the rollout, in place. */
export function guideByAttention(maps: { final: Float32Array; raw: { data: Float32Array; shape: readonly number[] } }[], att: AttentionRun): void {
  for (const m of maps) {
    for (let i = 0; i < m.final.length; i++) m.final[i] *= att.final[i];
    minMaxInPlace(m.final);
    const [, h, w] = m.raw.shape;
    if (h === att.rollout.grid.h && w === att.rollout.grid.w) {
      const raw = Float32Array.from(m.raw.data);
      minMaxInPlace(raw);
      for (let i = 0; i < raw.length; i++) raw[i] *= att.rollout.map[i];
      m.raw = { data: raw, shape: m.raw.shape };
    }
  }
}

export function checkAttentionParams(params: ExplainParams): void {
  if (params.scales && (params.scales.length > 1 || params.scales[0] !== 1)) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Multi-scale fusion is not available with ${params.method}: transformer token grids are fixed by the position embedding.`,
    );
  }
  if (params.augSmooth && params.method === 'attention-rollout')
    throw new CamLensError('BAD_ARGUMENT', '--aug-smooth is not available with attention-rollout.');
}

/** The whole attention-rollout explanation (no gradients, one forward run). */
export async function explainRollout(params: ExplainParams, ctx: ExplainContext): Promise<ExplainResult> {
  const t0 = performance.now();
  checkAttentionParams(params);
  const model = loadModel(params.modelPath);
  const config = resolveModelConfig(params.modelPath, model.proto, params.configPath, params.labelsPath);
  const output = params.output ?? model.graph.outputs[0];
  if (!model.graph.outputs.includes(output)) {
    throw new CamLensError('UNKNOWN_VALUE', `The model has no output "${output}"; its outputs are ${model.graph.outputs.map((o) => `"${o}"`).join(', ')}.`);
  }
  const t1 = performance.now();
  const input = await loadModelInputReused(params.input, model, config);
  const t2 = performance.now();
  const att = await attentionRollout(model, ctx, params, { dtype: 'float32', dims: input.dims, data: input.tensor }, input.size, output);
  const t3 = performance.now();
  const k = att.scores.length / input.dims[0];
  let classes: number[];
  if (params.classIndex !== undefined) {
    if (!Number.isInteger(params.classIndex) || params.classIndex < 0 || params.classIndex >= k) {
      throw new CamLensError('BAD_ARGUMENT', `Class ${params.classIndex} is out of range: the model has ${k} classes (0–${k - 1}).`);
    }
    classes = [params.classIndex];
  } else {
    const s = att.scores.subarray(0, k);
    classes = Array.from(s.keys())
      .sort((a, b) => s[b] - s[a])
      .slice(0, Math.max(1, params.topk ?? 1));
  }
  const labels = config.labels;
  const colormap = (params.colormap ?? 'jet') as ColormapName;
  const onOriginal = input.original ? await overlayOnOriginal(input.original, att.final, colormap, params.alpha ?? 0.5, params.overlay !== false) : undefined;
  const overlay = params.overlay !== false ? (onOriginal?.png ?? (await overlayPng(input.rgb, att.final, colormap, params.alpha ?? 0.5))) : undefined;
  // Rollout does not depend on the class: every requested class gets the same map.
  const explanations: Explanation[] = classes.map((c) => ({
    classIndex: c,
    label: labels?.[c] ?? String(c),
    cam: { data: att.final, height: input.size[0], width: input.size[1] },
    ...(onOriginal ? { camImage: onOriginal.camImage } : {}),
    camRaw: { data: att.rollout.map, height: att.rollout.grid.h, width: att.rollout.grid.w },
    ...(overlay ? { overlayPng: overlay } : {}),
  }));
  const scoreKind = scoreKindOf(model, output, att.scores.subarray(0, k), k, Boolean(params.softmaxTarget));
  const t4 = performance.now();
  return {
    model: params.modelPath,
    input: params.input,
    method: 'attention-rollout',
    layers: att.attention,
    predictions: predictionsFrom(att.scores.subarray(0, k), labels, 5, scoreKind === 'probabilities'),
    scoreKind,
    warnings: [...inputWarnings(input), ...mapWarnings({ layer: 'attention rollout', classIndex: classes[0], lowres: att.rollout.map })],
    explanations,
    ...resultPictures(input, params),
    ep: att.provider,
    fallbacks: att.fallbacks,
    timings_ms: { load: t1 - t0, preprocess: t2 - t1, session: 0, run: att.runMs, cam: t4 - t3, total: t4 - t0 }, // session: explain()
    notes: rolloutNotes(params, att),
  };
}

export function rolloutNotes(params: ExplainParams, att: AttentionRun): Record<string, string | number> {
  return { headFusion: params.headFusion ?? 'mean', discardRatio: params.discardRatio ?? 0, attentionLayers: att.attention.length };
}
