// One image's evaluation: explain it (or take an explanation already made), then compute the
// requested metric families on the final map, each beside a seeded random-map baseline.
// Model runs are batched: every perturbed input of the faithfulness family goes through the
// model in chunks of `metricsBatchSize` (one run per chunk when the batch dim is symbolic).
// Used by the worker (`evaluate`), `camlens evaluate` and the batch export (via the flat
// `metrics` record).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resizeBilinear, minMaxInPlace } from '../cam/postprocess';
import { CamLensError, throwIfCancelled } from '../errors';
import { explain, type ExplainContext } from '../explain';
import { decodeImage } from '../image/decode';
import { sidecarPathOf } from '../image/config';
import { loadModel, type LoadedModel } from '../model';
import { writeNpy } from '../npy';
import { serializeModel } from '../onnx/io';
import { loadModelInputReused } from '../pipeline/inputCache';
import { loadForExplain } from '../pipeline/modelAndConfig';
import { modelKeyOf, runWithTaps } from '../runtime/tapRunner';
import type { ExplainParams, ExplainResult } from '../explainTypes';
import { planFaithfulness, type FaithfulnessOutcome } from './faithfulness';
import { findGroundTruth, rasteriseGroundTruth } from './groundTruth';
import { DEFAULT_THRESHOLD, localisation, parseThreshold } from './localisation';
import type { BaselineKind, ImageTensor } from './perturb';
import { layersAfter, randomiseInitializers } from './randomisation';
import { DEFAULT_STABILITY_DRAWS, DEFAULT_STABILITY_SIGMA, noisyInputs, stabilityScores } from './stability';
import { rng, spearman } from './stats';

export type MetricFamily = 'localisation' | 'deletion' | 'confidence' | 'road' | 'stability' | 'sanity' | 'random';
export const METRIC_FAMILIES: readonly MetricFamily[] = ['localisation', 'deletion', 'confidence', 'road', 'stability', 'sanity', 'random'];
/** What runs when --metrics is not given: everything but the slow ROAD and sanity families. */
export const DEFAULT_METRICS: readonly MetricFamily[] = ['localisation', 'deletion', 'confidence', 'stability', 'random'];

export interface EvaluateOptions {
  metrics?: MetricFamily[];
  /** Ground-truth file or folder (default: S.mask.png / S_mask.png / labels.json beside the image). */
  gt?: string;
  /** IoU (and region-confidence) threshold: "fixed:0.5" (default), "topk:20", "otsu". */
  threshold?: string;
  topK?: number;
  pointingTolerance?: number;
  steps?: number;
  deletionBaseline?: BaselineKind;
  insertionBaseline?: BaselineKind;
  blurSigma?: number;
  roadPercentiles?: number[];
  stabilityDraws?: number;
  /** Noise σ as a fraction of the input tensor's range (default 0.01). */
  stabilitySigma?: number;
  /** Re-randomise one layer more per step (cascading) instead of all at once. */
  sanityCascade?: boolean;
  seed?: number;
  /** Perturbed inputs per model run (default 32). */
  metricsBatchSize?: number;
}

export interface EvaluateParams extends ExplainParams, EvaluateOptions {}

export interface EvaluateResult {
  model: string;
  input: string;
  method: string;
  layers: string[];
  classIndex: number;
  label: string;
  ep: string;
  /**
   * Flat named numbers (summary.csv columns): iou, pointing_game, energy_in_mask,
   * topk_intersection, deletion_auc, insertion_auc, confidence_change, confidence_drop,
   * confidence_increase, region_confidence, road_morf, road_lerf, road_combined, stability,
   * max_sensitivity, sanity_spearman, and random_<key> for the random-map baseline.
   */
  metrics: Record<string, number>;
  groundTruth: { kind: 'mask' | 'bbox'; source: string } | null;
  curves: { deletion?: number[]; insertion?: number[]; random_deletion?: number[]; random_insertion?: number[] };
  /** How each figure was made: thresholds, baselines, seeds, σ, the layers randomised. */
  details: Record<string, string | number | number[] | Array<{ layer: string; spearman: number }>>;
  /** Forward runs for perturbed inputs plus extra explanations (stability, sanity). */
  modelRuns: { perturbation: number; explanations: number; imagesScored: number };
  timings_ms: Record<string, number>;
}

function softmaxRow(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]);
  const e = Float64Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const looksLikeProbabilities = (row: ArrayLike<number>): boolean => {
  let s = 0;
  for (let i = 0; i < row.length; i++) {
    if (row[i] < 0 || row[i] > 1) return false;
    s += row[i];
  }
  return Math.abs(s - 1) < 1e-3;
};

/** Target-class probabilities of many inputs, in batched runs. */
async function scoreInputs(
  model: LoadedModel,
  ctx: ExplainContext,
  params: ExplainParams,
  output: string,
  dims: number[],
  images: Float32Array[],
  classIndex: number,
  batchSize: number,
): Promise<{ probs: number[]; runs: number }> {
  const name = model.graph.inputs[0];
  const fixedBatch = typeof model.shapes.get(name)?.shape?.[0] === 'number';
  const chunk = fixedBatch ? 1 : Math.max(1, batchSize);
  const per = images[0].length;
  const probs: number[] = [];
  let runs = 0;
  let probabilitiesAlready: boolean | undefined;
  for (let start = 0; start < images.length; start += chunk) {
    throwIfCancelled(ctx.signal, 'The evaluation');
    const n = Math.min(chunk, images.length - start);
    const data = new Float32Array(n * per);
    for (let i = 0; i < n; i++) data.set(images[start + i], i * per);
    const r = await runWithTaps(
      model,
      ctx.sessions,
      { [name]: { dtype: 'float32', dims: [n, ...dims.slice(1)], data } },
      { taps: [], stats: false, tensors: false, provider: params.provider, purpose: 'metrics', signal: ctx.signal },
    );
    runs++;
    const out = r.outputs[output].data as Float32Array;
    const k = out.length / n;
    for (let i = 0; i < n; i++) {
      const row = out.subarray(i * k, (i + 1) * k);
      probabilitiesAlready ??= looksLikeProbabilities(row);
      probs.push(probabilitiesAlready ? row[classIndex] : softmaxRow(row)[classIndex]);
    }
  }
  return { probs, runs };
}

/** A random map at the layer's resolution, upsampled like a CAM and min-max scaled. */
export function randomMap(lowH: number, lowW: number, size: [number, number], seed: number): Float32Array {
  const u = rng(seed);
  const low = Float32Array.from({ length: lowH * lowW }, () => u());
  const up = resizeBilinear({ data: low, shape: [1, lowH, lowW] }, size).data;
  minMaxInPlace(up);
  return up;
}

/** Random maps averaged for the localisation baseline (no model runs, so cheap). */
export const RANDOM_LOCALISATION_DRAWS = 16;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'camlens-eval-'));
}

export async function evaluateExplanation(params: EvaluateParams, ctx: ExplainContext, explained?: ExplainResult): Promise<EvaluateResult> {
  const t0 = performance.now();
  const families = new Set(params.metrics?.length ? params.metrics : DEFAULT_METRICS);
  for (const f of families) {
    if (!METRIC_FAMILIES.includes(f)) throw new CamLensError('BAD_ARGUMENT', `Unknown metric family "${f}"; choose from ${METRIC_FAMILIES.join(', ')}.`);
  }
  const seed = params.seed ?? 0;
  const timings: Record<string, number> = {};
  const progress = (phase: string, done: number, total: number) => ctx.progress?.(done, total, phase);
  const base = explained ?? (await explain({ ...params, topk: undefined }, { ...ctx, progress: undefined }));
  timings.explain = performance.now() - t0;
  const e = base.explanations[0];
  const classIndex = e.classIndex;
  const { model, config } = loadForExplain(params.modelPath, params.configPath, params.labelsPath);
  const output = params.output ?? model.graph.outputs[0];
  const input = await loadModelInputReused(params.input, model, config);
  const size = input.size;
  const map = e.cam.data;
  const tensor: ImageTensor = { data: input.tensor, dims: input.dims, layout: config.input.layout };
  const withRandom = families.has('random');
  // Each image gets its own random maps (one fixed map would point at the same pixel on every
  // image); the seed is derived from the base seed and the file name, and reported.
  const randomSeed = seed + 1000 + (fnv1a(path.basename(params.input)) % 1_000_000);
  const rmap = randomMap(e.camRaw.height, e.camRaw.width, size, randomSeed);
  const metrics: Record<string, number> = {};
  const details: EvaluateResult['details'] = {
    seed,
    random_map: `uniform at ${e.camRaw.height}x${e.camRaw.width}, bilinear to ${size[0]}x${size[1]}, seeds ${randomSeed}..${randomSeed + RANDOM_LOCALISATION_DRAWS - 1} (localisation: mean of ${RANDOM_LOCALISATION_DRAWS}; faithfulness: the first)`,
  };
  const curves: EvaluateResult['curves'] = {};
  const runs = { perturbation: 0, explanations: explained ? 0 : 1, imagesScored: 0 };
  const threshold = params.threshold ? parseThreshold(params.threshold) : DEFAULT_THRESHOLD;

  // Localisation.
  let groundTruth: EvaluateResult['groundTruth'] = null;
  if (families.has('localisation')) {
    const t = performance.now();
    const gt = findGroundTruth(params.input, params.gt);
    if (gt) {
      groundTruth = { kind: gt.kind, source: gt.source };
      const original = path.extname(params.input).toLowerCase() === '.npy' ? { width: size[1], height: size[0] } : await decodeImage(params.input);
      const mask = await rasteriseGroundTruth(gt, original, size, config.input.resize);
      const opts = { threshold, topK: params.topK, pointingTolerance: params.pointingTolerance };
      const loc = localisation(map, mask, size[1], opts);
      Object.assign(metrics, loc.scores);
      details.threshold = loc.threshold;
      details.topk = loc.topK;
      details.gt_pixels = mask.reduce((a, b) => a + b, 0);
      if (withRandom) {
        const sums: Record<string, number> = {};
        for (let d = 0; d < RANDOM_LOCALISATION_DRAWS; d++) {
          const m = d === 0 ? rmap : randomMap(e.camRaw.height, e.camRaw.width, size, randomSeed + d);
          for (const [k, v] of Object.entries(localisation(m, mask, size[1], opts).scores)) sums[k] = (sums[k] ?? 0) + v;
        }
        for (const [k, v] of Object.entries(sums)) metrics[`random_${k}`] = v / RANDOM_LOCALISATION_DRAWS;
      }
    } else {
      details.localisation = 'skipped: no ground truth (S.mask.png, S_mask.png, labels.json beside the image, or --gt)';
    }
    timings.localisation = performance.now() - t;
  }

  // Faithfulness: one plan per map, all inputs scored together.
  const wantCurves = families.has('deletion'),
    wantConfidence = families.has('confidence'),
    wantRoad = families.has('road');
  if (wantCurves || wantConfidence || wantRoad) {
    const t = performance.now();
    const fopts = {
      steps: params.steps,
      deletionBaseline: params.deletionBaseline,
      insertionBaseline: params.insertionBaseline,
      blurSigma: params.blurSigma,
      curves: wantCurves,
      confidence: wantConfidence,
      threshold,
      seed,
      roadPercentiles: wantRoad ? (params.roadPercentiles ?? [10, 20, 30, 40, 50, 60, 70, 80, 90]) : undefined,
    };
    progress('perturbing', 0, 1);
    const plans = [planFaithfulness(tensor, map, fopts), ...(withRandom ? [planFaithfulness(tensor, rmap, fopts)] : [])];
    const all = plans.flatMap((p) => p.images);
    const scored = await scoreInputs(model, ctx, params, output, input.dims, all, classIndex, params.metricsBatchSize ?? 32);
    runs.perturbation += scored.runs;
    runs.imagesScored += all.length;
    let offset = 0;
    const outcomes: FaithfulnessOutcome[] = plans.map((p) => {
      const o = p.finish(scored.probs.slice(offset, offset + p.images.length));
      offset += p.images.length;
      return o;
    });
    Object.assign(metrics, outcomes[0].scores);
    Object.assign(details, outcomes[0].notes);
    details.base_probability = scored.probs[0];
    curves.deletion = outcomes[0].curves.deletion;
    curves.insertion = outcomes[0].curves.insertion;
    if (outcomes[1]) {
      for (const [k, v] of Object.entries(outcomes[1].scores)) metrics[`random_${k}`] = v;
      curves.random_deletion = outcomes[1].curves.deletion;
      curves.random_insertion = outcomes[1].curves.insertion;
    }
    timings.faithfulness = performance.now() - t;
  }

  const needsExtraExplains = families.has('stability') || families.has('sanity');
  const tmp = needsExtraExplains ? tempDir() : undefined;
  const configPath = params.configPath ?? (fs.existsSync(sidecarPathOf(params.modelPath)) ? sidecarPathOf(params.modelPath) : undefined);
  const again = (overrides: Partial<ExplainParams>) =>
    explain({ ...params, configPath, topk: undefined, classIndex, saveTensors: false, ...overrides }, { ...ctx, progress: undefined });
  try {
    if (families.has('stability')) {
      const t = performance.now();
      const draws = params.stabilityDraws ?? DEFAULT_STABILITY_DRAWS;
      const sigmaFraction = params.stabilitySigma ?? DEFAULT_STABILITY_SIGMA;
      const noisy = noisyInputs(input.tensor, draws, sigmaFraction, seed);
      const maps: Float32Array[] = [];
      for (let k = 0; k < noisy.inputs.length; k++) {
        progress('stability', k, draws);
        const file = path.join(tmp!, `noisy${k}.npy`);
        writeNpy(file, noisy.inputs[k], input.dims);
        const r = await again({ input: file });
        runs.explanations++;
        maps.push(r.explanations[0].cam.data);
      }
      const s = stabilityScores(map, maps);
      metrics.stability = s.stability;
      metrics.max_sensitivity = s.max_sensitivity;
      details.stability_draws = draws;
      details.stability_sigma = `${sigmaFraction} of the input range = ${noisy.sigma.toPrecision(4)}`;
      details.stability_seeds = noisy.seeds;
      timings.stability = performance.now() - t;
    }
    if (families.has('sanity')) {
      const t = performance.now();
      const layers = layersAfter(model, base.layers[0]);
      if (!layers.length) {
        details.sanity = `skipped: no parameterised layer after ${base.layers[0]}`;
      } else {
        const steps = params.sanityCascade ? layers.map((_, i) => i + 1) : [layers.length];
        const cascade: Array<{ layer: string; spearman: number }> = [];
        for (const [i, count] of steps.entries()) {
          progress('sanity', i, steps.length);
          const names = new Set(layers.slice(0, count).flatMap((l) => l.initializers));
          const file = path.join(tmp!, `randomised${count}.onnx`);
          fs.writeFileSync(file, serializeModel(randomiseInitializers(model, names, seed + count)));
          try {
            const r = await again({ modelPath: file, input: params.input });
            runs.explanations++;
            cascade.push({ layer: layers[count - 1].node, spearman: spearman(map, r.explanations[0].cam.data) });
          } finally {
            await ctx.sessions.releaseModel(modelKeyOf(loadModel(file)));
          }
        }
        metrics.sanity_spearman = cascade[cascade.length - 1].spearman;
        details.sanity_layers = layers.length;
        details.sanity_cascade = cascade;
        details.sanity_seed = seed;
      }
      timings.sanity = performance.now() - t;
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  timings.total = performance.now() - t0;
  return {
    model: params.modelPath,
    input: params.input,
    method: base.method,
    layers: base.layers,
    classIndex,
    label: e.label,
    ep: base.ep,
    metrics,
    groundTruth,
    curves,
    details,
    modelRuns: runs,
    timings_ms: timings,
  };
}
