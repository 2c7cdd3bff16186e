// Running a model with taps: the model that runs is the original plus the tapped values as
// outputs (built in memory), cached as one session per (model, tap set, provider).
import * as ort from 'onnxruntime-node';
import { CamLensError, throwIfCancelled } from '../errors';
import type { LoadedModel } from '../model';
import { serializeModel } from '../onnx/io';
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

export const toPlain = (t: ort.Tensor): PlainTensor => ({ dtype: t.type, dims: [...t.dims], data: t.data as PlainTensor['data'] });

export function toOrt(t: PlainTensor): ort.Tensor {
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
}

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
    for (const name of model.graph.inputs) ortFeeds[name] = toOrt(feeds[name]);
    const result = await lease.session.run(ortFeeds);
    const t2 = performance.now();
    const outputs: Record<string, PlainTensor> = {};
    for (const name of model.graph.outputs) outputs[name] = toPlain(result[name]);
    const readouts: TapReadout[] = taps.map((value) => {
      const t = result[outputsByValue.get(value)!];
      const numeric = typeof (t.data as ArrayLike<unknown>)[0] !== 'bigint' && t.type !== 'string';
      return {
        value,
        ...(options.stats !== false && numeric ? { stats: tensorStats(t.data as ArrayLike<number>, t.dims, t.type) } : {}),
        ...(options.tensors !== false ? { tensor: toPlain(t) } : {}),
      };
    });
    return { outputs, taps: readouts, provider: lease.provider, fallbacks: lease.fallbacks, timings: { sessionMs: t1 - t0, runMs: t2 - t1 } };
  } finally {
    lease.release();
  }
}
