// NumPy .npy files: the exchange format for inputs, maps and tensors (loads with numpy.load).
// The one reader and writer: the CLI, the batch files, the panel's saves and the tests use these.
// Pure Node with no ONNX code behind it, so the extension host can bundle it.
import * as fs from 'node:fs';
import { CamLensError } from './errors';
import { halfToFloat } from './onnx/float16';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** What a .npy header says, and where its data starts. */
export interface NpyHeader {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the first value. */
  dataOffset: number;
}

/**
 * A float32 C-order .npy file as its two pieces: the header and a view of `data` (no copy).
 * Writers hand both to one writev (atomicFileWriter.ts: writeAtomic): a batch writes three maps
 * per image, and copying each into one buffer first was 0.8 ms of a worker's 56 ms per image.
 */
export function npyParts(data: Float32Array, shape: readonly number[]): [Buffer, Buffer] {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new CamLensError('BAD_ARGUMENT', `npy: ${data.length} values do not fill shape [${shape.join(', ')}].`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10 + header.length);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  head.write(header, 10, 'latin1');
  return [head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
}

/** A float32 C-order .npy file's bytes in one buffer (a Buffer: a Uint8Array that fs and IPC take as is). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Buffer {
  return Buffer.concat(npyParts(data, shape));
}

export function writeNpy(path: string, data: Float32Array, shape: readonly number[]): void {
  fs.writeFileSync(path, encodeNpy(data, shape));
}

/** The header of a .npy file (versions 1 to 3); a typed error when it is not one. */
export function parseNpyHeader(buf: Uint8Array, source = 'array.npy'): NpyHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || b[0] !== 0x93 || b.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new CamLensError('BAD_ARGUMENT', `${source}: not a NumPy .npy file.`);
  }
  const lenBytes = b[6] === 1 ? 2 : 4;
  const headerLen = lenBytes === 2 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = 8 + lenBytes;
  const header = b.toString('latin1', start, start + headerLen);
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!dtype || shapeText === undefined) throw new CamLensError('BAD_ARGUMENT', `${source}: unreadable .npy header.`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  return { dtype, shape, fortranOrder: /'fortran_order':\s*True/.test(header), dataOffset: start + headerLen };
}

/** Reads float32 (or float16/float64, converted) C-order arrays. */
export function decodeNpy(buf: Uint8Array, source = 'array.npy'): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const { dtype, shape, fortranOrder, dataOffset } = parseNpyHeader(b, source);
  if (fortranOrder) throw new CamLensError('BAD_ARGUMENT', `${source}: Fortran-order arrays are not supported; save with numpy.ascontiguousarray.`);
  const count = shape.reduce((a, c) => a * c, 1);
  const offset = b.byteOffset + dataOffset;
  // float32 read in place when the file is the whole buffer (readFileSync's own) and the data is
  // 4-byte aligned (numpy pads the header to 64 bytes): no copy of a large input. A view into a
  // shared or larger buffer would keep (and send over IPC) all of it, so that case copies.
  if (dtype === '<f4' && b.byteOffset === 0 && b.buffer.byteLength === b.length && offset % 4 === 0 && b.length - offset >= count * 4) {
    return { shape, data: new Float32Array(b.buffer, offset, count) };
  }
  const payload = new Uint8Array(b.subarray(dataOffset)).buffer;
  const need = (size: number) => {
    if (payload.byteLength < count * size) throw new CamLensError('BAD_ARGUMENT', `${source}: truncated (${payload.byteLength} bytes for ${count} values).`);
  };
  switch (dtype) {
    case '<f4':
      need(4);
      return { shape, data: new Float32Array(payload, 0, count) };
    case '<f2':
      need(2);
      return { shape, data: Float32Array.from(new Uint16Array(payload, 0, count), halfToFloat) };
    case '<f8':
      need(8);
      return { shape, data: Float32Array.from(new Float64Array(payload, 0, count)) };
    default:
      throw new CamLensError('BAD_ARGUMENT', `${source}: dtype ${dtype} is not supported; use float32.`);
  }
}

export function readNpy(path: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}.`);
  }
  return decodeNpy(buf, path);
}
