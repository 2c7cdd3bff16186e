// Runtime shape probe: fills the shapes static inference left unknown, by one run of the model
// with every value exposed. Uses its own short-lived session (so it does not evict the user's
// tapped session) and caches the answer per model.
import type * as ort from 'onnxruntime-node';
import type { LoadedModel } from '../model';
import { serializeModel } from '../onnx/io';
import type { ShapeDim } from '../onnx/shapes/types';
import { DataType } from '../onnx/types';
import { withTapOutputs } from '../surgery/taps';
import { recordModelRun } from './modelRunCount';
import { createSession, type ProviderOptions } from './providers';
import { toOrt, type PlainTensor } from './tapRunner';

export interface ProbeResult {
  /** value → runtime dims (with symbolic dims set to `symbolicSize`). */
  shapes: Map<string, number[]>;
  provider: string;
  ms: number;
}

const cache = new Map<string, ProbeResult>();

/** A zero tensor for an input; symbolic/unknown dims become `symbolicSize`. */
export function zeroInput(dtype: number, shape: readonly ShapeDim[] | undefined, symbolicSize = 1): PlainTensor {
  const dims = (shape ?? []).map((d) => (typeof d === 'number' ? d : symbolicSize));
  const n = dims.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case DataType.INT64:
      return { dtype: 'int64', dims, data: new BigInt64Array(n) };
    case DataType.INT32:
      return { dtype: 'int32', dims, data: new Int32Array(n) };
    case DataType.UINT8:
      return { dtype: 'uint8', dims, data: new Uint8Array(n) };
    case DataType.BOOL:
      return { dtype: 'bool', dims, data: new Uint8Array(n) };
    case DataType.DOUBLE:
      return { dtype: 'float64', dims, data: new Float64Array(n) };
    default:
      return { dtype: 'float32', dims, data: new Float32Array(n) };
  }
}

export async function probeShapes(
  model: LoadedModel,
  options: { feeds?: Record<string, PlainTensor>; provider?: ProviderOptions; symbolicSize?: number } = {},
): Promise<ProbeResult> {
  const key = `${model.path}#${model.fileBytes}#${options.symbolicSize ?? 1}`;
  const hit = !options.feeds && cache.get(key);
  if (hit) return hit;
  const t0 = performance.now();
  const values = model.graph.activations();
  const tapped = withTapOutputs(model.proto, model.graph, values);
  const { session, provider } = await createSession(serializeModel(tapped.model), { ...options.provider, provider: options.provider?.provider ?? 'cpu' });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of model.graph.inputs) {
      const given = options.feeds?.[name];
      const type = model.shapes.get(name);
      feeds[name] = toOrt(given ?? zeroInput(type?.dtype ?? DataType.FLOAT, type?.shape, options.symbolicSize ?? 1), type?.dtype);
    }
    const out = await session.run(feeds);
    recordModelRun(feeds[model.graph.inputs[0]]?.dims);
    const shapes = new Map<string, number[]>();
    for (const [value, output] of tapped.outputs) if (out[output]) shapes.set(value, [...out[output].dims]);
    const result = { shapes, provider, ms: performance.now() - t0 };
    if (!options.feeds) cache.set(key, result);
    return result;
  } finally {
    await session.release();
  }
}

export function clearProbeCache(): void {
  cache.clear();
}
