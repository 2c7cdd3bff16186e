// The model runs behind Score-CAM and Ablation-CAM: per channel of the CAM layer, the class
// scores of the input masked by that channel (Score-CAM) or of the model's tail re-run with
// that channel ablated (Ablation-CAM). Runs are batched (batch size configurable) and skip the
// channels whose answer is known without a run (cam/scorecam.ts, cam/ablationcam.ts say why).
// One pass serves every target class: each run yields the whole score vector.
import { channelAxis, type ActivationLayout, type TokenGrid } from '../cam/layout';
import { ablatedActivations, ablationSkippableChannels } from '../cam/ablationcam';
import type { ChannelRuns } from '../cam/registry';
import { channelsByVariance, scoreCamMaskedInputs, scoreCamPlan } from '../cam/scorecam';
import { BatchSizer } from './batchSizer';
import type { FeatureMaps } from '../cam/tensor';
import { CamLensError, throwIfCancelled } from '../errors';
import { analyseModel, type LoadedModel } from '../model';
import type { SessionCache } from '../runtime/sessions';
import { runWithTaps, type PlainTensor } from '../runtime/tapRunner';
import type { ProviderOptions } from '../runtime/providers';
import { extractModel } from '../surgery/extract';
import { layerFeatureMaps } from './layout';

export interface ChannelScoreTable {
  /** [C, K]: class scores per channel (rows of skipped channels hold their known answer). */
  scores: Float32Array;
  classes: number;
  /** Channels answered without a run. */
  skipped: number;
  runs: number;
  /** Score-CAM: channels that had a masked input of their own (the images its runs fed). */
  masked?: number;
  /** Score-CAM: ms spent building masked inputs and in the model runs (how far the runs are from the whole). */
  maskMs?: number;
  runMs?: number;
  /** Score-CAM: the batch size of the masked runs (chosen by measurement unless the user set it). */
  batchSize?: number;
  /** Score-CAM with a channel budget: the channels run of all (the rest have no weight; an approximate map). */
  selected?: { channels: number; of: number };
}

export interface ChannelRunContext {
  sessions: SessionCache;
  provider?: ProviderOptions;
  signal?: AbortSignal;
  /** The largest batch of one run (the memory budget was checked for it). */
  batchSize: number;
  /** Score-CAM: try batch sizes up to `batchSize` on the first runs and keep the fastest (the user set none). */
  chooseBatchSize?: boolean;
  /** Score-CAM: run only this many channels, those of largest activation variance (approximate). */
  channels?: number;
  progress?: (done: number, total: number, message?: string) => void;
}

/** Whether `input` takes any number of rows (its batch dim is symbolic): else one row per run. */
export function batchable(model: LoadedModel, input: string): boolean {
  const d = model.shapes.get(input)?.shape?.[0];
  return typeof d === 'string' || d === null;
}

/** The scores of one run of `model` (a whole model or a tail) on `input`. */
export async function scoresOf(
  model: LoadedModel,
  ctx: ChannelRunContext,
  input: PlainTensor,
  output: string,
  purpose: string,
): Promise<{ data: Float32Array; k: number }> {
  throwIfCancelled(ctx.signal, 'The explanation');
  const name = model.graph.inputs[0];
  const r = await runWithTaps(model, ctx.sessions, { [name]: input }, { taps: [], stats: false, provider: ctx.provider, purpose });
  const out = r.outputs[output];
  return { data: out.data as Float32Array, k: out.dims[out.dims.length - 1] };
}

/** Runs `make(channels)` batch by batch and writes each run's score rows into the table. */
async function runChannels(
  channels: number[],
  ctx: ChannelRunContext,
  batch: number,
  c: number,
  table: { scores?: Float32Array; k?: number },
  run: (chs: number[]) => Promise<{ data: Float32Array; k: number }>,
  label: string,
): Promise<number> {
  let runs = 0;
  for (let i = 0; i < channels.length; i += batch) {
    const chs = channels.slice(i, i + batch);
    const r = await run(chs);
    table.k ??= r.k;
    table.scores ??= new Float32Array(c * r.k);
    chs.forEach((ch, j) => table.scores!.set(r.data.subarray(j * r.k, (j + 1) * r.k), ch * r.k));
    runs++;
    ctx.progress?.(Math.min(i + batch, channels.length), channels.length, `${label}: channel ${Math.min(i + batch, channels.length)}/${channels.length}`);
  }
  return runs;
}

export async function scoreCamTable(
  model: LoadedModel,
  ctx: ChannelRunContext,
  input: PlainTensor,
  activations: FeatureMaps,
  output: string,
  inputLayout: 'NCHW' | 'NHWC',
): Promise<ChannelScoreTable> {
  if (inputLayout !== 'NCHW') throw new CamLensError('BAD_ARGUMENT', 'Score-CAM needs an NCHW image input; this model is configured as NHWC.');
  const c = activations.shape[1];
  const full = scoreCamPlan(activations, 0);
  // A channel budget runs the channels of largest variance; the others get no weight (-Infinity
  // scores: softmax gives them 0), as Faster Score-CAM does.
  const budget = ctx.channels !== undefined && ctx.channels < c ? new Set(channelsByVariance(activations, 0, ctx.channels)) : undefined;
  const plan = budget ? { run: full.run.filter((ch) => budget.has(ch)), constant: full.constant.filter((ch) => budget.has(ch)) } : full;
  const batches = batchable(model, model.graph.inputs[0]);
  const max = batches ? ctx.batchSize : 1;
  const sizer = new BatchSizer(max, batches && ctx.chooseBatchSize ? undefined : max, plan.run.length);
  const modelInput = { data: input.data as Float32Array, shape: input.dims };
  const [, cin, H, W] = input.dims;
  // One buffer for every batch's masked inputs: each run reads it before the next batch is built.
  const masked = new Float32Array(Math.min(plan.run.length, max) * cin * H * W);
  let k: number | undefined;
  let scores: Float32Array | undefined;
  let runs = 0;
  let maskMs = 0;
  let runMs = 0;
  for (let i = 0; i < plan.run.length;) {
    const size = sizer.next(plan.run.length - i);
    const chs = plan.run.slice(i, i + size);
    const t0 = performance.now();
    const batch = scoreCamMaskedInputs(modelInput, activations, 0, chs, masked);
    const t1 = performance.now();
    const r = await scoresOf(model, ctx, { dtype: 'float32', dims: [...batch.shape], data: batch.data }, output, 'scorecam');
    const t2 = performance.now();
    sizer.record(size, t2 - t1);
    maskMs += t1 - t0;
    runMs += t2 - t1;
    k ??= r.k;
    scores ??= new Float32Array(c * r.k).fill(budget ? -Infinity : 0);
    chs.forEach((ch, j) => scores!.set(r.data.subarray(j * r.k, (j + 1) * r.k), ch * r.k));
    runs++;
    i += chs.length;
    ctx.progress?.(i, plan.run.length, `Score-CAM: channel ${i}/${plan.run.length}`);
  }
  if (plan.constant.length) {
    // A constant channel's normalised mask is all zeros: its input is the zero image.
    const zero = await scoresOf(model, ctx, { dtype: 'float32', dims: input.dims, data: new Float32Array(input.data.length) }, output, 'scorecam');
    k ??= zero.k;
    scores ??= new Float32Array(c * zero.k).fill(budget ? -Infinity : 0);
    for (const ch of plan.constant) scores.set(zero.data.subarray(0, zero.k), ch * zero.k);
    runs++;
  }
  return {
    scores: scores!,
    classes: k!,
    skipped: plan.constant.length,
    runs,
    masked: plan.run.length,
    maskMs,
    runMs,
    ...(sizer.choice.batchSize !== undefined ? { batchSize: sizer.choice.batchSize } : {}),
    ...(budget ? { selected: { channels: budget.size, of: c } } : {}),
  };
}

const tails = new WeakMap<LoadedModel, Map<string, LoadedModel>>();

/** The part of the model after `layer`: its input is the layer's value, its output `output`. */
export function tailModel(model: LoadedModel, layer: string, output: string): LoadedModel {
  let byLayer = tails.get(model);
  if (!byLayer) tails.set(model, (byLayer = new Map()));
  const key = `${layer}\n${output}`;
  let tail = byLayer.get(key);
  if (!tail) {
    tail = analyseModel(extractModel(model.proto, model.graph, [layer], [output], model.shapes), `${model.path}#tail:${layer}`, model.fileBytes);
    byLayer.set(key, tail);
  }
  return tail;
}

export async function ablationCamTable(
  model: LoadedModel,
  ctx: ChannelRunContext,
  layer: string,
  raw: PlainTensor,
  layout: ActivationLayout,
  output: string,
  baseScores: Float32Array,
): Promise<ChannelScoreTable> {
  const tail = tailModel(model, layer, output);
  const axis = channelAxis(layout);
  const rawTensor = { data: raw.data as Float32Array, shape: raw.dims };
  const c = raw.dims[axis];
  const skip = new Set(ablationSkippableChannels(rawTensor, axis, 0));
  const channels = Array.from({ length: c }, (_, i) => i).filter((ch) => !skip.has(ch));
  const batch = batchable(tail, tail.graph.inputs[0]) ? ctx.batchSize : 1;
  const k = baseScores.length;
  const table: { scores?: Float32Array; k?: number } = { scores: new Float32Array(c * k), k };
  for (const ch of skip) table.scores!.set(baseScores, ch * k); // unchanged activation: s_c = s
  const runs = await runChannels(
    channels,
    ctx,
    batch,
    c,
    table,
    async (chs) => {
      const ablated = ablatedActivations(rawTensor, axis, 0, chs);
      return scoresOf(tail, ctx, { dtype: 'float32', dims: [...ablated.shape], data: ablated.data }, output, 'ablation-tail');
    },
    'Ablation-CAM',
  );
  return { scores: table.scores!, classes: k, skipped: skip.size, runs };
}

/** One class's [1, C] column of a channel score table. */
export function classColumn(table: ChannelScoreTable, classIndex: number): Float32Array {
  const c = table.scores.length / table.classes;
  return Float32Array.from({ length: c }, (_, ch) => table.scores[ch * table.classes + classIndex]);
}

/** One CAM layer's part in its channel runs: the layer's output as the model gives it, and where it came from. */
export interface ChannelRunLayer {
  layer: string;
  /** The layer's activation in the model's layout, and that layout. */
  raw: PlainTensor;
  layout: ActivationLayout;
  /** Token layers: their grid on the input (pipeline/layout.ts layerTokenGrid). */
  grid?: TokenGrid;
  /** The model input it came from, and that input's layout. */
  input: PlainTensor;
  inputLayout: 'NCHW' | 'NHWC';
  output: string;
  /** The unablated scores of `output` for this input. */
  scores: Float32Array;
}

/** The runs behind each kind of channel scores (the method registry says which a method needs). */
export const CHANNEL_RUNS: Readonly<
  Record<Exclude<ChannelRuns, 'none'>, (model: LoadedModel, ctx: ChannelRunContext, l: ChannelRunLayer) => Promise<ChannelScoreTable>>
> = {
  'masked-inputs': (model, ctx, l) => scoreCamTable(model, ctx, l.input, layerFeatureMaps(l.raw, l.layout, l.grid), l.output, l.inputLayout),
  ablations: (model, ctx, l) => ablationCamTable(model, ctx, l.layer, l.raw, l.layout, l.output, l.scores),
};
