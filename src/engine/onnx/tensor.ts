// Reading TensorProto payloads into typed arrays and making small TensorProtos. Only the
// element types CamLens computes with are decoded; others are reported, not guessed.
import { CamLensError } from '../errors';
import { floatToBfloat16, floatToHalf, halfToFloat } from './float16';
import { int64ToNumber } from './int64';
import { DataLocation, DataType, type TensorProto } from './types';

export { halfToFloat };

export type TypedArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export const DATA_TYPE_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.COMPLEX64]: 'complex64',
  [DataType.COMPLEX128]: 'complex128',
  [DataType.BFLOAT16]: 'bfloat16',
  [DataType.FLOAT8E4M3FN]: 'float8e4m3fn',
  [DataType.FLOAT8E4M3FNUZ]: 'float8e4m3fnuz',
  [DataType.FLOAT8E5M2]: 'float8e5m2',
  [DataType.FLOAT8E5M2FNUZ]: 'float8e5m2fnuz',
  [DataType.UINT4]: 'uint4',
  [DataType.INT4]: 'int4',
  [DataType.FLOAT4E2M1]: 'float4e2m1',
};

export const dataTypeName = (t: number | undefined): string => DATA_TYPE_NAMES[t ?? 0] ?? `type${t ?? 0}`;

/** Bytes per element for types stored whole-byte; sub-byte types (int4, float4) return 0.5. */
export function bytesPerElement(t: number): number {
  switch (t) {
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.COMPLEX64:
      return 8;
    case DataType.COMPLEX128:
      return 16;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 4;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.INT16:
    case DataType.UINT16:
      return 2;
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return 0.5;
    default:
      return 1;
  }
}

export const isFloatType = (t: number | undefined): boolean =>
  t === DataType.FLOAT ||
  t === DataType.DOUBLE ||
  t === DataType.FLOAT16 ||
  t === DataType.BFLOAT16 ||
  (t !== undefined && t >= DataType.FLOAT8E4M3FN && t <= DataType.FLOAT8E5M2FNUZ) ||
  t === DataType.FLOAT4E2M1;

export const tensorDims = (t: TensorProto): number[] => t.dims.map(int64ToNumber);

export const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Aligned copy of `bytes` when a typed-array view would be misaligned, otherwise a view. */
function view<T>(bytes: Uint8Array, size: number, make: (b: ArrayBuffer, off: number, n: number) => T): T {
  const n = Math.floor(bytes.byteLength / size);
  if (bytes.byteOffset % size === 0) return make(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  const copy = new Uint8Array(n * size);
  copy.set(bytes.subarray(0, n * size));
  return make(copy.buffer, 0, n);
}

/**
 * The tensor's values as the natural typed array. External data must be resolved first
 * (external.ts); float16/bfloat16 are widened to float32 since that is what CamLens computes in.
 */
export function tensorToArray(t: TensorProto): TypedArray {
  const type = t.dataType ?? DataType.UNDEFINED;
  if (t.dataLocation === DataLocation.EXTERNAL) {
    throw new CamLensError('EXTERNAL_DATA', `Tensor "${t.name}" keeps its data in an external file; resolve it before reading.`);
  }
  // protobufjs gives an absent `bytes` field an empty default, so only non-empty bytes count.
  const raw = t.rawData instanceof Uint8Array && t.rawData.byteLength > 0 ? t.rawData : undefined;
  const count = elementCount(tensorDims(t));
  switch (type) {
    case DataType.FLOAT:
      return raw ? view(raw, 4, (b, o, n) => new Float32Array(b, o, n)) : Float32Array.from(t.floatData);
    case DataType.DOUBLE:
      return raw ? view(raw, 8, (b, o, n) => new Float64Array(b, o, n)) : Float64Array.from(t.doubleData);
    case DataType.INT64:
      return raw ? view(raw, 8, (b, o, n) => new BigInt64Array(b, o, n)) : BigInt64Array.from(t.int64Data, (v) => BigInt(v));
    case DataType.UINT64:
      return raw ? view(raw, 8, (b, o, n) => new BigUint64Array(b, o, n)) : BigUint64Array.from(t.uint64Data, (v) => BigInt(v));
    case DataType.INT32:
      return raw ? view(raw, 4, (b, o, n) => new Int32Array(b, o, n)) : Int32Array.from(t.int32Data);
    case DataType.UINT32:
      return raw ? view(raw, 4, (b, o, n) => new Uint32Array(b, o, n)) : Uint32Array.from(t.uint64Data, (v) => Number(v));
    case DataType.INT16:
      return raw ? view(raw, 2, (b, o, n) => new Int16Array(b, o, n)) : Int16Array.from(t.int32Data);
    case DataType.UINT16:
      return raw ? view(raw, 2, (b, o, n) => new Uint16Array(b, o, n)) : Uint16Array.from(t.int32Data);
    case DataType.INT8:
      return raw ? new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength) : Int8Array.from(t.int32Data);
    case DataType.UINT8:
    case DataType.BOOL:
      return raw ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : Uint8Array.from(t.int32Data);
    case DataType.FLOAT16: {
      const bits = raw ? view(raw, 2, (b, o, n) => new Uint16Array(b, o, n)) : Uint16Array.from(t.int32Data);
      return Float32Array.from(bits, halfToFloat);
    }
    case DataType.BFLOAT16: {
      const bits = raw ? view(raw, 2, (b, o, n) => new Uint16Array(b, o, n)) : Uint16Array.from(t.int32Data);
      const out = new Float32Array(bits.length);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
      return out;
    }
    default:
      throw new CamLensError(
        'UNSUPPORTED_OP',
        `Tensor "${t.name}" has element type ${dataTypeName(type)} (${count} values), which CamLens does not compute with.`,
      );
  }
}

/** Integer tensor values as plain numbers (shapes, axes, pads); INT64 sentinels are clamped. */
export function tensorToNumbers(t: TensorProto): number[] {
  const a = tensorToArray(t);
  return Array.from(a as ArrayLike<number | bigint>, (v) => int64ToNumber(v));
}

export function makeTensor(name: string, dataType: DataType, dims: readonly number[], values: ArrayLike<number | bigint>): TensorProto {
  const count = elementCount(dims);
  if (values.length !== count) {
    throw new CamLensError('BAD_ARGUMENT', `Tensor "${name}": ${values.length} values for shape [${dims.join(', ')}] (${count} expected).`);
  }
  let raw: Uint8Array;
  switch (dataType) {
    case DataType.FLOAT:
      raw = new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer);
      break;
    case DataType.DOUBLE:
      raw = new Uint8Array(Float64Array.from(values as ArrayLike<number>).buffer);
      break;
    case DataType.INT64:
      raw = new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
      break;
    case DataType.INT32:
      raw = new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer);
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      raw = Uint8Array.from(values as ArrayLike<number>);
      break;
    case DataType.INT8:
      raw = new Uint8Array(Int8Array.from(values as ArrayLike<number>).buffer);
      break;
    case DataType.FLOAT16:
      raw = new Uint8Array(Uint16Array.from(values as ArrayLike<number>, floatToHalf).buffer);
      break;
    case DataType.BFLOAT16:
      raw = new Uint8Array(Uint16Array.from(values as ArrayLike<number>, floatToBfloat16).buffer);
      break;
    default:
      throw new CamLensError('BAD_ARGUMENT', `makeTensor: element type ${dataTypeName(dataType)} is not supported.`);
  }
  return emptyTensor({ name, dataType, dims: [...dims], rawData: raw });
}

/** A TensorProto with every repeated field present, as the decoder would produce. */
export function emptyTensor(fields: Partial<TensorProto>): TensorProto {
  return {
    dims: [],
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
    ...fields,
  };
}
