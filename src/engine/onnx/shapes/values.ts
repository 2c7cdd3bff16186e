// Known contents of small tensors, for constant folding of shape arithmetic. Elements are
// numbers, symbolic dims (strings, from Shape of a value with a symbolic dim) or null (unknown).
// Only tensors up to MAX_FOLD_ELEMENTS are ever decoded or computed, so weights are never read.
import { int64ToNumber } from '../int64';
import { elementCount, tensorDims, tensorToArray } from '../tensor';
import { DataLocation, DataType, type TensorProto } from '../types';
import type { ShapeDim } from './types';

export const MAX_FOLD_ELEMENTS = 1024;
/**
 * Stored float tensors are decoded only up to this size: shape arithmetic needs scalars and
 * Resize scales, not biases.
 */
export const MAX_FOLD_FLOAT_INITIALIZER = 16;

export interface KnownTensor {
  readonly dtype: number;
  readonly dims: readonly number[];
  /** Row-major elements; length = product of dims. */
  readonly data: readonly ShapeDim[];
}

const FOLDABLE = new Set<number>([
  DataType.INT64,
  DataType.INT32,
  DataType.INT16,
  DataType.INT8,
  DataType.UINT8,
  DataType.UINT16,
  DataType.UINT32,
  DataType.UINT64,
  DataType.BOOL,
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.FLOAT16,
]);

export const isIntegerType = (t: number): boolean =>
  t === DataType.INT64 ||
  t === DataType.INT32 ||
  t === DataType.INT16 ||
  t === DataType.INT8 ||
  t === DataType.UINT8 ||
  t === DataType.UINT16 ||
  t === DataType.UINT32 ||
  t === DataType.UINT64 ||
  t === DataType.BOOL;

/**
 * The values of a small TensorProto; undefined for big (integers over MAX_FOLD_ELEMENTS, floats
 * over MAX_FOLD_FLOAT_INITIALIZER), external, or unreadable ones.
 */
export function decodeSmallTensor(t: TensorProto): KnownTensor | undefined {
  const dtype = t.dataType ?? 0;
  if (!FOLDABLE.has(dtype) || t.dataLocation === DataLocation.EXTERNAL) return undefined;
  const dims = tensorDims(t);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) return undefined;
  const count = elementCount(dims);
  if (count > (isIntegerType(dtype) ? MAX_FOLD_ELEMENTS : MAX_FOLD_FLOAT_INITIALIZER)) return undefined;
  let array: ArrayLike<number | bigint>;
  try {
    array = tensorToArray(t) as ArrayLike<number | bigint>;
  } catch {
    return undefined;
  }
  if (array.length < count) return undefined;
  const data: ShapeDim[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const v = array[i];
    data[i] = typeof v === 'bigint' ? int64ToNumber(v) : dtype === DataType.BOOL ? (v ? 1 : 0) : v;
  }
  return { dtype, dims, data };
}

export function known(dtype: number, dims: readonly number[], data: readonly ShapeDim[]): KnownTensor | undefined {
  return data.length === elementCount(dims) && data.length <= MAX_FOLD_ELEMENTS ? { dtype, dims, data } : undefined;
}

/** Round a computed element to what the element type can hold (float32 rounding, int truncation). */
export function coerce(v: ShapeDim, dtype: number): ShapeDim {
  if (typeof v !== 'number') return v;
  if (Number.isNaN(v)) return isIntegerType(dtype) ? null : v;
  if (dtype === DataType.BOOL) return v ? 1 : 0;
  if (isIntegerType(dtype)) return Number.isFinite(v) ? Math.trunc(v) : null;
  if (dtype === DataType.FLOAT) return Math.fround(v);
  return v;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/**
 * Elementwise map over inputs broadcast to `outDims` (numpy rules; the caller has checked that
 * the shapes broadcast).
 */
export function mapBroadcast(outDims: readonly number[], inputs: readonly KnownTensor[], f: (xs: ShapeDim[]) => ShapeDim): ShapeDim[] | undefined {
  const count = elementCount(outDims);
  if (count > MAX_FOLD_ELEMENTS) return undefined;
  const rank = outDims.length;
  const inStrides = inputs.map((t) => {
    const own = stridesOf(t.dims);
    const off = rank - t.dims.length;
    return outDims.map((_, axis) => (axis < off || t.dims[axis - off] === 1 ? 0 : own[axis - off]));
  });
  const out: ShapeDim[] = new Array(count);
  const index = new Array<number>(rank).fill(0);
  const args: ShapeDim[] = new Array(inputs.length);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < inputs.length; k++) {
      let off = 0;
      for (let axis = 0; axis < rank; axis++) off += index[axis] * inStrides[k][axis];
      args[k] = inputs[k].data[off];
    }
    out[i] = f(args);
    for (let axis = rank - 1; axis >= 0; axis--) {
      if (++index[axis] < outDims[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** out[i] = data[source(i)] for every multi-index of outDims; source gives a flat input offset. */
export function gatherBy(outDims: readonly number[], data: readonly ShapeDim[], source: (index: readonly number[]) => number): ShapeDim[] | undefined {
  const count = elementCount(outDims);
  if (count > MAX_FOLD_ELEMENTS) return undefined;
  const out: ShapeDim[] = new Array(count);
  const index = new Array<number>(outDims.length).fill(0);
  for (let i = 0; i < count; i++) {
    const from = source(index);
    out[i] = from >= 0 && from < data.length ? data[from] : null;
    for (let axis = outDims.length - 1; axis >= 0; axis--) {
      if (++index[axis] < outDims[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}
