// The explain pipeline: model + input → predictions, CAM maps and an overlay. Composes the
// engine's parts (see DESIGN.md, "The flow of one explanation"); each step lives in its own
// module and this file only sequences them and times them.
import * as path from 'node:path';
import type { ActivationLayout } from './cam/layout';
import { toFeatureMaps } from './cam/layout';
import { aggregateLayers, reluMaps } from './cam/postprocess';
import type { FeatureMaps, Maps } from './cam/tensor';
import { CamLensError } from './errors';
import type { ColormapName } from './image/colormap';
import { resolveModelConfig } from './image/config';
import { overlayPng } from './image/overlay';
import { suggestCamLayer } from './layers';
import { loadModel, type LoadedModel } from './model';
import { buildGradientModel, gradientVariantKey, type GradientModel, type GradientModelSpec } from './pipeline/gradientModel';
import { loadModelInput, type ModelInput } from './pipeline/input';
import { detectLayout } from './pipeline/layout';
import { camMethod } from './pipeline/methods';
import { predictionsFrom, softmax } from './pipeline/predictions';
import type { ProviderAttempt } from './runtime/providers';
import type { SessionCache } from './runtime/sessions';
import { modelKeyOf, runWithTaps, toOrt, toPlain, type PlainTensor } from './runtime/tapRunner';
import { checkTappable } from './surgery/taps';
import type { ExplainParams, ExplainResult, Explanation } from '../worker/protocol';

export interface ExplainContext {
  sessions: SessionCache;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

interface LayerTensors {
  activations: Record<string, PlainTensor>;
  gradients: Record<string, PlainTensor>;
  scores: Float32Array;
}

const gradientModels = new Map<string, Omit<GradientModel, 'bytes'>>();

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('The explanation was cancelled.'), { name: 'AbortError' });
}

/** One forward (+ backward) run; `cotangentRow` = class to explain, or undefined for in-graph top-1. */
async function runGradient(model: LoadedModel, ctx: ExplainContext, params: ExplainParams, spec: GradientModelSpec, input: PlainTensor, classIndex?: number, k?: number): Promise<{ tensors: LayerTensors; provider: string; fallbacks: readonly ProviderAttempt[] }> {
  const variantKey = gradientVariantKey(spec);
  const key = `${modelKeyOf(model)}\n${variantKey}`;
  const lease = await ctx.sessions.acquire({
    modelKey: modelKeyOf(model),
    purpose: spec.top1InGraph ? 'explain-top1' : 'explain',
    variantKey,
    options: params.provider ?? {},
    build: () => {
      const built = buildGradientModel(model, spec);
      const { bytes, ...names } = built;
      gradientModels.set(key, names);
      return bytes;
    },
  });
  try {
    let names = gradientModels.get(key);
    if (!names) {
      const { bytes: _unused, ...rebuilt } = buildGradientModel(model, spec);
      gradientModels.set(key, (names = rebuilt));
    }
    const feeds: Record<string, ReturnType<typeof toOrt>> = { [model.graph.inputs[0]]: toOrt(input) };
    if (names.cotangent) {
      if (classIndex === undefined || k === undefined) throw new Error('a fed cotangent needs a class');
      const co = new Float32Array(input.dims[0] * k);
      for (let n = 0; n < input.dims[0]; n++) co[n * k + classIndex] = 1;
      feeds[names.cotangent] = toOrt({ dtype: 'float32', dims: [input.dims[0], k], data: co });
    }
    const out = await lease.session.run(feeds);
    const tensors: LayerTensors = { activations: {}, gradients: {}, scores: out[names.scores].data as Float32Array };
    for (const layer of spec.layers) {
      tensors.activations[layer] = toPlain(out[names.activations[layer]]);
      tensors.gradients[layer] = toPlain(out[names.gradients[layer]]);
    }
    return { tensors, provider: lease.provider, fallbacks: lease.fallbacks };
  } finally {
    lease.release();
  }
}

const asFloat = (t: PlainTensor): { data: Float32Array; shape: number[] } => {
  if (!(t.data instanceof Float32Array)) throw new CamLensError('BAD_ARGUMENT', `CAM layers must be float32; got ${t.dtype}.`);
  return { data: t.data, shape: t.dims };
};

export async function explain(params: ExplainParams, ctx: ExplainContext): Promise<ExplainResult> {
  const t0 = performance.now();
  const method = params.method ?? 'gradcam';
  const cam = camMethod(method);
  const model = loadModel(params.modelPath);
  const config = resolveModelConfig(params.modelPath, model.proto, params.configPath, params.labelsPath);
  const output = params.output ?? model.graph.outputs[0];
  if (!model.graph.outputs.includes(output)) {
    throw new CamLensError('UNKNOWN_VALUE', `The model has no output "${output}"; its outputs are ${model.graph.outputs.map((o) => `"${o}"`).join(', ')}.`);
  }
  const layers = params.layers?.length ? params.layers : [suggestCamLayer(model)?.value ?? ''];
  if (!layers[0]) throw new CamLensError('BAD_ARGUMENT', 'No CAM layer could be suggested for this model; name one with --layer (see `camlens layers`).');
  for (const layer of layers) checkTappable(model.graph, layer);
  const t1 = performance.now();

  const input = await loadModelInput(params.input, model, config);
  const inputTensor: PlainTensor = { dtype: 'float32', dims: input.dims, data: input.tensor };
  const t2 = performance.now();
  checkCancelled(ctx.signal);

  const topk = Math.max(1, params.topk ?? 1);
  const classes: number[] = [];
  let first: LayerTensors;
  let provider: string;
  let fallbacks: readonly ProviderAttempt[];
  const perClass: LayerTensors[] = [];
  const spec = (top1InGraph: boolean): GradientModelSpec => ({ output, layers, softmax: Boolean(params.softmaxTarget), top1InGraph });
  if (cam.needsGradients) {
    const fixed = params.classIndex;
    const run = await runGradient(model, ctx, params, spec(fixed === undefined), inputTensor, fixed, fixed === undefined ? undefined : classCount(model, output));
    ({ provider, fallbacks } = run);
    first = run.tensors;
    const k = first.scores.length;
    if (fixed !== undefined && (fixed < 0 || fixed >= k || !Number.isInteger(fixed))) {
      throw new CamLensError('BAD_ARGUMENT', `Class ${fixed} is out of range: the model has ${k} classes (0–${k - 1}).`);
    }
    const order = rank(first.scores);
    classes.push(fixed ?? order[0]);
    perClass.push(first);
    for (let i = 1; i < topk && fixed === undefined && i < k; i++) {
      checkCancelled(ctx.signal);
      ctx.progress?.(i, topk, `class ${order[i]}`);
      classes.push(order[i]);
      perClass.push((await runGradient(model, ctx, params, spec(false), inputTensor, order[i], k)).tensors);
    }
  } else {
    const run = await runWithTaps(model, ctx.sessions, { [input.name]: inputTensor }, { taps: layers, stats: false, provider: params.provider, purpose: 'explain-taps', signal: ctx.signal });
    ({ provider, fallbacks } = run);
    const scores = run.outputs[output].data as Float32Array;
    first = { scores, activations: Object.fromEntries(run.taps.map((t) => [t.value, t.tensor!])), gradients: {} };
    const order = rank(scores);
    if (params.classIndex !== undefined && (params.classIndex < 0 || params.classIndex >= scores.length)) {
      throw new CamLensError('BAD_ARGUMENT', `Class ${params.classIndex} is out of range: the model has ${scores.length} classes (0–${scores.length - 1}).`);
    }
    for (let i = 0; i < (params.classIndex !== undefined ? 1 : Math.min(topk, scores.length)); i++) {
      classes.push(params.classIndex ?? order[i]);
      perClass.push(first);
    }
  }
  const t3 = performance.now();

  const labels = config.labels;
  const explanations: Explanation[] = [];
  const layouts: Record<string, ActivationLayout> = {};
  for (const layer of layers) layouts[layer] = detectLayout(layer, first.activations[layer].dims, input.size);
  for (let i = 0; i < classes.length; i++) {
    const tensors = perClass[i];
    const lowres: Maps[] = [];
    let activation: FeatureMaps | undefined;
    for (const layer of layers) {
      const a = toFeatureMaps(asFloat(tensors.activations[layer]), layouts[layer]);
      const g = tensors.gradients[layer] ? toFeatureMaps(asFloat(tensors.gradients[layer]), layouts[layer]) : undefined;
      activation ??= a;
      lowres.push(cam.lowres({ activations: a, gradients: g }, { eigenSmooth: params.eigenSmooth }).lowres);
    }
    const final = aggregateLayers(lowres, input.size);
    const raw = reluMaps(lowres[0]);
    const camMap = { data: final.data, height: input.size[0], width: input.size[1] };
    explanations.push({
      classIndex: classes[i],
      label: labels?.[classes[i]] ?? String(classes[i]),
      cam: camMap,
      camRaw: { data: raw.data, height: raw.shape[1], width: raw.shape[2] },
      overlayPng: await overlayPng(input.rgb, final.data, (params.colormap ?? 'jet') as ColormapName, params.alpha ?? 0.5),
      ...(params.saveTensors ? { activation: tensors.activations[layers[0]], gradient: tensors.gradients[layers[0]] } : {}),
    });
  }
  const t4 = performance.now();
  return {
    model: params.modelPath,
    input: params.input,
    method,
    layers,
    predictions: predictionsFrom(first.scores, labels, 5, Boolean(params.softmaxTarget)),
    explanations,
    image: input.rgb,
    ep: provider,
    fallbacks,
    timings_ms: { load: t1 - t0, preprocess: t2 - t1, run: t3 - t2, cam: t4 - t3, total: t4 - t0 },
    notes: { inputName: path.basename(params.input) },
  };
}

function classCount(model: LoadedModel, output: string): number {
  const shape = model.shapes.get(output)?.shape;
  const k = shape?.[shape.length - 1];
  if (typeof k !== 'number') throw new CamLensError('BAD_ARGUMENT', `The number of classes of output "${output}" is not known statically; explain the top-1 class instead.`);
  return k;
}

const rank = (scores: Float32Array): number[] => Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);

export { softmax };
