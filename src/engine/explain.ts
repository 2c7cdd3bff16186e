// The explain pipeline: model + input → predictions, CAM maps and an overlay. Composes the
// engine's parts (see DESIGN.md, "The flow of one explanation"); each step lives in its own
// module and this file only sequences them and times them.
import type { ActivationLayout, TokenGrid } from './cam/layout';
import { aggregateLayers, DEFAULT_SCALE_WEIGHTS, fuseScales, reluMaps, resizeBilinear } from './cam/postprocess';
import type { BaseCam } from './cam/base';
import { layerCam, type LayerCamInfo } from './cam/registry';
import type { Maps } from './cam/tensor';
import { CamLensError, throwIfCancelled } from './errors';
import type { ColormapName } from './image/colormap';
import { resolveModelConfig } from './image/config';
import { inputToOriginalBox, type Box } from './image/geometry';
import { overlayOnOriginal, overlayPng } from './image/overlay';
import type { LoadedModel } from './model';
import { loadForExplain } from './pipeline/modelAndConfig';
import { quantizationNotes } from './surgery/floatTwin';
import type { GradientModelSpec } from './pipeline/gradientModel';
import { checkClassIndex, requireClassCount, runGradient } from './pipeline/gradientRun';
import { forwardRun, runTarget, type ValueTarget } from './pipeline/targetRun';
import { detectionOfTarget, detectorLayout, resolveDetections, type DetectorRun } from './pipeline/detectorTargets';
import { formatTargetSpec, type ExplainedTarget, type TargetSpec } from './targets/spec';
import { AUGMENTATIONS, augmentInput, deaugmentMap } from './pipeline/augment';
import { camLayers, checkLayersReach, scoreOutput } from './pipeline/camLayers';
import { loadModelInput } from './pipeline/input';
import { denseRegions, regionCotangent } from './pipeline/region';
import { resolveSequence, type SequenceRun } from './pipeline/sequenceTargets';
import { resolveEmbedding } from './pipeline/embeddingTargets';
import type { ClassRegion } from './targets/dense';
import { multiScaleError, resizeInput, scaledSize, withFlexibleSpatialDims } from './pipeline/multiscale';
import { detectLayout, layerFeatureMaps, layerTokenGrid } from './pipeline/layout';
import { mapWarnings } from './pipeline/warnings';
import { CHANNEL_RUNS, classColumn, type ChannelScoreTable } from './pipeline/channelScores';
import { outputIsProbabilities, predictionsFrom, scoreKindOf, softmax, topIndices } from './pipeline/predictions';
import type { ProviderAttempt } from './runtime/providers';
import type { PlainTensor } from './runtime/tapRunner';
import { budgetBytesOf, checkMemoryBudget, estimateMemory } from './runtime/memoryBudget';
import type { ExplainContext, ExplainParams, ExplainResult, ExplainWarning, Explanation, Prediction } from './explainTypes';
import { aggregateVideo, temporalWeights } from './video/temporal';
import { renderVideo } from './video/render';
import { attentionRollout, checkAttentionParams, explainRollout, guideByAttention, rolloutNotes, type AttentionRun } from './transformer/explainAttention';

export type { ExplainContext };

interface LayerTensors {
  activations: Record<string, PlainTensor>;
  gradients: Record<string, PlainTensor>;
  scores: Float32Array;
}

interface ClassMaps {
  classIndex: number;
  target: ExplainedTarget;
  /** The label when it is not the class's (a VALUE@… target). */
  label?: string;
  /** Final map [H*W] at the size the input was run at. */
  final: Float32Array;
  /** First layer's relu(lowres). */
  raw: Maps;
  activation?: PlainTensor;
  gradient?: PlainTensor;
  /** This class's maps that are probably meaningless (pipeline/warnings.ts). */
  warnings: ExplainWarning[];
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
  /** Score-CAM / Ablation-CAM: model runs made and channels answered without one. */
  channelRuns?: { runs: number; skipped: number };
  /** Dense outputs with predicted regions: the classes predicted (labels filled in by explain). */
  regions?: ClassRegion[];
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
  output: string,
  input: PlainTensor,
  size: [number, number],
  classes: number[] | undefined,
  topk: number,
  valueTargets?: readonly ValueTarget[],
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
  const runCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal };
  const spec = (top1InGraph: boolean): GradientModelSpec => ({ output, layers, softmax: Boolean(params.softmaxTarget), top1InGraph });
  const outputRank = model.shapes.get(output)?.shape?.length ?? 2;
  const base = { layers, softmax: Boolean(params.softmaxTarget) };
  if (valueTargets && method.channelRuns !== 'none') {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `${params.method}: channel-run methods score classes of the output; with --target or a detector use a gradient method or EigenCAM.`,
    );
  }
  if (valueTargets && method.needsGradients) {
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
      const table = channelTables?.[layer];
      const extra = table ? { channelScores: classColumn(table, classIndex), baseScores: Float32Array.of(tensors.scores[classIndex]) } : {};
      const map = cam.lowres({ activations: a, gradients: g, ...extra }, { eigenSmooth: params.eigenSmooth }).lowres;
      warnings.push(...mapWarnings({ layer, classIndex, lowres: map.data, gradient: g?.data, activation: a.data }));
      return map;
    });
    return {
      classIndex,
      target: targets[i],
      label: labels[i],
      final: input.dims.length === 5 ? aggregateVideo(lowres, size, input.dims[2]).data : aggregateLayers(lowres, size).data,
      raw: reluMaps(lowres[0]),
      activation: tensors.activations[layers[0]],
      gradient: tensors.gradients[layers[0]],
      warnings,
    };
  });
  const notes = channelTables
    ? Object.values(channelTables).reduce((acc, t) => ({ runs: acc.runs + t.runs, skipped: acc.skipped + t.skipped }), { runs: 0, skipped: 0 })
    : undefined;
  return { scores, classes: chosen, targets, maps, provider, fallbacks, runMs: t1 - t0, camMs: performance.now() - t1, channelRuns: notes, regions };
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
  const runCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal, batchSize: params.batchSize ?? 32, progress: ctx.progress };
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
  const sums = base.maps.map((m) => Float64Array.from(m.final));
  let count = 1;
  for (const aug of AUGMENTATIONS) {
    if (!aug.flip && aug.factor === 1) continue; // that one is `base`
    const r = await run(augmentInput(input, aug, layout));
    r.maps.forEach((m, i) => {
      const back = deaugmentMap(m.final, size[0], size[1], aug);
      for (let p = 0; p < back.length; p++) sums[i][p] += back[p];
    });
    base.runMs += r.runMs;
    base.camMs += r.camMs;
    count++;
  }
  base.maps.forEach((m, i) => {
    m.final = Float32Array.from(sums[i], (v) => v / count);
  });
}

export async function explain(params: ExplainParams, ctx: ExplainContext): Promise<ExplainResult> {
  const t0 = performance.now();
  const method = params.method ?? 'gradcam';
  if (method === 'attention-rollout') return explainRollout(params, ctx);
  if (method === 'attention-gradcam') checkAttentionParams(params);
  // attention-gradcam is Grad-CAM's map, guided by the rollout at the end.
  const info = layerCam(method === 'attention-gradcam' ? 'gradcam' : method);
  const cam = info.create();
  const { model, config } = loadForExplain(params.modelPath, params.configPath, params.labelsPath);
  const output = scoreOutput(model, params.output);
  const layers = camLayers(model, params.layers, output);
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
  const input = await loadModelInput(params.input, model, config, { frames: params.frames });
  if (input.frames && (params.augSmooth || (params.scales && (params.scales.length > 1 || params.scales[0] !== 1)))) {
    throw new CamLensError('BAD_ARGUMENT', '--aug-smooth and multi-scale fusion are not available for video models.');
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
  if (valueTargets && (params.augSmooth || scales.length > 1 || scales[0] !== 1)) {
    // Flips and rescales move the element (an anchor of another place, another size of output).
    throw new CamLensError('BAD_ARGUMENT', '--aug-smooth and multi-scale fusion explain classes; they are not available for --target or detector boxes.');
  }
  const fixed = params.classIndex !== undefined && !detector ? [params.classIndex] : undefined;
  const detectMs = performance.now() - t2;
  const base = await camsFor(model, ctx, params, info, cam, layers, output, inputTensor, input.size, fixed, topk, valueTargets);
  base.runMs += detectMs; // the detector's forward run, decode and NMS
  const classes = base.classes;
  const atSize = async (m: LoadedModel, t: PlainTensor, size: [number, number]) => {
    throwIfCancelled(ctx.signal, 'The explanation');
    const r = await camsFor(m, ctx, params, info, cam, layers, output, t, size, classes, topk);
    if (params.augSmooth) await augmentSmooth(r, (x) => camsFor(m, ctx, params, info, cam, layers, output, x, size, classes, topk), t, layout, size);
    return r;
  };
  if (params.augSmooth)
    await augmentSmooth(base, (x) => camsFor(model, ctx, params, info, cam, layers, output, x, input.size, classes, topk), inputTensor, layout, input.size);
  if (scales.length > 1 || scales[0] !== 1) {
    const flexibleModel = withFlexibleSpatialDims(model, layout);
    const perScale: Float32Array[][] = [];
    for (const scale of scales) {
      if (scale === 1) {
        perScale.push(base.maps.map((m) => m.final));
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
      perScale.push(r.maps.map((m) => resizeBilinear({ data: m.final, shape: [1, size[0], size[1]] }, input.size).data));
    }
    base.maps.forEach((m, i) => {
      const fused = fuseScales(
        perScale.map((maps) => ({ data: maps[i], shape: [1, input.size[0], input.size[1]] as const })),
        scaleWeights,
        { renormalize: true },
      );
      m.final = fused.data;
    });
  }
  let attention: AttentionRun | undefined;
  if (method === 'attention-gradcam') {
    attention = await attentionRollout(model, ctx, params, inputTensor, input.size, output);
    guideByAttention(base.maps, attention);
    base.runMs += attention.runMs;
  }
  const t3 = performance.now();

  const labels = config.labels;
  const regions = base.regions?.map((r) => ({ ...r, label: labels?.[r.class] ?? r.label }));
  const explanations: Explanation[] = [];
  for (const m of base.maps) {
    if (input.frames) {
      const T = input.frames.length;
      const pictures = await renderVideo(input.frames, m.final, (params.colormap ?? 'jet') as ColormapName, params.alpha ?? 0.5);
      const [, h, w] = m.raw.shape;
      explanations.push({
        classIndex: m.classIndex,
        label: m.label ?? labels?.[m.classIndex] ?? String(m.classIndex),
        target: m.target,
        cam: { data: m.final, height: input.size[0], width: input.size[1] },
        camRaw: { data: m.raw.data, height: h, width: w },
        overlayPng: pictures.stripPng,
        video: {
          frames: T,
          temporalWeights: temporalWeights({ data: m.final, shape: [T, input.size[0], input.size[1]] }),
          frameOverlaysPng: pictures.frameOverlaysPng,
          animatedGif: pictures.animatedGif,
        },
        ...(params.saveTensors ? { activation: m.activation, gradient: m.gradient } : {}),
      });
      continue;
    }
    const colormap = (params.colormap ?? 'jet') as ColormapName;
    // Image files: the map and its overlay on the original picture; a .npy has no other picture than its own.
    const onOriginal = input.original ? await overlayOnOriginal(input.original, m.final, colormap, params.alpha ?? 0.5, params.overlay !== false) : undefined;
    explanations.push({
      classIndex: m.classIndex,
      label: m.label ?? labels?.[m.classIndex] ?? String(m.classIndex),
      target: m.target,
      cam: { data: m.final, height: input.size[0], width: input.size[1] },
      ...(onOriginal ? { camImage: onOriginal.camImage } : {}),
      camRaw: { data: m.raw.data, height: m.raw.shape[1], width: m.raw.shape[2] },
      ...(params.overlay !== false ? { overlayPng: onOriginal?.png ?? (await overlayPng(input.rgb, m.final, colormap, params.alpha ?? 0.5)) } : {}),
      ...(params.saveTensors ? { activation: m.activation, gradient: m.gradient } : {}),
    });
  }
  if (detector)
    for (const e of explanations) {
      const at = detectionOfTarget(detector.detections, e.target);
      if (at !== undefined) e.detection = at;
    }
  const classCount = base.scores.length / inputTensor.dims[0];
  const scoreKind = scoreKindOf(model, output, base.scores, classCount, Boolean(params.softmaxTarget));
  const warnings = [...(sequence?.warnings ?? []), ...base.maps.flatMap((m) => m.warnings)];
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
    image: input.rgb,
    ...(input.original ? { original: input.original } : {}),
    ...(input.frames ? { frames: input.frames } : {}),
    ep: base.provider,
    fallbacks: base.fallbacks,
    timings_ms: { load: t1 - t0, preprocess: t2 - t1, run: base.runMs, cam: base.camMs + (t4 - t3), total: t4 - t0 },
    notes: {
      ...(params.augSmooth ? { augSmooth: `${AUGMENTATIONS.length} augmentations (flip x brightness 0.9/1.0/1.1)` } : {}),
      ...(scales.length > 1 || scales[0] !== 1 ? { scales: scales.join(','), scaleWeights: scaleWeights.join(',') } : {}),
      ...(base.channelRuns ? { channelRuns: base.channelRuns.runs, channelsSkipped: base.channelRuns.skipped } : {}),
      ...(attention ? rolloutNotes(params, attention) : {}),
      ...quantizationNotes(model.proto),
    },
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
