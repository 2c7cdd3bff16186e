// Running a model with taps: the model that runs is the original plus the tapped values as
// outputs (built in memory), cached as one session per (model, tap set, provider).
import * as ort from 'onnxruntime-node';
import { CamLensError, throwIfCancelled } from '../errors';
import type { LoadedModel } from '../model';
import { floatToHalf, halfToFloat } from '../onnx/float16';
import { serializeModel } from '../onnx/io';
import { DataType } from '../onnx/types';
import { withTapOutputs } from '../surgery/taps';
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

export async function runWithTaps(model: LoadedModel, cache: SessionCache, feeds: Record<string, PlainTensor>, options: TapRunOptions): Promise<TapRunResult> {
  for (const name of model.graph.inputs) {
    if (!feeds[name]) throw new CamLensError('BAD_ARGUMENT', `Missing input "${name}" (the model's inputs: ${model.graph.inputs.join(', ')}).`);
  }
  const taps = [...new Set(options.taps)].sort();
  const t0 = performance.now();
  let outputsByValue = new Map<string, string>();
  const lease = await cache.acquire({
    modelKey: modelKeyOf(model),
    purpose: options.purpose ?? 'taps',
    variantKey: `taps:${taps.join('\n')}`,
    options: options.provider ?? {},
    build: () => {
      const tapped = withTapOutputs(model.proto, model.graph, taps);
      outputsByValue = tapped.outputs;
      return serializeModel(tapped.model);
    },
  });
  try {
    if (outputsByValue.size === 0) outputsByValue = withTapOutputs(model.proto, model.graph, taps).outputs;
    const t1 = performance.now();
    throwIfCancelled(options.signal, 'The run'); // the worker answers CANCELLED
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of model.graph.inputs) ortFeeds[name] = toOrt(feeds[name], elemTypeOf(model, name));
    const result = await lease.session.run(ortFeeds);
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
