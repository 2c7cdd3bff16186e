// The explain pipeline of the input-space methods (cam/registry.ts, kind 'input-space'): one
// forward run for the predictions, then the method's batched runs per explained class, its
// attribution [C, H, W] (S.attr.npy) and the map made from it (S.cam.npy, the overlay) as for
// every method. Class targets of [N, K] scores only: the rows of a run are copies of one input,
// each fed the same one-hot cotangent.
import type { InputSpaceInfo } from '../cam/registry';
import { CamLensError } from '../errors';
import type { ColormapName } from '../image/colormap';
import { overlayOnOriginal, overlayPng } from '../image/overlay';
import { toPlanar } from '../metrics/perturb';
import { detectorLayout } from '../pipeline/detectorTargets';
import { checkClassIndex } from '../pipeline/gradientRun';
import { scoreOutput } from '../pipeline/camLayers';
import { loadModelInputReused } from '../pipeline/inputCache';
import { loadForExplain } from '../pipeline/modelAndConfig';
import { predictionsFrom, scoreKindOf, softmax, topIndices } from '../pipeline/predictions';
import { forwardRun } from '../pipeline/targetRun';
import { inputWarnings, mapWarnings } from '../pipeline/warnings';
import { budgetBytesOf, checkMemoryBudget, estimateMemory } from '../runtime/memoryBudget';
import { quantizationNotes } from '../surgery/floatTwin';
import type { ExplainContext, ExplainParams, ExplainResult, ExplainWarning, Explanation } from '../explainTypes';
import { attributionContext } from './batching';
import { DEFAULT_BASELINE, resolveBaseline } from './baselines';
import { IG_GAP_WARNING } from './integratedGradients';
import { ATTRIBUTIONS } from './methods';
import { attributionToMap } from './toMap';

/** Rows (path points, noisy copies, occluded or masked inputs) per model run unless --batch-size says. */
export const DEFAULT_ATTRIBUTION_BATCH = 16;

/** Options that choose something these methods cannot honour: refused rather than ignored. */
function checkParams(params: ExplainParams, method: string): void {
  const refuse = (what: string) => {
    throw new CamLensError('BAD_ARGUMENT', `${what} is not available with ${method} (an input-space attribution of a class score).`);
  };
  if (params.target) refuse('--target');
  if (params.box !== undefined || params.boxXyxy) refuse('--box');
  if (params.regionMask) refuse('--region-mask');
  if (params.scales && (params.scales.length > 1 || params.scales[0] !== 1)) refuse('Multi-scale fusion');
  if (params.augSmooth) refuse('--aug-smooth');
  if (params.eigenSmooth) refuse('--eigen-smooth');
}

export async function explainAttribution(params: ExplainParams, ctx: ExplainContext, info: InputSpaceInfo): Promise<ExplainResult> {
  const t0 = performance.now();
  checkParams(params, info.id);
  const { model, config } = loadForExplain(params.modelPath, params.configPath, params.labelsPath);
  const output = scoreOutput(model, params.output);
  const rank = model.shapes.get(output)?.shape?.length;
  if (detectorLayout(model, output, params) || (rank !== undefined && rank !== 2)) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `${info.id} explains class scores [N, K]; the output "${output}" is not one (rank ${rank}). Use a layer-CAM method.`,
    );
  }
  const t1 = performance.now();
  const input = await loadModelInputReused(params.input, model, config, { frames: params.frames });
  if (input.frames || input.dims.length !== 4)
    throw new CamLensError('BAD_ARGUMENT', `${info.id} explains image inputs [1, C, H, W]; this input is [${input.dims.join(', ')}].`);
  const batchSize = params.batchSize ?? DEFAULT_ATTRIBUTION_BATCH;
  checkMemoryBudget(estimateMemory(model, input.dims, batchSize, info.needsGradients), budgetBytesOf(params.provider), `Explaining ${params.input}`);
  const layout = config.input.layout;
  const t2 = performance.now();

  const runCtx = { sessions: ctx.sessions, provider: params.provider, signal: ctx.signal };
  const forward = await forwardRun(model, runCtx, { dtype: 'float32', dims: input.dims, data: input.tensor });
  const out = forward.outputs[output];
  const k = out.dims[out.dims.length - 1];
  const scores = Float32Array.from(out.data as ArrayLike<number>).subarray(0, k);
  const softmaxTarget = Boolean(params.softmaxTarget);
  const targetScores = softmaxTarget ? softmax(scores) : scores;
  let runMs = performance.now() - t2;
  if (params.classIndex !== undefined) checkClassIndex(params.classIndex, k);
  const classes = params.classIndex !== undefined ? [params.classIndex] : topIndices(scores, Math.max(1, params.topk ?? 1));

  const actx = attributionContext(model, runCtx, { output, classCount: k, softmax: softmaxTarget, layout, dims: input.dims, batchSize }, ctx.progress);
  const x = Float32Array.from(toPlanar({ data: input.tensor, dims: input.dims, layout }));
  let baseline: Promise<Float32Array> | undefined;
  const baselineOf = () => (baseline ??= resolveBaseline(params.baseline ?? DEFAULT_BASELINE, actx, x, model, config, params.seed ?? 0));

  const colormap = (params.colormap ?? 'jet') as ColormapName;
  const alpha = params.alpha ?? 0.5;
  const explanations: Explanation[] = [];
  const warnings: ExplainWarning[] = inputWarnings(input);
  let notes: Record<string, number | string> = {};
  let camMs = 0;
  for (const [i, classIndex] of classes.entries()) {
    if (i) ctx.progress?.(i, classes.length, `class ${classIndex}`);
    const tr = performance.now();
    const outcome = await ATTRIBUTIONS[info.id](actx, { x, classIndex, fx: targetScores[classIndex], baseline: baselineOf, params });
    const tm = performance.now();
    runMs += tm - tr;
    notes = outcome.notes;
    const { raw, final } = attributionToMap(outcome.attr, actx.c, actx.h, actx.w, info.toMap);
    // RISE's map is an expected score, negative for negative logits: only its normalised form says "empty".
    warnings.push(...mapWarnings({ layer: 'input', classIndex, lowres: info.toMap === 'mean' ? final : raw }));
    const gap = outcome.stats?.relative_gap;
    if (gap !== undefined && !(gap <= IG_GAP_WARNING)) {
      warnings.push({
        code: 'completeness-gap',
        message: `class ${classIndex}: Integrated Gradients' attributions sum to ${outcome.stats!.sum_attribution.toPrecision(4)} but f(input) − f(baseline) = ${(outcome.stats!.f_input - outcome.stats!.f_baseline).toPrecision(4)} (gap ${(gap * 100).toFixed(1)}%); the path integral is not converged: raise --ig-steps, or the baseline scores like the input.`,
      });
    }
    const onOriginal = input.original ? await overlayOnOriginal(input.original, final, colormap, alpha, params.overlay !== false) : undefined;
    explanations.push({
      classIndex,
      label: config.labels?.[classIndex] ?? String(classIndex),
      target: { value: output, index: [0, classIndex], score: targetScores[classIndex] },
      cam: { data: final, height: actx.h, width: actx.w },
      ...(onOriginal ? { camImage: onOriginal.camImage } : {}),
      camRaw: { data: raw, height: actx.h, width: actx.w },
      ...(params.overlay !== false ? { overlayPng: onOriginal?.png ?? (await overlayPng(input.rgb, final, colormap, alpha)) } : {}),
      attribution: { data: outcome.attr, dims: [actx.c, actx.h, actx.w] },
      ...(outcome.stats ? { attributionStats: outcome.stats } : {}),
    });
    camMs += performance.now() - tm;
  }
  const scoreKind = scoreKindOf(model, output, scores, k, softmaxTarget);
  const t3 = performance.now();
  return {
    model: params.modelPath,
    input: params.input,
    method: info.id,
    layers: [model.graph.inputs[0]],
    predictions: predictionsFrom(scores, config.labels, 5, scoreKind === 'probabilities'),
    scoreKind,
    warnings,
    explanations,
    image: input.rgb,
    ...(input.original ? { original: input.original } : {}),
    ep: actx.provider ?? forward.provider,
    fallbacks: actx.fallbacks ?? forward.fallbacks,
    timings_ms: { load: t1 - t0, preprocess: t2 - t1, session: 0, run: runMs, cam: camMs, total: t3 - t0 }, // session: filled in by explain()
    notes: {
      ...notes,
      rowsPerRun: actx.batchSize,
      ...(params.layers?.length ? { layers: `ignored: ${info.id} attributes to the input` } : {}),
      ...quantizationNotes(model.proto),
    },
  };
}
