// The explain pipeline: model + input → predictions, CAM maps and an overlay. Composes the
// engine's parts (see DESIGN.md, "The flow of one explanation"); each step lives in its own
// module and this file only sequences them and times them.
import type { ActivationLayout, TokenGrid } from './cam/layout';
import { aggregateLayers, DEFAULT_SCALE_WEIGHTS, fuseScales, reluMaps, resizeBilinear, scaleCamImage } from './cam/postprocess';
import type { BaseCam } from './cam/base';
import { createCamOn, inputSpaceMethod, layerCam, type LayerCamInfo } from './cam/registry';
import { explainAttribution } from './attribution/explainAttribution';
import type { Maps } from './cam/tensor';
import { CamLensError, throwIfCancelled } from './errors';
import type { ColormapName } from './image/colormap';
import { resolveModelConfig } from './image/config';
import { inputToOriginalBox, type Box } from './image/geometry';
import { overlayOnOriginal, overlayPng } from './image/overlay';
import type { LoadedModel } from './model';
import { loadForExplain } from './pipeline/modelAndConfig';
import { quantizationNotes } from './surgery/floatTwin';
import { gradientExtras, type GradientModelSpec } from './pipeline/gradientModel';
import { attributionMap, attributionOf } from './cam/attribution';
import { checkClassIndex, requireClassCount, runGradient } from './pipeline/gradientRun';
import { forwardRun, runTarget, type ValueTarget } from './pipeline/targetRun';
import { detectionOfTarget, detectorLayout, resolveDetections, type DetectorRun } from './pipeline/detectorTargets';
import { formatTargetSpec, type ExplainedTarget, type TargetSpec } from './targets/spec';
import { AUGMENTATIONS, augmentInput, deaugmentMap } from './pipeline/augment';
import { camLayers, checkLayersReach, scoreOutput } from './pipeline/camLayers';
import { biasLayers } from './pipeline/biasLayers';
import { runFinerTargets } from './pipeline/finerTargets';
import { FINER_DEFAULT_ALPHA } from './targets/finer';
import { resultPictures } from './pipeline/input';
import { loadModelInputReused } from './pipeline/inputCache';
import { denseRegions, regionCotangent } from './pipeline/region';
import { resolveSequence, type SequenceRun } from './pipeline/sequenceTargets';
import { resolveEmbedding } from './pipeline/embeddingTargets';
import type { ClassRegion } from './targets/dense';
import { multiScaleError, resizeInput, scaledSize, withFlexibleSpatialDims } from './pipeline/multiscale';
import { detectLayout, layerFeatureMaps, layerTokenGrid } from './pipeline/layout';
import { inputWarnings, mapWarnings } from './pipeline/warnings';
import { CHANNEL_RUNS, classColumn, type ChannelScoreTable } from './pipeline/channelScores';
import { classProbs, conceptTable, conceptTopClasses, type ConceptTable } from './pipeline/conceptRuns';
import { bestConcept, DFF_DEFAULT_CONCEPTS } from './cam/dff';
import { camOptionsOf } from './cam/base';
import type { RgbImage } from './image/decode';
import { outputIsProbabilities, predictionsFrom, scoreKindOf, softmax, topIndices } from './pipeline/predictions';
import type { ProviderAttempt } from './runtime/providers';
import type { PlainTensor } from './runtime/tapRunner';
import { budgetBytesOf, checkMemoryBudget, estimateMemory } from './runtime/memoryBudget';
import { countModelRuns } from './runtime/modelRunCount';
import { measureSessionBuilds } from './runtime/sessionTiming';
import type {
  AnswerExplanation,
  Attribution,
  ConceptExplanation,
  ExplainAnswer,
  ExplainContext,
  ExplainParams,
  ExplainResult,
  ExplainWarning,
  Prediction,
} from './explainTypes';
import { layerMapAt, withFullMaps } from './cam/layerMap';
import { aggregateVideo, temporalWeights } from './video/temporal';
import { renderVideo } from './video/render';
import { attentionRollout, checkAttentionParams, explainRollout, guideByAttention, rolloutNotes, type AttentionRun } from './transformer/explainAttention';

export type { ExplainContext };

interface LayerTensors {
  activations: Record<string, PlainTensor>;
  gradients: Record<string, PlainTensor>;
  hessianVectorProducts?: Record<string, PlainTensor>;
  inputGradient?: PlainTensor;
  scores: Float32Array;
}

interface ClassMaps {
  classIndex: number;
  target: ExplainedTarget;
  /** The label when it is not the class's (a VALUE@… target). */
  label?: string;
  /**
   * Final map [H*W] at the size the input was run at; undefined while nothing needs it (a
   * `mapsAt: 'layer'` answer carries the layer's map): finalOf computes it then.
   */
  final: Float32Array | undefined;
  /** First layer's relu(lowres). */
  raw: Maps;
  /** `final` is `raw` upsampled (cam/layerMap.ts), until a later step (aug smooth, scales…) changes it. */
  fromLayer: boolean;
  activation?: PlainTensor;
  gradient?: PlainTensor;
  /** d target / d input, for the methods with an input-space attribution. */
  inputGradient?: PlainTensor;
  attribution?: Attribution;
  /** With params.layerMaps: each layer's own final map (what explaining that layer alone gives). */
  perLayer?: Array<{ final: Float32Array; rawHeight: number; rawWidth: number }>;
  /** This class's maps that are probably meaningless (pipeline/warnings.ts). */
  warnings: ExplainWarning[];
  /** DFF: the first layer's concepts and the one chosen for this class. */
  concepts?: { table: ConceptTable; layer: string; chosen: number };
}

interface CamRun {
  scores: Float32Array;
  classes: number[];
  targets: ExplainedTarget[];
  maps: ClassMaps[];
  provider: string;
  fallbacks: readonly ProviderAttempt[];
  runMs: number;
  camMs: number;
  /** Score-CAM / Ablation-CAM: model runs made and channels answered without one (and Score-CAM's batch size and channel budget). */
  channelRuns?: Pick<ChannelScoreTable, 'runs' | 'skipped' | 'masked' | 'maskMs' | 'runMs' | 'batchSize' | 'selected'>;
  /** Dense outputs with predicted regions: the classes predicted (labels filled in by explain). */
  regions?: ClassRegion[];
  /** FinerCAM: each class's comparison classes, as `class: k1,k2,k3`. */
  finerComparisons?: string[];
  /** DFF: the head runs that scored the concepts, and NMF's sweeps (first layer). */
  conceptRuns?: { runs: number; iterations: number; converged: boolean };
}

/**
 * Whether a one-layer map need not be made at the input's size here: the answer carries the
 * layer's map (`mapsAt: 'layer'`, no overlay to draw) and no step after the layers changes it.
 */
function finalLeftToReceiver(params: ExplainParams, info: LayerCamInfo): boolean {
  const scales = params.scales ?? [1];
  return (
    params.mapsAt === 'layer' &&
    params.overlay === false &&
    !params.augSmooth &&
    !params.layerMaps &&
    scales.length === 1 &&
    scales[0] === 1 &&
    params.method !== 'attention-gradcam' &&
    !info.attribution
  );
}

/** The class's final map at `size` (the input's), made from its layer's map when it was left for later. */
function finalOf(m: ClassMaps, size: readonly [number, number]): Float32Array {
  m.final ??= layerMapAt({ data: m.raw.data, height: m.raw.shape[1], width: m.raw.shape[2] }, { height: size[0], width: size[1] }).data;
  return m.final;
}

/**
 * Runs the model on one input tensor and makes the maps for the wanted targets: `valueTargets`
 * when given, else the classes of the score output: `classes` fixed, or undefined for the
 * model's top-k (k = `topk`).
 */
async function camsFor(
  model: LoadedModel,
  ctx: ExplainContext,
  params: ExplainParams,
  method: LayerCamInfo,
  cam: BaseCam,
  layers: string[],
  biases: Readonly<Record<string, Float32Array>> | undefined,
  output: string,
  input: PlainTensor,
  size: [number, number],
  classes: number[] | undefined,
  topk: number,
  valueTargets?: readonly ValueTarget[],
  picture?: RgbImage,
): Promise<CamRun> {
  const t0 = performance.now();
  const perClass: LayerTensors[] = [];
  const chosen: number[] = [];
  const targets: ExplainedTarget[] = [];
  const labels: Array<string | undefined> = [];
  let scores: Float32Array;
  let provider: string;
  let fallbacks: readonly ProviderAttempt[];
  let channelTables: Record<string, ChannelScoreTable> | undefined;
  let regions: ClassRegion[] | undefined;
  let finerComparisons: string[] | undefined;
  let conceptTables: Record<string, ConceptTable> | undefined;
  const runCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal };
  const extras = gradientExtras(method, Boolean(params.softmaxTarget));
  const spec = (top1InGraph: boolean): GradientModelSpec => ({ output, layers, softmax: Boolean(params.softmaxTarget), top1InGraph, ...extras });
  const outputRank = model.shapes.get(output)?.shape?.length ?? 2;
  const base = { layers, softmax: Boolean(params.softmaxTarget), ...extras };
  if (valueTargets && method.channelRuns !== 'none') {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `${params.method}: channel-run methods score classes of the output; with --target or a detector use a gradient method or EigenCAM.`,
    );
  }
  if (method.target === 'finer' && (valueTargets || outputRank >= 3 || params.softmaxTarget)) {
    throw new CamLensError('BAD_ARGUMENT', `${params.method} contrasts logits of classes; it takes no --target, detector box, region output or --softmax.`);
  }
  if (method.target === 'finer') {
    const finer = await runFinerTargets(model, runCtx, { output, layers }, input, classes, topk, { classes: params.finerClasses, alpha: params.finerAlpha });
    scores = finer.scores;
    ({ provider, fallbacks } = finer.runs[0].run);
    for (const r of finer.runs) {
      perClass.push({ ...r.run, scores });
      targets.push(r.target);
      chosen.push(r.classIndex);
    }
    finerComparisons = finer.runs.map((r) => `${r.classIndex}: ${r.comparisons.join(',')}`);
  } else if (valueTargets && method.needsGradients) {
    const runs = [];
    for (const [i, t] of valueTargets.entries()) {
      if (i) ctx.progress?.(i, valueTargets.length, t.label);
      const r = await runTarget(model, runCtx, base, input, t.spec, t.dims, t.fed);
      runs.push(r.run);
      targets.push(r.target);
      chosen.push(t.classIndex);
      labels.push(t.label);
    }
    ({ provider, fallbacks, scores } = runs[0]);
    perClass.push(...runs);
  } else if (method.needsGradients && outputRank >= 3) {
    // Dense output: scores are sums over each class's region; one forward run picks the classes.
    const forward = await forwardRun(model, runCtx, input);
    const map = forward.outputs[output];
    const dense = await denseRegions(output, map, params);
    scores = dense.scores;
    classes?.forEach((c) => checkClassIndex(c, scores.length));
    const wanted = classes ?? dense.ranked.slice(0, topk);
    provider = forward.provider;
    fallbacks = forward.fallbacks;
    for (const c of wanted) {
      const mask = dense.regionOf(c);
      const run = await runGradient(model, runCtx, spec(false), input, { cotangent: regionCotangent(map.dims, c, mask, dense.layout) });
      perClass.push({ ...run, scores });
      targets.push({ value: output, index: [0, c], score: scores[c], reduce: 'region-sum', pixels: mask.reduce((a, v) => a + v, 0) });
    }
    chosen.push(...wanted);
    regions = dense.regions;
  } else if (method.needsGradients) {
    // A class is the element [0, c] of the scores: fed one-hot, which needs the class count;
    // top-1 is the scores' largest element, chosen in the graph.
    const k = classes ? requireClassCount(model, output) : undefined;
    if (classes && k !== undefined) classes.forEach((c) => checkClassIndex(c, k));
    const classTarget = (c: number): TargetSpec => ({ value: output, select: { kind: 'index', index: [0, c] } });
    const first = classes
      ? await runTarget(model, runCtx, base, input, classTarget(classes[0]), [input.dims[0], k!])
      : await runTarget(model, runCtx, base, input, { value: output, select: { kind: 'max' } });
    ({ provider, fallbacks } = first.run);
    scores = first.run.scores;
    const wanted = classes ?? topIndices(scores, topk);
    chosen.push(...wanted);
    perClass.push(first.run);
    targets.push(first.target);
    for (let i = 1; i < wanted.length; i++) {
      ctx.progress?.(i, wanted.length, `class ${wanted[i]}`);
      const next = await runTarget(model, runCtx, base, input, classTarget(wanted[i]), first.run.scoreDims);
      perClass.push(next.run);
      targets.push(next.target);
    }
  } else {
    const run = await forwardRun(model, runCtx, input, layers);
    ({ provider, fallbacks } = run);
    scores = run.outputs[output].data as Float32Array;
    const tensors = { scores, activations: Object.fromEntries(run.taps.map((t) => [t.value, t.tensor!])), gradients: {} };
    if (valueTargets) {
      for (const t of valueTargets) {
        if (t.score === undefined) throw new CamLensError('BAD_ARGUMENT', `${params.method} does not compute the target "${t.label}"; use a gradient method.`);
        chosen.push(t.classIndex);
        labels.push(t.label);
        targets.push(t.fed?.target ?? { value: t.spec.value, index: t.spec.select.kind === 'index' ? [...t.spec.select.index] : [], score: t.score });
      }
    } else {
      classes?.forEach((c) => checkClassIndex(c, scores.length));
      chosen.push(...(classes ?? topIndices(scores, topk)));
      for (const c of chosen) targets.push({ value: output, index: [0, c], score: scores[c] });
    }
    chosen.forEach(() => perClass.push(tensors));
    if (method.channelRuns !== 'none') {
      channelTables = await channelScoreTables(method.channelRuns, model, ctx, params, layers, output, input, size, tensors);
    }
    if (method.concepts) {
      conceptTables = {};
      const conceptCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal, batchSize: params.batchSize ?? 32 };
      for (const layer of layers) {
        const raw = tensors.activations[layer];
        const layout = detectLayout(layer, raw.dims, size);
        const grid = layerTokenGrid(model, layer, layout, raw.dims, size);
        conceptTables[layer] = await conceptTable(model, conceptCtx, layer, raw, layout, grid, output, params.concepts ?? DFF_DEFAULT_CONCEPTS);
      }
    }
  }
  const t1 = performance.now();
  const layouts: Record<string, ActivationLayout> = {};
  const grids: Record<string, TokenGrid | undefined> = {};
  for (const layer of layers) {
    const dims = perClass[0].activations[layer].dims;
    layouts[layer] = detectLayout(layer, dims, size);
    grids[layer] = layerTokenGrid(model, layer, layouts[layer], dims, size);
  }
  const maps = chosen.map((classIndex, i) => {
    const tensors = perClass[i];
    const warnings: ExplainWarning[] = [];
    const lowres: Maps[] = layers.map((layer) => {
      const a = layerFeatureMaps(tensors.activations[layer], layouts[layer], grids[layer]);
      const g = tensors.gradients[layer] ? layerFeatureMaps(tensors.gradients[layer], layouts[layer], grids[layer]) : undefined;
      const hvp = tensors.hessianVectorProducts?.[layer];
      const table = channelTables?.[layer];
      const extra = {
        ...(table ? { channelScores: classColumn(table, classIndex), baseScores: Float32Array.of(tensors.scores[classIndex]) } : {}),
        ...(hvp ? { hessianVectorProducts: layerFeatureMaps(hvp, layouts[layer], grids[layer]) } : {}),
      };
      const concepts = conceptTables?.[layer];
      const conceptInput = concepts ? { concepts: { factorization: concepts.factorization, classProbs: classProbs(concepts, classIndex) } } : {};
      const map = cam.lowres(
        { activations: a, gradients: g, bias: biases?.[layer], ...extra, ...conceptInput, ...(picture ? { picture } : {}) },
        camOptionsOf(params),
      ).lowres;
      // FullGrad's many bias terms are judged by their sum below: one quiet bias says nothing.
      if (!biases) warnings.push(...mapWarnings({ layer, classIndex, lowres: map.data, gradient: g?.data, activation: a.data }));
      return map;
    });
    const fromLayer = lowres.length === 1 && input.dims.length !== 5 && !biases && cam.finalIsLayerMap;
    const combined =
      fromLayer && finalLeftToReceiver(params, method)
        ? { raw: reluMaps(lowres[0]) }
        : input.dims.length === 5
          ? { final: aggregateVideo(lowres, size, input.dims[2]), raw: reluMaps(lowres[0]) }
          : cam.combine(lowres, size);
    if (biases) warnings.push(...mapWarnings({ layer: 'every bias and the input', classIndex, lowres: combined.raw.data }));
    return {
      classIndex,
      target: targets[i],
      label: labels[i],
      final: 'final' in combined ? combined.final.data : undefined,
      raw: combined.raw,
      fromLayer,
      ...(params.layerMaps ? { perLayer: lowres.map((l) => ({ final: aggregateLayers([l], size).data, rawHeight: l.shape[1], rawWidth: l.shape[2] })) } : {}),
      activation: tensors.activations[layers[0]],
      gradient: tensors.gradients[layers[0]],
      inputGradient: tensors.inputGradient,
      warnings,
      ...(conceptTables ? { concepts: chosenConcept(conceptTables[layers[0]], layers[0], classIndex) } : {}),
    };
  });
  const tables = channelTables ? Object.values(channelTables) : [];
  const notes = channelTables
    ? {
        runs: tables.reduce((a, t) => a + t.runs, 0),
        skipped: tables.reduce((a, t) => a + t.skipped, 0),
        masked: tables.every((t) => t.masked !== undefined) ? tables.reduce((a, t) => a + t.masked!, 0) : undefined,
        maskMs: tables.reduce((a, t) => a + (t.maskMs ?? 0), 0),
        runMs: tables.reduce((a, t) => a + (t.runMs ?? 0), 0),
        batchSize: tables[0]?.batchSize,
        selected: tables[0]?.selected,
      }
    : undefined;
  const first = conceptTables?.[layers[0]];
  const conceptRuns = first
    ? {
        runs: Object.values(conceptTables!).reduce((n, t) => n + t.runs, 0),
        iterations: first.factorization.iterations,
        converged: first.factorization.converged,
      }
    : undefined;
  return {
    scores,
    classes: chosen,
    targets,
    maps,
    provider,
    fallbacks,
    runMs: t1 - t0,
    camMs: performance.now() - t1,
    channelRuns: notes,
    regions,
    finerComparisons,
    conceptRuns,
  };
}

function chosenConcept(table: ConceptTable, layer: string, classIndex: number): ClassMaps['concepts'] {
  return { table, layer, chosen: bestConcept(classProbs(table, classIndex)) };
}

/** DFF's concepts for the explanation: every concept's map at the input size, its best classes, the one shown. */
function conceptExplanation(c: NonNullable<ClassMaps['concepts']>, size: [number, number], labels: readonly string[] | undefined): ConceptExplanation {
  const f = c.table.factorization;
  const maps = scaleCamImage({ data: f.maps, shape: [f.count, f.h, f.w] }, size);
  return {
    layer: c.layer,
    maps: { data: maps.data, height: size[0], width: size[1] },
    count: f.count,
    topClasses: conceptTopClasses(c.table, labels),
    chosen: c.chosen,
  };
}

/** Score-CAM / Ablation-CAM: the per-channel score tables of every CAM layer. */
async function channelScoreTables(
  runs: keyof typeof CHANNEL_RUNS,
  model: LoadedModel,
  ctx: ExplainContext,
  params: ExplainParams,
  layers: string[],
  output: string,
  input: PlainTensor,
  size: [number, number],
  tensors: LayerTensors,
): Promise<Record<string, ChannelScoreTable>> {
  const runCtx = {
    sessions: ctx.sessions,
    provider: params.provider,
    signal: ctx.signal,
    batchSize: params.batchSize ?? 32,
    chooseBatchSize: params.batchSize === undefined,
    channels: params.scorecamChannels,
    progress: ctx.progress,
  };
  const inputLayout = resolveModelConfig(params.modelPath, model.proto, params.configPath, params.labelsPath).input.layout;
  const out: Record<string, ChannelScoreTable> = {};
  for (const layer of layers) {
    const raw = tensors.activations[layer];
    out[layer] = await CHANNEL_RUNS[runs](model, runCtx, {
      layer,
      raw,
      layout: detectLayout(layer, raw.dims, size),
      grid: layerTokenGrid(model, layer, detectLayout(layer, raw.dims, size), raw.dims, size),
      input,
      inputLayout,
      output,
      scores: tensors.scores,
    });
  }
  return out;
}

/** Averages the final maps of test-time augmentations (aug_smooth) into `base`, in place. */
async function augmentSmooth(
  base: CamRun,
  run: (input: PlainTensor) => Promise<CamRun>,
  input: PlainTensor,
  layout: 'NCHW' | 'NHWC',
  size: [number, number],
): Promise<void> {
  const sums = base.maps.map((m) => Float64Array.from(finalOf(m, size)));
  let count = 1;
  for (const aug of AUGMENTATIONS) {
    if (!aug.flip && aug.factor === 1) continue; // that one is `base`
    const r = await run(augmentInput(input, aug, layout));
    r.maps.forEach((m, i) => {
      const back = deaugmentMap(finalOf(m, size), size[0], size[1], aug);
      for (let p = 0; p < back.length; p++) sums[i][p] += back[p];
    });
    base.runMs += r.runMs;
    base.camMs += r.camMs;
    count++;
  }
  base.maps.forEach((m, i) => {
    m.final = Float32Array.from(sums[i], (v) => v / count);
    m.fromLayer = false;
  });
}

/** An explanation with its maps at full size (a `mapsAt: 'layer'` request's rebuilt: engine/cam/layerMap.ts). */
export async function explain(params: ExplainParams, ctx: ExplainContext): Promise<ExplainResult> {
  return withFullMaps(await explainAnswer(params, ctx));
}

/**
 * The worker's answer to `explain`: with `mapsAt: 'layer'`, a map that is its layer's map
 * upsampled is left at the layer's size, and is not even made at the input's size here.
 */
export async function explainAnswer(params: ExplainParams, ctx: ExplainContext): Promise<ExplainAnswer> {
  // Session builds happen inside the runs; they are reported apart (a cold start's cost).
  const { result: counted, sessionMs } = await measureSessionBuilds(() => countModelRuns(() => explainTimed(params, ctx)));
  const { result, runs, rows } = counted;
  const { load, preprocess, run, cam, total } = result.timings_ms;
  result.timings_ms = { load, preprocess, session: sessionMs, run: Math.max(0, run - sessionMs), cam, total };
  // Every method's cost in onnxruntime runs, and the input rows they carried (batched runs carry several).
  result.notes = { ...result.notes, modelRuns: runs, modelRunRows: rows };
  return result;
}

async function explainTimed(params: ExplainParams, ctx: ExplainContext): Promise<ExplainAnswer> {
  const t0 = performance.now();
  const method = params.method ?? 'gradcam';
  if (method === 'attention-rollout') return explainRollout(params, ctx);
  const inputSpace = inputSpaceMethod(method);
  if (inputSpace) return explainAttribution(params, ctx, inputSpace);
  if (method === 'attention-gradcam') checkAttentionParams(params);
  if (params.layerMaps && (method === 'attention-gradcam' || params.augSmooth || (params.scales && params.scales.some((x) => x !== 1)))) {
    // Those change the fused map after the layers are combined; a layer's own map would not show it.
    throw new CamLensError('BAD_ARGUMENT', 'Per-layer maps (the layer sweep) are made without --aug-smooth, multi-scale fusion or attention guidance.');
  }
  // attention-gradcam is Grad-CAM's map, guided by the rollout at the end.
  const info = layerCam(method === 'attention-gradcam' ? 'gradcam' : method);
  const cam = createCamOn(info, params.finerBase);
  const { model, config } = loadForExplain(params.modelPath, params.configPath, params.labelsPath);
  const output = scoreOutput(model, params.output);
  const fromBiases = info.layers === 'biases' ? biasLayers(model) : undefined;
  const layers = fromBiases?.values ?? camLayers(model, params.layers, output);
  const biases = fromBiases?.biases;
  const layerWarnings = layerUseWarnings(info, params, layers);
  const scales = params.scales ?? [1];
  const scaleWeights = params.scaleWeights ?? (params.scales ? [...DEFAULT_SCALE_WEIGHTS].slice(0, scales.length) : [1]);
  if (scaleWeights.length !== scales.length) {
    throw new CamLensError('BAD_ARGUMENT', `${scales.length} scales but ${scaleWeights.length} scale weights; give one weight per scale.`);
  }
  const t1 = performance.now();

  // A fully static declared input is checked before the image is even decoded to its size.
  const declared = model.shapes.get(model.graph.inputs[0])?.shape;
  if (declared?.every((d): d is number => typeof d === 'number')) {
    checkMemoryBudget(estimateMemory(model, declared, declared[0] || 1, info.needsGradients), budgetBytesOf(params.provider), `Explaining ${params.input}`);
  }
  const input = await loadModelInputReused(params.input, model, config, { frames: params.frames });
  if (input.frames && info.layers && info.layers !== 'any') {
    throw new CamLensError('BAD_ARGUMENT', `${method} combines layers over a picture; it is not available for video models.`);
  }
  if (input.frames && params.layerMaps) throw new CamLensError('BAD_ARGUMENT', 'Per-layer maps (the layer sweep) are made for image models, not video models.');
  if (input.frames && (params.augSmooth || (params.scales && (params.scales.length > 1 || params.scales[0] !== 1)))) {
    throw new CamLensError('BAD_ARGUMENT', '--aug-smooth and multi-scale fusion are not available for video models.');
  }
  if (info.readsPicture && (input.frames || params.augSmooth || (params.scales && (params.scales.length > 1 || params.scales[0] !== 1)))) {
    // Its map is the edges of the one picture the model saw: augmented or rescaled inputs have no picture.
    throw new CamLensError('BAD_ARGUMENT', `${method} maps the input picture's edges; video models, --aug-smooth and multi-scale fusion do not apply.`);
  }
  const inputTensor: PlainTensor = { dtype: 'float32', dims: input.dims, data: input.tensor };
  // Before any session is built: the rows one run takes (augmentations, masked-input batches).
  const rows = Math.max(input.dims[0] * (params.augSmooth ? AUGMENTATIONS.length : 1), info.channelRuns === 'none' ? 1 : (params.batchSize ?? 32));
  checkMemoryBudget(estimateMemory(model, input.dims, rows, info.needsGradients), budgetBytesOf(params.provider), `Explaining ${params.input}`);
  const layout = config.input.layout;
  const t2 = performance.now();
  throwIfCancelled(ctx.signal, 'The explanation');

  const topk = Math.max(1, params.topk ?? 1);
  // An element of a value, or a detector's box, is the target instead of a class of the scores.
  let valueTargets: ValueTarget[] | undefined;
  let detector: DetectorRun | undefined;
  let sequence: SequenceRun | undefined;
  const detectorFormat = detectorLayout(model, output, params);
  const runCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal };
  if ([params.target, params.embedding, params.sequence].filter(Boolean).length > 1)
    throw new CamLensError('BAD_ARGUMENT', '--target, --target-embedding and the sequence targets each name the target; give one.');
  if (params.softmaxTarget && (params.embedding || params.sequence))
    throw new CamLensError('BAD_ARGUMENT', '--softmax changes a class score; embedding and sequence targets define their own score. Leave --softmax out.');
  if (params.target) {
    const { select } = params.target;
    valueTargets = [
      { spec: params.target, classIndex: select.kind === 'index' && select.index.length === 2 ? select.index[1] : -1, label: formatTargetSpec(params.target) },
    ];
  } else if (params.embedding) {
    valueTargets = [await resolveEmbedding(model, runCtx, { ...params, embedding: params.embedding }, config, params.embeddingValue ?? output, inputTensor)];
  } else if (params.sequence) {
    sequence = await resolveSequence(model, runCtx, params, output, inputTensor, config.labels);
    valueTargets = sequence.targets;
  } else if (detectorFormat) {
    // Boxes in the original image's pixels; a .npy input is its own original.
    const geometry = input.original?.geometry;
    const toOriginal = (box: Box): Box => (geometry ? inputToOriginalBox(geometry, box) : box);
    detector = await resolveDetections(model, runCtx, params, detectorFormat, output, inputTensor, config.labels, toOriginal);
    valueTargets = detector.targets;
  }
  // A layer the target's value is not computed from has a zero gradient: a blank map, refused.
  if (valueTargets) for (const value of new Set(valueTargets.map((t) => t.spec.value))) checkLayersReach(model, layers, value);
  if (info.attribution && (params.augSmooth || scales.length > 1 || scales[0] !== 1)) {
    throw new CamLensError('BAD_ARGUMENT', `${method} is an input-space attribution; --aug-smooth and multi-scale fusion apply to layer CAMs only.`);
  }
  if (valueTargets && (params.augSmooth || scales.length > 1 || scales[0] !== 1)) {
    // Flips and rescales move the element (an anchor of another place, another size of output).
    throw new CamLensError('BAD_ARGUMENT', '--aug-smooth and multi-scale fusion explain classes; they are not available for --target or detector boxes.');
  }
  const fixed = params.classIndex !== undefined && !detector ? [params.classIndex] : undefined;
  const detectMs = performance.now() - t2;
  const base = await camsFor(
    model,
    ctx,
    params,
    info,
    cam,
    layers,
    biases,
    output,
    inputTensor,
    input.size,
    fixed,
    topk,
    valueTargets,
    info.readsPicture ? input.rgb : undefined,
  );
  base.runMs += detectMs; // the detector's forward run, decode and NMS
  if (info.attribution) {
    for (const m of base.maps) {
      m.attribution = attributionOf(m.inputGradient!, layout, 0, info.attribution === 'input-gradient-times-cam' ? finalOf(m, input.size) : undefined);
      m.final = attributionMap(m.attribution);
      m.fromLayer = false;
    }
  }
  const classes = base.classes;
  const atSize = async (m: LoadedModel, t: PlainTensor, size: [number, number]) => {
    throwIfCancelled(ctx.signal, 'The explanation');
    const r = await camsFor(m, ctx, params, info, cam, layers, biases, output, t, size, classes, topk);
    if (params.augSmooth) await augmentSmooth(r, (x) => camsFor(m, ctx, params, info, cam, layers, biases, output, x, size, classes, topk), t, layout, size);
    return r;
  };
  if (params.augSmooth)
    await augmentSmooth(
      base,
      (x) => camsFor(model, ctx, params, info, cam, layers, biases, output, x, input.size, classes, topk),
      inputTensor,
      layout,
      input.size,
    );
  if (scales.length > 1 || scales[0] !== 1) {
    const flexibleModel = withFlexibleSpatialDims(model, layout);
    const perScale: Float32Array[][] = [];
    for (const scale of scales) {
      if (scale === 1) {
        perScale.push(base.maps.map((m) => finalOf(m, input.size)));
        continue;
      }
      const size = scaledSize(input.size, scale);
      let r: CamRun;
      try {
        r = await atSize(flexibleModel, resizeInput(inputTensor, size, layout), size);
      } catch (e) {
        if (e instanceof CamLensError) throw e;
        throw multiScaleError(scale, size, e);
      }
      base.runMs += r.runMs;
      base.camMs += r.camMs;
      perScale.push(r.maps.map((m) => resizeBilinear({ data: finalOf(m, size), shape: [1, size[0], size[1]] }, input.size).data));
    }
    base.maps.forEach((m, i) => {
      const fused = fuseScales(
        perScale.map((maps) => ({ data: maps[i], shape: [1, input.size[0], input.size[1]] as const })),
        scaleWeights,
        { renormalize: true },
      );
      m.final = fused.data;
      m.fromLayer = false;
    });
  }
  let attention: AttentionRun | undefined;
  if (method === 'attention-gradcam') {
    attention = await attentionRollout(model, ctx, params, inputTensor, input.size, output);
    guideByAttention(
      base.maps.map((m) => ({ final: finalOf(m, input.size), raw: m.raw })),
      attention,
    );
    for (const m of base.maps) m.fromLayer = false;
    base.runMs += attention.runMs;
  }
  const t3 = performance.now();

  const labels = config.labels;
  const regions = base.regions?.map((r) => ({ ...r, label: labels?.[r.class] ?? r.label }));
  const explanations: AnswerExplanation[] = [];
  for (const m of base.maps) {
    if (input.frames) {
      const T = input.frames.length;
      const final = finalOf(m, input.size);
      const pictures = await renderVideo(input.frames, final, (params.colormap ?? 'jet') as ColormapName, params.alpha ?? 0.5);
      const [, h, w] = m.raw.shape;
      explanations.push({
        classIndex: m.classIndex,
        label: m.label ?? labels?.[m.classIndex] ?? String(m.classIndex),
        target: m.target,
        cam: { data: final, height: input.size[0], width: input.size[1] },
        camRaw: { data: m.raw.data, height: h, width: w },
        overlayPng: pictures.stripPng,
        video: {
          frames: T,
          temporalWeights: temporalWeights({ data: final, shape: [T, input.size[0], input.size[1]] }),
          frameOverlaysPng: pictures.frameOverlaysPng,
          animatedGif: pictures.animatedGif,
        },
        ...(params.saveTensors ? { activation: m.activation, gradient: m.gradient } : {}),
      });
      continue;
    }
    const colormap = (params.colormap ?? 'jet') as ColormapName;
    const atLayer = m.fromLayer ? { height: input.size[0], width: input.size[1] } : undefined;
    // Image files: the map and its overlay on the original picture; a .npy has no other picture
    // than its own. A `mapsAt: 'layer'` answer leaves both maps to the receiver (engine/cam/layerMap.ts).
    const leftToReceiver = Boolean(atLayer && params.mapsAt === 'layer');
    const drawn = params.overlay !== false;
    const onOriginal =
      input.original && (drawn || !leftToReceiver)
        ? await overlayOnOriginal(input.original, finalOf(m, input.size), colormap, params.alpha ?? 0.5, drawn)
        : undefined;
    explanations.push({
      classIndex: m.classIndex,
      label: m.label ?? labels?.[m.classIndex] ?? String(m.classIndex),
      target: m.target,
      ...(leftToReceiver ? {} : { cam: { data: finalOf(m, input.size), height: input.size[0], width: input.size[1] } }),
      ...(onOriginal && !leftToReceiver ? { camImage: onOriginal.camImage } : {}),
      camRaw: { data: m.raw.data, height: m.raw.shape[1], width: m.raw.shape[2] },
      ...(atLayer ? { mapAtLayer: atLayer } : {}),
      ...(drawn ? { overlayPng: onOriginal?.png ?? (await overlayPng(input.rgb, finalOf(m, input.size), colormap, params.alpha ?? 0.5)) } : {}),
      ...(m.attribution ? { attribution: m.attribution } : {}),
      ...(m.perLayer
        ? {
            layerCams: m.perLayer.map((l, j) => ({
              layer: layers[j],
              cam: { data: l.final, height: input.size[0], width: input.size[1] },
              rawHeight: l.rawHeight,
              rawWidth: l.rawWidth,
            })),
          }
        : {}),
      ...(params.saveTensors ? { activation: m.activation, gradient: m.gradient } : {}),
      ...(m.concepts ? { concepts: conceptExplanation(m.concepts, input.size, labels) } : {}),
    });
  }
  if (detector)
    for (const e of explanations) {
      const at = detectionOfTarget(detector.detections, e.target);
      if (at !== undefined) e.detection = at;
    }
  const classCount = base.scores.length / inputTensor.dims[0];
  const scoreKind = scoreKindOf(model, output, base.scores, classCount, Boolean(params.softmaxTarget));
  const warnings = [...inputWarnings(input), ...(sequence?.warnings ?? []), ...layerWarnings, ...base.maps.flatMap((m) => m.warnings)];
  if (params.softmaxTarget && outputIsProbabilities(model, output)) {
    warnings.push({
      code: 'softmax-of-probabilities',
      message: `--softmax: the output "${output}" already is a probability (a Softmax/Sigmoid computes it); the target is a softmax of probabilities, which flattens the differences between classes. Leave --softmax out.`,
    });
  }
  const t4 = performance.now();
  return {
    model: params.modelPath,
    input: params.input,
    method,
    layers,
    predictions: predictionsOf(
      base.scores,
      params,
      params.target?.value === output && (model.shapes.get(output)?.shape?.length ?? 2) <= 2,
      detector,
      labels,
      scoreKind === 'probabilities',
      regions,
    ),
    scoreKind,
    warnings,
    explanations,
    ...(detector ? { detections: detector.detections } : {}),
    ...(regions ? { regions } : {}),
    ...(sequence ? { sequence: sequence.reading } : {}),
    ...resultPictures(input, params),
    ep: base.provider,
    fallbacks: base.fallbacks,
    timings_ms: { load: t1 - t0, preprocess: t2 - t1, session: 0, run: base.runMs, cam: base.camMs + (t4 - t3), total: t4 - t0 }, // session: explain()
    notes: {
      ...(params.augSmooth ? { augSmooth: `${AUGMENTATIONS.length} augmentations (flip x brightness 0.9/1.0/1.1)` } : {}),
      ...(scales.length > 1 || scales[0] !== 1 ? { scales: scales.join(','), scaleWeights: scaleWeights.join(',') } : {}),
      ...(base.channelRuns ? { channelRuns: base.channelRuns.runs, channelsSkipped: base.channelRuns.skipped } : {}),
      ...(base.finerComparisons ? { finerComparisons: base.finerComparisons.join('; '), finerAlpha: params.finerAlpha ?? FINER_DEFAULT_ALPHA } : {}),
      ...(biases ? { fullGradBiases: Object.keys(biases).length } : {}),
      ...(base.conceptRuns
        ? { conceptHeadRuns: base.conceptRuns.runs, nmfIterations: base.conceptRuns.iterations, nmfConverged: String(base.conceptRuns.converged) }
        : {}),
      ...(info.readsPicture ? { layerUnused: `${method} maps the input picture's edges; the layer is not read` } : {}),
      ...(base.channelRuns?.masked !== undefined
        ? {
            channelsMasked: base.channelRuns.masked,
            channelMaskMs: Math.round(base.channelRuns.maskMs ?? 0),
            channelRunMs: Math.round(base.channelRuns.runMs ?? 0),
          }
        : {}),
      ...(base.channelRuns?.batchSize ? { channelBatchSize: base.channelRuns.batchSize } : {}),
      ...(base.channelRuns?.selected ? approximateScoreCamNotes(base.channelRuns.selected) : {}),
      ...(attention ? rolloutNotes(params, attention) : {}),
      ...quantizationNotes(model.proto),
    },
  };
}

/** A method that takes its layers from the graph ignores --layer; one that combines several is its base method with one. */
function layerUseWarnings(info: LayerCamInfo, params: ExplainParams, layers: readonly string[]): ExplainWarning[] {
  if (info.layers === 'biases' && params.layers?.length) {
    return [{ code: 'layer-ignored', message: `${info.id} uses every bias of the graph and the input; --layer is ignored.` }];
  }
  if (info.layers === 'biases' && layers.length === 1) {
    return [{ code: 'no-biases', message: `${info.id}: the graph has no Conv or BatchNormalization bias; the map is the input × gradient term alone.` }];
  }
  if (info.layers === 'several' && layers.length < 2) {
    return [
      {
        code: 'one-layer',
        message: `${info.id} multiplies the maps of several layers; with one layer it is its base method's map. Give --layer more than once (early to late).`,
      },
    ];
  }
  return [];
}

/**
 * What S.json says of a Score-CAM run on a channel budget: that the map is approximate and how
 * its channels were chosen (bench/scorecam.mjs measures its agreement with the exact map).
 */
function approximateScoreCamNotes(selected: { channels: number; of: number }): Record<string, string | number> {
  return {
    approximate: `Score-CAM on ${selected.channels} of ${selected.of} channels (those of largest activation variance, as Faster Score-CAM): an approximation of the exact map`,
    scorecamChannels: selected.channels,
  };
}

/**
 * Class scores give the top classes; a detector its best detections (class, score); an element
 * of another value has no classes to list.
 */
function predictionsOf(
  scores: Float32Array,
  params: ExplainParams,
  classScores: boolean,
  detector: DetectorRun | undefined,
  labels: readonly string[] | undefined,
  probabilities: boolean,
  regions?: readonly ClassRegion[],
): Prediction[] {
  // Predicted regions: each class's region sum, and its share of the pixels as the probability.
  if (regions) return regions.slice(0, 5).map((r) => ({ index: r.class, label: r.label, score: scores[r.class], prob: r.share }));
  if (detector) return detector.detections.slice(0, 5).map((d) => ({ index: d.class, label: d.label, score: d.score, prob: d.score }));
  if (params.target && !classScores) return [];
  return predictionsFrom(scores, labels, 5, probabilities);
}

export { softmax };
