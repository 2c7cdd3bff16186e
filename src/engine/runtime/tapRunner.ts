// Running a model with taps: the model that runs is the original plus the tapped values as
// outputs (built in memory). Changing the taps builds no session as long as they are among the
// candidates one shared session exposes (see planTapSession).
import * as ort from 'onnxruntime-node';
import { CamLensError, throwIfCancelled } from '../errors';
import type { LoadedModel } from '../model';
import { floatToHalf, halfToFloat } from '../onnx/float16';
import { serializeModel } from '../onnx/io';
import { DataType } from '../onnx/types';
import { tapCandidates } from '../surgery/tapCandidates';
import { checkTappable, withTapOutputs } from '../surgery/taps';
import { lazySessionDiskKey } from './modelIdentity';
import { recordModelRun } from './modelRunCount';
import type { ProviderAttempt, ProviderOptions } from './providers';
import type { SessionCache } from './sessions';
import { tensorStats, type TensorStats } from './tensorStats';

export interface PlainTensor {
  dtype: string;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array | Int8Array | Uint16Array | Int16Array;
}

export interface TapReadout {
  value: string;
  stats?: TensorStats;
  tensor?: PlainTensor;
}

export interface TapRunResult {
  outputs: Record<string, PlainTensor>;
  taps: TapReadout[];
  provider: string;
  fallbacks: readonly ProviderAttempt[];
  timings: { sessionMs: number; runMs: number };
}

export interface TapRunOptions {
  taps: readonly string[];
  /** Return tap tensors themselves (default true). */
  tensors?: boolean;
  /** Return tap statistics (default true). */
  stats?: boolean;
  provider?: ProviderOptions;
  signal?: AbortSignal;
  /** Session slot (see SessionCache); default 'taps'. */
  purpose?: string;
}

/**
 * An onnxruntime result as CamLens reads it: float16 results are widened to float32 (CamLens
 * computes in float32; onnxruntime hands half floats over as raw 16-bit patterns).
 */
export const toPlain = (t: ort.Tensor): PlainTensor =>
  t.type === 'float16'
    ? { dtype: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as ArrayLike<number>, halfBitsToFloat(t.data)) }
    : { dtype: t.type, dims: [...t.dims], data: t.data as PlainTensor['data'] };

/** Float16Array (where the runtime has it) holds numbers already; Uint16Array holds the bit patterns. */
const halfBitsToFloat = (data: unknown) => (data instanceof Uint16Array ? halfToFloat : (v: number) => v);

/**
 * A tensor to feed, in the element type the model declares for that input (`elemType`, an ONNX
 * DataType; undefined = as it is): CamLens makes float32 inputs, a float16 or float64 model
 * gets them in its own type.
 */
export function toOrt(t: PlainTensor, elemType?: number): ort.Tensor {
  const floatData = t.data instanceof Float32Array || t.data instanceof Float64Array;
  if (floatData && elemType === DataType.FLOAT16 && t.dtype !== 'float16') {
    return new ort.Tensor('float16', Uint16Array.from(t.data as Float32Array, floatToHalf), t.dims);
  }
  if (floatData && elemType === DataType.DOUBLE && t.dtype !== 'float64') return new ort.Tensor('float64', Float64Array.from(t.data as Float32Array), t.dims);
  if (floatData && elemType === DataType.FLOAT && t.dtype !== 'float32') return new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.dims);
  if (elemType === DataType.BFLOAT16) {
    throw new CamLensError(
      'UNSUPPORTED_OP',
      'The model takes a bfloat16 input: onnxruntime-node cannot pass bfloat16 tensors (and its CPU provider has no bfloat16 kernels); convert the model to float16 or float32.',
    );
  }
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
}

/** The element type `model` declares for its input or value `name` (0 when unknown). */
export const elemTypeOf = (model: LoadedModel, name: string): number => model.shapes.get(name)?.dtype ?? 0;

export function modelKeyOf(model: LoadedModel): string {
  return `${model.path}#${model.fileBytes}#${model.graph.nodes.length}`;
}

/**
 * The session a run with `taps` uses, and which of its outputs carry them. No taps: the model as
 * it is (full speed). Taps that are all candidates (surgery/tapCandidates.ts): one shared session
 * exposing every candidate, fetched selectively, so changing taps builds nothing. Others: a
 * session for this tap set alone.
 */
interface TapSessionPlan {
  purpose: string;
  variantKey: string;
  values: readonly string[];
}

const candidatesByModel = new WeakMap<LoadedModel, Set<string>>();

/** The shared tapped session's values: candidates whose exposure blocks no fusion, float tensors only (shape arithmetic folds away). */
function candidatesOf(model: LoadedModel): Set<string> {
  let set = candidatesByModel.get(model);
  if (!set) {
    const floats = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);
    set = new Set(tapCandidates(model.graph).filter((v) => floats.has(model.shapes.get(v)?.dtype ?? 0)));
    candidatesByModel.set(model, set);
  }
  return set;
}

function planTapSession(model: LoadedModel, taps: readonly string[], purpose: string): TapSessionPlan {
  if (taps.length === 0) return { purpose, variantKey: 'taps:', values: [] };
  const candidates = candidatesOf(model);
  const outputs = new Set(model.graph.outputs);
  if (taps.every((t) => candidates.has(t) || outputs.has(t)))
    return { purpose: `${purpose}/candidates`, variantKey: 'tap-candidates', values: [...candidates] };
  return { purpose: `${purpose}/custom`, variantKey: `taps:${taps.join('\n')}`, values: taps };
}

const tappedOutputs = new WeakMap<LoadedModel, Map<string, Map<string, string>>>();

function leaseTapSession(model: LoadedModel, cache: SessionCache, plan: TapSessionPlan, provider: ProviderOptions | undefined) {
  let byVariant = tappedOutputs.get(model);
  if (!byVariant) tappedOutputs.set(model, (byVariant = new Map()));
  const known = byVariant;
  const diskKey = lazySessionDiskKey(model, cache.disk, plan.variantKey);
  return cache.acquire({
    modelKey: modelKeyOf(model),
    purpose: plan.purpose,
    variantKey: plan.variantKey,
    options: provider ?? {},
    get diskKey() {
      return diskKey();
    },
    build: () => {
      const tapped = withTapOutputs(model.proto, model.graph, plan.values);
      known.set(plan.variantKey, tapped.outputs);
      return serializeModel(tapped.model);
    },
  });
}

/** value → output name in the plan's session (a session opened from the disk cache was not built here: its names are made again, without serialising). */
function outputsOf(model: LoadedModel, plan: TapSessionPlan): Map<string, string> {
  const known = tappedOutputs.get(model)?.get(plan.variantKey);
  if (known) return known;
  const outputs = withTapOutputs(model.proto, model.graph, plan.values).outputs;
  tappedOutputs.get(model)?.set(plan.variantKey, outputs);
  return outputs;
}

/**
 * Builds (in the background of the caller) the session a run with `taps` will use, so that the
 * run finds it ready: the worker calls it when a tap is registered, and after an untapped run.
 */
export async function prepareTapSession(
  model: LoadedModel,
  cache: SessionCache,
  taps: readonly string[],
  options: Omit<TapRunOptions, 'taps'> = {},
): Promise<void> {
  const lease = await leaseTapSession(model, cache, planTapSession(model, [...new Set(taps)].sort(), options.purpose ?? 'taps'), options.provider);
  lease.release();
}

/** Builds the shared tapped session of `model` (every candidate exposed) ahead of the first tapped run. */
export async function prepareSharedTapSession(model: LoadedModel, cache: SessionCache, options: Omit<TapRunOptions, 'taps'> = {}): Promise<void> {
  const candidates = [...candidatesOf(model)];
  if (candidates.length) await prepareTapSession(model, cache, candidates.slice(0, 1), options);
}

export async function runWithTaps(model: LoadedModel, cache: SessionCache, feeds: Record<string, PlainTensor>, options: TapRunOptions): Promise<TapRunResult> {
  for (const name of model.graph.inputs) {
    if (!feeds[name]) throw new CamLensError('BAD_ARGUMENT', `Missing input "${name}" (the model's inputs: ${model.graph.inputs.join(', ')}).`);
  }
  const taps = [...new Set(options.taps)].sort();
  taps.forEach((t) => checkTappable(model.graph, t));
  const t0 = performance.now();
  const plan = planTapSession(model, taps, options.purpose ?? 'taps');
  const lease = await leaseTapSession(model, cache, plan, options.provider);
  try {
    const outputsByValue = outputsOf(model, plan);
    const t1 = performance.now();
    throwIfCancelled(options.signal, 'The run'); // the worker answers CANCELLED
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of model.graph.inputs) ortFeeds[name] = toOrt(feeds[name], elemTypeOf(model, name));
    // Only the wanted outputs: the shared session's other candidates are not copied out.
    const fetches = [...new Set([...model.graph.outputs, ...taps.map((v) => outputsByValue.get(v)!)])];
    const result = await lease.session.run(ortFeeds, fetches);
    recordModelRun(feeds[model.graph.inputs[0]]?.dims);
    const t2 = performance.now();
    const outputs: Record<string, PlainTensor> = {};
    for (const name of model.graph.outputs) outputs[name] = toPlain(result[name]);
    const readouts: TapReadout[] = taps.map((value) => {
      const raw = result[outputsByValue.get(value)!];
      const t = toPlain(raw);
      const numeric = typeof (t.data as ArrayLike<unknown>)[0] !== 'bigint' && raw.type !== 'string';
      return {
        value,
        ...(options.stats !== false && numeric ? { stats: tensorStats(t.data as ArrayLike<number>, t.dims, raw.type) } : {}),
        ...(options.tensors !== false ? { tensor: t } : {}),
      };
    });
    return { outputs, taps: readouts, provider: lease.provider, fallbacks: lease.fallbacks, timings: { sessionMs: t1 - t0, runMs: t2 - t1 } };
  } finally {
    lease.release();
  }
}
