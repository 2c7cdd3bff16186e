// The worker side of batch export: N images per onnxruntime run. Images are decoded and
// preprocessed concurrently (sharp works on libuv's thread pool), stacked into one [N, ...]
// input, and one forward+backward run of the gradient model gives every row's activations and
// per-row gradients (top-1 in-graph, or a fed one-hot cotangent per row). Every requested
// gradient method (and EigenCAM) is computed from that one run. Model runs are serialised per
// process (runLock) so a second request in flight is decoded (on the thread pool) while this one
// runs; onnxruntime-node's run() holds the JS thread, so CAM math and overlays take turns with
// the runs. What cannot be batched (Score-CAM/Ablation-CAM, aug-smooth, multi-scale, top-k > 1,
// saved tensors, a model with a fixed batch of 1 and N > 1) goes through explain() per image;
// of a mix of methods, the stackable ones still share the stacked run, and a method failing on
// an image is that method's error row, not the image's.
import { camOptionsOf } from '../cam/base';
import { aggregateLayers, reluMaps } from '../cam/postprocess';
import { isBatchable, layerCam } from '../cam/registry';
import type { Maps } from '../cam/tensor';
import { CamLensError, isCamLensError, isCancellation, throwIfCancelled } from '../errors';
import { explain } from '../explain';
import { resolveModelConfig, type ModelConfig } from '../image/config';
import type { ColormapName } from '../image/colormap';
import { overlayOnOriginal, overlayPng } from '../image/overlay';
import { inputWarnings, mapWarnings } from '../pipeline/warnings';
import type { LoadedModel } from '../model';
import type { GradientModelSpec } from '../pipeline/gradientModel';
import { runGradient, requireClassCount, staticClassCount, type GradientRun } from '../pipeline/gradientRun';
import { camLayers, scoreOutput } from '../pipeline/camLayers';
import { detectorLayout } from '../pipeline/detectorTargets';
import { reportedDetection } from '../detection/detections';
import { loadModelInput, type ModelInput } from '../pipeline/input';
import { loadForExplain } from '../pipeline/modelAndConfig';
import { budgetBytesOf, checkMemoryBudget, estimateMemory } from '../runtime/memoryBudget';
import { detectLayout, layerFeatureMaps, layerTokenGrid } from '../pipeline/layout';
import { predictionsFrom, scoreKindOf, topIndices } from '../pipeline/predictions';
import type { PlainTensor } from '../runtime/tapRunner';
import type { CamMethodName, ExplainContext, ExplainResult } from '../explainTypes';
import type { BatchMetricsProvider } from './metricsHook';
import { writeMapFiles, writeMapFilesNow, writtenMap } from './outputs';
import { isWritten, type BatchItem, type BatchItemTimings, type BatchMap, type ExplainBatchParams, type ExplainBatchResult } from './types';

/** What the batch is lent besides the explain context: the metrics seam (see metricsHook.ts). */
export interface BatchContext extends ExplainContext {
  /** Computes the requested metrics per row; a request for metrics without one fails up front. */
  metrics?: BatchMetricsProvider;
}

let runChain: Promise<unknown> = Promise.resolve();
/** One model run at a time in this process; the caller's other work overlaps it. */
function runLocked<T>(fn: () => Promise<T>): Promise<T> {
  const next = runChain.then(fn, fn);
  runChain = next.catch(() => undefined);
  return next;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}

const errorOf = (e: unknown): { code: string; message: string } => ({
  code: isCamLensError(e)
    ? e.code
    : (e as { code?: string }).code && typeof (e as { code?: unknown }).code === 'string'
      ? String((e as { code: string }).code)
      : 'INTERNAL',
  message: (e as Error)?.message ?? String(e),
});

/** Whether a model's first input takes any batch size (its batch dim is symbolic). */
export function hasSymbolicBatch(model: LoadedModel): boolean {
  const shape = model.shapes.get(model.graph.inputs[0])?.shape;
  return !shape || typeof shape[0] !== 'number' || shape[0] !== 1;
}

/** [B, C, T, H, W] input: every input of the batch is a clip. */
export function isVideoModel(model: LoadedModel): boolean {
  return model.shapes.get(model.graph.inputs[0])?.shape?.length === 5;
}

/** Options one stacked run can serve (the methods aside: each is checked with isBatchable). */
function optionsStack(p: ExplainBatchParams): boolean {
  return !p.augSmooth && !p.saveTensors && (p.topk ?? 1) <= 1 && (!p.scales || (p.scales.length === 1 && p.scales[0] === 1)) && !namesItsOwnTarget(p);
}

export function canBatch(p: ExplainBatchParams): boolean {
  return p.methods.every(isBatchable) && optionsStack(p);
}

/**
 * Targets other than a class of the score output (an element of a value, detections, predicted
 * regions, embeddings, sequences): explain() resolves them per image, so such a batch goes one
 * image at a time through it.
 */
function namesItsOwnTarget(p: ExplainBatchParams): boolean {
  return Boolean(p.target || p.box !== undefined || p.boxXyxy || p.allBoxes || p.embedding || p.sequence || p.region === 'predicted');
}

export async function explainBatch(p: ExplainBatchParams, ctx: BatchContext): Promise<ExplainBatchResult> {
  if (p.outputPrefixes && p.outputPrefixes.length !== p.inputs.length)
    throw new CamLensError('BAD_ARGUMENT', `explainBatch: ${p.inputs.length} inputs but ${p.outputPrefixes.length} output prefixes.`);
  const result = await explainBatchMaps(p, ctx);
  if (p.outputPrefixes) await writeItemFiles(result.items, p.methods, p.outputPrefixes, result.ep === 'cpu');
  return result;
}

/**
 * Writes every ok item's map files where outputPrefixes says and leaves written maps in their
 * place. A method whose files cannot be written (a full disk) becomes that method's error: the
 * runner writes no S.json for it, so the image is not taken as done (--resume explains it again).
 * `onThisThread` (writeMapFilesNow) when the CPU runs the model: its runs fill the cores, and the
 * pool thread woken for each call (four per file) only took CPU from them (ResNet-50 224², batch 1,
 * two workers: 34.4 → 35.9 images/s). With a GPU the cores are free while it runs, and the pool's
 * writes overlap the next run instead of adding to it.
 */
async function writeItemFiles(items: BatchItem[], methods: readonly CamMethodName[], prefixes: readonly string[][], onThisThread: boolean): Promise<void> {
  await Promise.all(
    items.map(async (item, i) => {
      if (!item.ok) return;
      const ws = performance.now();
      const errors = [...(item.methodErrors ?? [])];
      const written = await Promise.all(
        methods.map(async (method, mi) => {
          const maps = item.maps.filter((m): m is BatchMap => m.method === method && !isWritten(m));
          if (!maps.length) return [];
          try {
            if (onThisThread) writeMapFilesNow(prefixes[i][mi], maps, Boolean(item.detections));
            else await writeMapFiles(prefixes[i][mi], maps, Boolean(item.detections));
            return maps.map(writtenMap);
          } catch (e) {
            errors.push({ method, code: errorOf(e).code, message: `writing outputs failed: ${errorOf(e).message}` });
            return [];
          }
        }),
      );
      item.maps = written.flat();
      if (errors.length) item.methodErrors = errors;
      item.timings_ms.write = performance.now() - ws;
    }),
  );
}

async function explainBatchMaps(p: ExplainBatchParams, ctx: BatchContext): Promise<ExplainBatchResult> {
  const t0 = performance.now();
  if (!p.methods?.length) throw new CamLensError('BAD_ARGUMENT', 'explainBatch: no method given.');
  if (p.classes && p.classes.length !== p.inputs.length)
    throw new CamLensError('BAD_ARGUMENT', `explainBatch: ${p.inputs.length} inputs but ${p.classes.length} classes.`);
  const { model } = loadForExplain(p.modelPath, p.configPath, p.labelsPath);
  if (p.metrics?.length && isVideoModel(model)) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Metrics (${p.metrics.join(', ')}) are defined for image models; this is a video model ([B, C, T, H, W] input). Run the batch without --metrics.`,
    );
  }
  if (p.metrics?.length && !ctx.metrics) {
    throw new CamLensError('BAD_ARGUMENT', `Metrics (${p.metrics.join(', ')}) were requested but no metrics provider is available in this build.`);
  }
  // Video models go one clip per run: a clip already is T frames of work, and stacking clips
  // would need every clip sampled to one T plus a per-row [T, H, W] aggregation that explain()
  // already does for one clip.
  // A detector's default target is its best detection, which only explain() finds. --box on a
  // model that is no detector fails the batch here, not every image on its own.
  const isDetector = () => detectorLayout(model, scoreOutput(model, p.output), p) !== undefined;
  if (p.box !== undefined || p.boxXyxy || p.allBoxes) isDetector();
  if (isVideoModel(model) || !optionsStack(p) || (!hasSymbolicBatch(model) && p.inputs.length > 1) || isDetector()) return explainEach(p, model, ctx, t0);
  // The methods one stacked run serves take it; the others (channel runs, attention, ...) go
  // image by image, and do not take the stackable ones down that slower road with them.
  const stacked = p.methods.filter(isBatchable);
  const each = p.methods.filter((m) => !isBatchable(m));
  if (!each.length) return explainBatched(p, model, ctx, t0);
  if (!stacked.length) return explainEach(p, model, ctx, t0);
  const together = await explainBatched({ ...p, methods: stacked }, model, ctx, t0);
  const apart = await explainEach({ ...p, methods: each }, model, ctx, performance.now());
  return mergeResults(together, apart, stacked, each);
}

/** One image's item from two runs over different methods: the maps of both, each run's failure as its methods' errors. */
export function mergeItems(a: BatchItem, b: BatchItem, aMethods: readonly CamMethodName[], bMethods: readonly CamMethodName[]): BatchItem {
  const failedAs = (methods: readonly CamMethodName[], error: { code: string; message: string }) => methods.map((method) => ({ method, ...error }));
  if (!a.ok && !b.ok) return a;
  if (!a.ok) return b.ok ? { ...b, methodErrors: [...failedAs(aMethods, a.error), ...(b.methodErrors ?? [])] } : b;
  if (!b.ok) return { ...a, methodErrors: [...(a.methodErrors ?? []), ...failedAs(bMethods, b.error)] };
  const sum = (k: keyof BatchItemTimings) => (a.timings_ms[k] ?? 0) + (b.timings_ms[k] ?? 0);
  const errors = [...(a.methodErrors ?? []), ...(b.methodErrors ?? [])];
  return {
    ...a,
    maps: [...a.maps, ...b.maps],
    timings_ms: {
      preprocess: sum('preprocess'),
      run: sum('run'),
      cam: sum('cam'),
      overlay: sum('overlay'),
      ...(a.timings_ms.metrics !== undefined || b.timings_ms.metrics !== undefined ? { metrics: sum('metrics') } : {}),
    },
    notes: { ...a.notes, ...b.notes },
    warnings: [...(a.warnings ?? []), ...(b.warnings ?? [])],
    ...(errors.length ? { methodErrors: errors } : {}),
  };
}

function mergeResults(
  a: ExplainBatchResult,
  b: ExplainBatchResult,
  aMethods: readonly CamMethodName[],
  bMethods: readonly CamMethodName[],
): ExplainBatchResult {
  const t = (k: keyof ExplainBatchResult['timings_ms']) => a.timings_ms[k] + b.timings_ms[k];
  return {
    items: a.items.map((item, i) => mergeItems(item, b.items[i], aMethods, bMethods)),
    ep: a.ep || b.ep,
    batched: a.batched,
    runSizes: [...a.runSizes, ...b.runSizes],
    timings_ms: { load: t('load'), preprocess: t('preprocess'), run: t('run'), cam: t('cam'), overlay: t('overlay'), total: t('total') },
  };
}

/**
 * Metrics for the one-at-a-time path (Score-CAM, aug-smooth, ...): explain() does not hand back
 * its preprocessed input, so it is prepared again here (a decode; small next to those methods'
 * own cost) rather than leaving the requested columns out.
 */
async function metricsForEach(
  p: ExplainBatchParams,
  model: LoadedModel,
  ctx: BatchContext,
  file: string,
  first: ExplainResult,
  maps: BatchMap[],
): Promise<number> {
  const t0 = performance.now();
  const provider = ctx.metrics!; // checked in explainBatch
  const config = resolveModelConfig(p.modelPath, model.proto, p.configPath, p.labelsPath);
  const input = await loadModelInput(file, model, config);
  for (const m of maps) {
    m.metrics = await provider.compute(p.metrics!, {
      model,
      sessions: ctx.sessions,
      params: p,
      file,
      input,
      method: m.method,
      classIndex: m.classIndex,
      cam: m.cam.data,
      predictions: first.predictions,
      signal: ctx.signal,
    });
  }
  return performance.now() - t0;
}

/** The fallback: explain() per image and method (Score-CAM, aug-smooth, fixed batch...). */
async function explainEach(p: ExplainBatchParams, model: LoadedModel, ctx: BatchContext, t0: number): Promise<ExplainBatchResult> {
  const items: BatchItem[] = [];
  let ep = '';
  const totals = { load: 0, preprocess: 0, run: 0, cam: 0, overlay: 0, total: 0 };
  for (const [i, input] of p.inputs.entries()) {
    throwIfCancelled(ctx.signal, 'The batch');
    const cls = p.classes?.[i] ?? p.classIndex ?? undefined;
    try {
      // One method's failure (an attention method on a CNN) is that method's error, not the image's.
      const results: ExplainResult[] = [];
      const methodErrors: Array<{ method: CamMethodName; code: string; message: string }> = [];
      for (const method of p.methods) {
        try {
          results.push(await explain({ ...p, input, method, classIndex: cls ?? undefined, overlay: true }, ctx));
        } catch (e) {
          if (isCancellation(e) || p.methods.length === 1) throw e;
          methodErrors.push({ method, ...errorOf(e) });
        }
      }
      if (!results.length) {
        items.push({ input, ok: false, error: { code: methodErrors[0].code, message: methodErrors.map((m) => `${m.method}: ${m.message}`).join(' | ') } });
        continue;
      }
      const first = results[0];
      ep = first.ep;
      const sum = (k: keyof ExplainResult['timings_ms']) => results.reduce((a, r) => a + r.timings_ms[k], 0);
      totals.load += sum('load');
      totals.preprocess += sum('preprocess');
      totals.run += sum('run');
      totals.cam += sum('cam');
      const maps = results.flatMap((r) =>
        r.explanations.map((e): BatchMap => ({
          method: r.method,
          classIndex: e.classIndex,
          label: e.label,
          cam: e.cam,
          ...(e.camImage ? { camImage: e.camImage } : {}),
          camRaw: e.camRaw,
          overlayPng: e.overlayPng!, // asked for above
          ...(e.attribution ? { attribution: e.attribution } : {}),
          ...(e.concepts ? { concepts: e.concepts } : {}),
          ...(e.target ? { target: e.target } : {}),
          ...(e.detection !== undefined ? { detection: e.detection } : {}),
          // Per-frame overlay PNGs stay behind: a batch writes the strip and the animation only.
          ...(e.video ? { video: { frames: e.video.frames, temporalWeights: e.video.temporalWeights, animatedGif: e.video.animatedGif } } : {}),
        })),
      );
      const metricsMs = p.metrics?.length ? await metricsForEach(p, model, ctx, input, first, maps) : undefined;
      items.push({
        input,
        ok: true,
        layers: first.layers,
        predictions: first.predictions,
        maps,
        timings_ms: { preprocess: sum('preprocess'), run: sum('run'), cam: sum('cam'), overlay: 0, ...(metricsMs !== undefined ? { metrics: metricsMs } : {}) },
        notes: Object.assign({}, ...results.map((r) => r.notes)),
        scoreKind: first.scoreKind,
        warnings: results.flatMap((r) => r.warnings.map((w) => ({ ...w, method: r.method }))),
        ...(first.original ? { geometry: first.original.geometry } : {}),
        ...(methodErrors.length ? { methodErrors } : {}),
        ...(first.detections ? { detections: first.detections.map(reportedDetection) } : {}),
      });
    } catch (e) {
      if (isCancellation(e)) throw e;
      items.push({ input, ok: false, error: errorOf(e) });
    }
  }
  totals.total = performance.now() - t0;
  return { items, ep, batched: false, runSizes: p.inputs.map(() => 1), timings_ms: totals };
}

interface Prepared {
  index: number;
  input: ModelInput;
  ms: number;
}

async function explainBatched(p: ExplainBatchParams, model: LoadedModel, ctx: BatchContext, t0: number): Promise<ExplainBatchResult> {
  const config = resolveModelConfig(p.modelPath, model.proto, p.configPath, p.labelsPath);
  const output = scoreOutput(model, p.output);
  const layers = camLayers(model, p.layers, output);
  const cams = p.methods.map((m) => ({ id: m, cam: layerCam(m).create() }));
  const t1 = performance.now();

  const items: BatchItem[] = new Array(p.inputs.length);
  const prepared: Prepared[] = [];
  await mapLimit(p.inputs, p.jobs ?? 4, async (file, index) => {
    throwIfCancelled(ctx.signal, 'The batch');
    const s = performance.now();
    try {
      prepared.push({ index, input: await loadModelInput(file, model, config), ms: performance.now() - s });
    } catch (e) {
      items[index] = { input: file, ok: false, error: errorOf(e) };
    }
  });
  prepared.sort((a, b) => a.index - b.index);
  const t2 = performance.now();
  // Rows must stack: a .npy of another size is an error of that row, not of the batch.
  const ref = prepared[0]?.input.dims.slice(1).join(',');
  const rows = prepared.filter((r) => {
    if (r.input.dims.slice(1).join(',') === ref && r.input.dims[0] === 1) return true;
    items[r.index] = {
      input: p.inputs[r.index],
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: `${p.inputs[r.index]}: input shape [${r.input.dims.join(', ')}] differs from the batch's [1, ${ref}].` },
    };
    return false;
  });
  const classOf = (r: Prepared): number | null => p.classes?.[r.index] ?? p.classIndex ?? null;
  // Known or not: rows with a fixed class are checked where it is known and fail below where it is not.
  const k = staticClassCount(model, output);
  for (const r of rows) {
    const c = classOf(r);
    if (c !== null && k !== undefined && (!Number.isInteger(c) || c < 0 || c >= k)) {
      items[r.index] = {
        input: p.inputs[r.index],
        ok: false,
        error: { code: 'BAD_ARGUMENT', message: `Class ${c} is out of range: the model has ${k} classes (0–${k - 1}).` },
      };
    }
  }
  // Top-1 rows and fixed-class rows need different graphs: one run each.
  const groups = [rows.filter((r) => !items[r.index] && classOf(r) === null), rows.filter((r) => !items[r.index] && classOf(r) !== null)];
  let ep = '';
  const totals = { load: t1 - t0, preprocess: t2 - t1, run: 0, cam: 0, overlay: 0, total: 0 };
  const runSizes: number[] = [];
  const labels = config.labels;
  const pending: Array<Promise<void>> = [];
  for (const [g, group] of groups.entries()) {
    if (!group.length) continue;
    throwIfCancelled(ctx.signal, 'The batch');
    const fed = g === 1;
    const spec: GradientModelSpec = { output, layers, softmax: Boolean(p.softmaxTarget), top1InGraph: !fed };
    const stacked = stack(group.map((r) => r.input));
    const rs = performance.now();
    let run: GradientRun;
    try {
      const target = fed ? { classes: group.map((r) => classOf(r)!), classCount: requireClassCount(model, output) } : undefined;
      checkMemoryBudget(estimateMemory(model, stacked.dims, group.length, true), budgetBytesOf(p.provider), `A batch of ${group.length} images`);
      run = await runLocked(() => runGradient(model, { sessions: ctx.sessions, provider: p.provider, signal: ctx.signal }, spec, stacked, target));
    } catch (e) {
      returnStack(stacked);
      if (isCancellation(e) || !isCamLensError(e)) throw e;
      for (const r of group) items[r.index] = { input: p.inputs[r.index], ok: false, error: errorOf(e) };
      continue;
    }
    returnStack(stacked);
    const runMs = performance.now() - rs;
    totals.run += runMs;
    runSizes.push(group.length);
    ep = run.provider;
    const cs = performance.now();
    const n = group.length;
    const kk = run.scores.length / n;
    const classes = group.map((r, i) => classOf(r) ?? topIndices(run.scores.subarray(i * kk, (i + 1) * kk), 1)[0]);
    const size = group[0].input.size;
    const layouts = Object.fromEntries(layers.map((l) => [l, detectLayout(l, run.activations[l].dims, size)]));
    const grids = Object.fromEntries(layers.map((l) => [l, layerTokenGrid(model, l, layouts[l], run.activations[l].dims, size)]));
    const perMethod = cams.map(({ id, cam }) => {
      const lowres: Maps[] = layers.map(
        (l) =>
          cam.lowres(
            {
              activations: layerFeatureMaps(run.activations[l], layouts[l], grids[l]),
              gradients: cam.needsGradients ? layerFeatureMaps(run.gradients[l], layouts[l], grids[l]) : undefined,
            },
            camOptionsOf(p),
          ).lowres,
      );
      // Each row's warnings, from its slice of every layer's map and gradient.
      const warnings = group.map((_, i) =>
        layers.flatMap((l, j) => {
          const slice = (d: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }) =>
            d.subarray((i * d.length) / n, ((i + 1) * d.length) / n);
          const grad = cam.needsGradients ? (run.gradients[l].data as Float32Array) : undefined;
          return mapWarnings({
            layer: l,
            classIndex: classes[i],
            lowres: slice(lowres[j].data),
            gradient: grad && slice(grad),
            activation: slice(run.activations[l].data as Float32Array),
          });
        }),
      );
      return { id, final: aggregateLayers(lowres, size), raw: reluMaps(lowres[0]), warnings };
    });
    const camMs = performance.now() - cs;
    totals.cam += camMs;
    // Each row's overlay and metrics, awaited at the end: the next group's run is not held up by them.
    pending.push(
      ...group
        .map(async (r, i) => {
          const rowScores = run.scores.subarray(i * kk, (i + 1) * kk);
          const scoreKind = scoreKindOf(model, output, rowScores, kk, Boolean(p.softmaxTarget));
          const predictions = predictionsFrom(rowScores, labels, 5, scoreKind === 'probabilities');
          const os = performance.now();
          const [H, W] = size;
          const maps: BatchMap[] = await Promise.all(
            perMethod.map(async (m) => {
              const [, h, w] = m.raw.shape;
              const cam = m.final.data.slice(i * H * W, (i + 1) * H * W);
              const colormap = (p.colormap ?? 'jet') as ColormapName;
              const onOriginal = r.input.original ? await overlayOnOriginal(r.input.original, cam, colormap, p.alpha ?? 0.5) : undefined;
              return {
                method: m.id,
                classIndex: classes[i],
                label: labels?.[classes[i]] ?? String(classes[i]),
                cam: { data: cam, height: H, width: W },
                ...(onOriginal ? { camImage: onOriginal.camImage } : {}),
                camRaw: { data: m.raw.data.slice(i * h * w, (i + 1) * h * w), height: h, width: w },
                overlayPng: onOriginal?.png ?? (await overlayPng(r.input.rgb, cam, colormap, p.alpha ?? 0.5)),
              };
            }),
          );
          const overlayMs = performance.now() - os;
          let metricsMs: number | undefined;
          if (p.metrics?.length) {
            const ms = performance.now();
            const provider = ctx.metrics!; // checked in explainBatch
            for (const m of maps) {
              m.metrics = await provider.compute(p.metrics, {
                model,
                sessions: ctx.sessions,
                params: p,
                file: p.inputs[r.index],
                input: r.input,
                method: m.method,
                classIndex: m.classIndex,
                cam: m.cam.data,
                predictions,
                signal: ctx.signal,
              });
            }
            metricsMs = performance.now() - ms;
          }
          totals.overlay += overlayMs;
          items[r.index] = {
            input: p.inputs[r.index],
            ok: true,
            layers,
            predictions,
            maps,
            timings_ms: { preprocess: r.ms, run: runMs / n, cam: camMs / n, overlay: overlayMs, ...(metricsMs !== undefined ? { metrics: metricsMs } : {}) },
            scoreKind,
            warnings: [...inputWarnings(r.input), ...perMethod.flatMap((m) => m.warnings[i].map((w) => ({ ...w, method: m.id })))],
            ...(r.input.original ? { geometry: r.input.original.geometry } : {}),
          };
        })
        .map((pr, i) =>
          pr.catch((e) => {
            items[group[i].index] = { input: p.inputs[group[i].index], ok: false, error: errorOf(e) };
          }),
        ),
    );
  }
  await Promise.all(pending);
  totals.total = performance.now() - t0;
  return { items, ep, batched: true, runSizes, timings_ms: totals };
}

/**
 * Stacked inputs are [N, C, H, W] buffers of several MB (9.6 MB for 16 images at 224²), above
 * the worker's malloc mmap threshold: a fresh one per batch faults all its pages in again (~20 ms
 * per batch of 16 here). The last two are kept and reused; a buffer is lent for one model run.
 */
const spareStacks: Float32Array[] = [];

function stack(inputs: ModelInput[]): PlainTensor {
  const per = inputs[0].tensor.length;
  const length = per * inputs.length;
  const at = spareStacks.findIndex((b) => b.length === length);
  const data = at >= 0 ? spareStacks.splice(at, 1)[0] : new Float32Array(length);
  inputs.forEach((x, i) => data.set(x.tensor, i * per));
  return { dtype: 'float32', dims: [inputs.length, ...inputs[0].dims.slice(1)], data };
}

/** Gives a stacked input back once its run is over (nothing keeps it: the maps come from the run's outputs). */
function returnStack(t: PlainTensor): void {
  spareStacks.unshift(t.data as Float32Array);
  spareStacks.length = Math.min(spareStacks.length, 2);
}

export type { ModelConfig };
