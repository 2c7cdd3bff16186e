// Tensors whose bytes live beside the model (data_location = EXTERNAL): large exports keep
// weights in separate files named by `external_data` entries (location, offset, length,
// checksum), relative to the model's folder. We read only the byte range a tensor needs, when
// it is asked for, and refuse any location that could read outside the model folder: a model
// is untrusted input, and "../../.ssh/id_rsa" must not become a weight.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import { bytesPerElement, dataTypeName, elementCount, tensorDims } from './tensor';
import {
  DataLocation,
  DataType,
  type AttributeProto,
  type FunctionProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
} from './types';

/** Where a tensor's bytes are, as its `external_data` entries say. */
export interface ExternalDataInfo {
  location: string;
  offset: number;
  /** undefined: from `offset` to the end of the file. */
  length?: number;
  /** SHA-1 of the whole file, hex, when the exporter recorded one. */
  checksum?: string;
}

export interface ExternalDataOptions {
  /** Hash the whole file and compare with the tensor's `checksum` entry (off by default: costly). */
  verifyChecksum?: boolean;
}

/** The folder a model file's external data is relative to. */
export const modelDirOf = (modelPath: string): string => path.dirname(path.resolve(modelPath));

export const isExternal = (t: TensorProto): boolean => t.dataLocation === DataLocation.EXTERNAL;

const label = (t: TensorProto): string => `Tensor "${t.name ?? ''}"`;

function fail(t: TensorProto, location: string | undefined, why: string): never {
  const where = location === undefined ? '' : ` (external data location "${location}")`;
  throw new CamLensError('EXTERNAL_DATA', `${label(t)}${where}: ${why}`, { tensor: t.name ?? '', location });
}

function parseCount(t: TensorProto, location: string, key: string, text: string): number {
  // Decimal digits only: "1e3", "0x10", " 5" and "-1" are not what the spec writes.
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    fail(t, location, `"${key}" is "${text}", expected a non-negative whole number of bytes.`);
  }
  return Number(text);
}

export function externalDataInfo(t: TensorProto): ExternalDataInfo {
  const entries = new Map<string, string>();
  for (const e of t.externalData) entries.set(e.key ?? '', e.value ?? '');
  const location = entries.get('location');
  if (location === undefined || location === '') {
    fail(t, undefined, 'data_location is EXTERNAL but no "location" entry names the file; re-export the model with its data file.');
  }
  const info: ExternalDataInfo = { location, offset: 0 };
  const offset = entries.get('offset');
  if (offset !== undefined && offset !== '') info.offset = parseCount(t, location, 'offset', offset);
  const length = entries.get('length');
  if (length !== undefined && length !== '') info.length = parseCount(t, location, 'length', length);
  const checksum = entries.get('checksum');
  if (checksum) info.checksum = checksum.toLowerCase();
  return info;
}

/** True when `child` is `parent` itself or lies inside it (both already absolute and real). */
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!path.isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${path.sep}`));
}

/**
 * The real path of a tensor's data file, after checking that the location stays inside the
 * model folder: no absolute path, no `..` segment, and no symlink (of the file or of a folder on
 * the way) whose target lies outside the folder's real path.
 */
export function externalDataPath(t: TensorProto, modelDir: string, location: string): string {
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) {
    fail(t, location, 'the location is an absolute path; external data must be a file inside the model folder, named relative to it.');
  }
  if (location.includes('\0')) fail(t, location, 'the location contains a NUL character.');
  const segments = location.split(/[\\/]/);
  if (segments.includes('..')) {
    fail(t, location, 'the location has a ".." segment, which would leave the model folder; external data must be a file inside it.');
  }
  let realDir: string;
  try {
    realDir = fs.realpathSync(path.resolve(modelDir));
  } catch (e) {
    fail(t, location, `the model folder ${modelDir} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`);
  }
  const candidate = path.join(realDir, ...segments.filter((s) => s !== '' && s !== '.'));
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'the file does not exist' : `the file cannot be read (${code ?? String(e)})`;
    fail(t, location, `${why}; it should be at ${candidate}. Copy the model's data file next to the .onnx file.`);
  }
  if (!isInside(realDir, real)) {
    fail(t, location, `the file is a link to ${real}, outside the model folder ${realDir}; refusing to read it.`);
  }
  return real;
}

function readRange(t: TensorProto, location: string, file: string, offset: number, length: number | undefined): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    fail(t, location, `the file cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)}).`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail(t, location, 'the location names a folder or a device, not a data file.');
    const size = stat.size;
    if (offset > size) {
      fail(t, location, `offset ${offset} is past the end of the file (${size} bytes); the data file is truncated or belongs to another model.`);
    }
    const n = length ?? size - offset;
    if (offset + n > size) {
      fail(t, location, `bytes ${offset}..${offset + n} are past the end of the file (${size} bytes); the data file is truncated or belongs to another model.`);
    }
    // A fresh buffer at offset 0, so typed-array views over it are always aligned.
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const got = fs.readSync(fd, out, done, n - done, offset + done);
      if (got === 0) fail(t, location, `the file ended after ${offset + done} bytes while reading ${n} bytes at offset ${offset}.`);
      done += got;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function sha1OfFile(file: string): string {
  const hash = createHash('sha1');
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let got; (got = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, got));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Bytes the tensor's type and dims call for; undefined where that is not a fixed size (strings). */
function expectedByteLength(t: TensorProto): number | undefined {
  const type = t.dataType ?? DataType.UNDEFINED;
  if (type === DataType.STRING || type === DataType.UNDEFINED) return undefined;
  const count = elementCount(tensorDims(t));
  return Math.ceil(count * bytesPerElement(type));
}

/**
 * Reads the bytes of an EXTERNAL tensor from its data file (just the range it needs).
 * Every failure (unsafe location, missing file, range past the end, size that does not match
 * the tensor's shape, checksum mismatch) is a CamLensError('EXTERNAL_DATA').
 */
export function resolveExternalData(tensor: TensorProto, modelDir: string, options: ExternalDataOptions = {}): Uint8Array {
  if (!isExternal(tensor)) {
    throw new CamLensError('EXTERNAL_DATA', `${label(tensor)} keeps its data inside the model; there is no external data to read.`);
  }
  const info = externalDataInfo(tensor);
  if (tensor.dataType === DataType.STRING) {
    fail(tensor, info.location, 'string tensors cannot be stored as external data (ONNX keeps them inside the model).');
  }
  const file = externalDataPath(tensor, modelDir, info.location);
  const bytes = readRange(tensor, info.location, file, info.offset, info.length);
  const expected = expectedByteLength(tensor);
  if (expected !== undefined && bytes.byteLength !== expected) {
    fail(
      tensor,
      info.location,
      `${bytes.byteLength} bytes at offset ${info.offset}, but a ${dataTypeName(tensor.dataType)} tensor of shape [${tensorDims(tensor).join(', ')}] needs ${expected}.`,
    );
  }
  if (options.verifyChecksum && info.checksum) {
    const actual = sha1OfFile(file);
    if (actual !== info.checksum)
      fail(tensor, info.location, `the file's SHA-1 is ${actual}, but the model records ${info.checksum}; the data file was changed or replaced.`);
  }
  return bytes;
}

/**
 * A copy of the tensor with its bytes inlined (rawData set, data_location DEFAULT, no
 * external_data entries). The original is not touched. A tensor that is not external is
 * returned as is.
 */
export function withResolvedData(tensor: TensorProto, modelDir: string, options: ExternalDataOptions = {}): TensorProto {
  if (!isExternal(tensor)) return tensor;
  const rawData = resolveExternalData(tensor, modelDir, options);
  const copy: TensorProto = { ...tensor, rawData, externalData: [] };
  delete copy.dataLocation;
  return copy;
}

/** Whether any tensor of the model (initializers, attributes, subgraphs, functions) is external. */
export function hasExternalData(model: ModelProto): boolean {
  let found = false;
  const probe = (t: TensorProto): TensorProto => {
    if (isExternal(t)) found = true;
    return t;
  };
  mapModelTensors(model, probe);
  return found;
}

/**
 * The model with every external tensor inlined (see withResolvedData). Returns a new
 * ModelProto that shares everything it did not have to change with the original; the original
 * is not touched. Models without external data come back as the same object.
 */
export function loadExternalTensors(model: ModelProto, modelDir: string, options: ExternalDataOptions = {}): ModelProto {
  if (!hasExternalData(model)) return model;
  return mapModelTensors(model, (t) => withResolvedData(t, modelDir, options));
}

type TensorMap = (t: TensorProto) => TensorProto;

/** Rebuilds only the containers whose tensors `f` replaced; everything else is shared. */
function mapModelTensors(model: ModelProto, f: TensorMap): ModelProto {
  const graph = model.graph ? mapGraph(model.graph, f) : undefined;
  const functions = mapList(model.functions, (fn) => mapFunction(fn, f));
  const trainingInfo = mapList(model.trainingInfo, (ti) => {
    const initialization = ti.initialization ? mapGraph(ti.initialization, f) : undefined;
    const algorithm = ti.algorithm ? mapGraph(ti.algorithm, f) : undefined;
    if (initialization === ti.initialization && algorithm === ti.algorithm) return ti;
    return { ...ti, ...(initialization ? { initialization } : {}), ...(algorithm ? { algorithm } : {}) };
  });
  if (graph === model.graph && functions === model.functions && trainingInfo === model.trainingInfo) return model;
  return { ...model, ...(graph ? { graph } : {}), functions, trainingInfo };
}

/** `list` itself when `f` returns every element unchanged, else a new array. */
function mapList<T>(list: T[], f: (x: T) => T): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const y = f(list[i]);
    if (y !== list[i] && !out) out = list.slice(0, i);
    if (out) out.push(y);
  }
  return out ?? list;
}

function mapSparse(s: SparseTensorProto, f: TensorMap): SparseTensorProto {
  const values = s.values ? f(s.values) : undefined;
  const indices = s.indices ? f(s.indices) : undefined;
  if (values === s.values && indices === s.indices) return s;
  return { ...s, ...(values ? { values } : {}), ...(indices ? { indices } : {}) };
}

function mapAttribute(a: AttributeProto, f: TensorMap): AttributeProto {
  const t = a.t ? f(a.t) : undefined;
  const g = a.g ? mapGraph(a.g, f) : undefined;
  const sparseTensor = a.sparseTensor ? mapSparse(a.sparseTensor, f) : undefined;
  const tensors = mapList(a.tensors, f);
  const graphs = mapList(a.graphs, (x) => mapGraph(x, f));
  const sparseTensors = mapList(a.sparseTensors, (x) => mapSparse(x, f));
  if (t === a.t && g === a.g && sparseTensor === a.sparseTensor && tensors === a.tensors && graphs === a.graphs && sparseTensors === a.sparseTensors) return a;
  return { ...a, ...(t ? { t } : {}), ...(g ? { g } : {}), ...(sparseTensor ? { sparseTensor } : {}), tensors, graphs, sparseTensors };
}

function mapNode(n: NodeProto, f: TensorMap): NodeProto {
  if (n.attribute.length === 0) return n;
  const attribute = mapList(n.attribute, (a) => mapAttribute(a, f));
  return attribute === n.attribute ? n : { ...n, attribute };
}

function mapGraph(g: GraphProto, f: TensorMap): GraphProto {
  const initializer = mapList(g.initializer, f);
  const sparseInitializer = mapList(g.sparseInitializer, (s) => mapSparse(s, f));
  const node = mapList(g.node, (n) => mapNode(n, f));
  if (initializer === g.initializer && sparseInitializer === g.sparseInitializer && node === g.node) return g;
  return { ...g, initializer, sparseInitializer, node };
}

function mapFunction(fn: FunctionProto, f: TensorMap): FunctionProto {
  const node = mapList(fn.node, (n) => mapNode(n, f));
  const attributeProto = mapList(fn.attributeProto, (a) => mapAttribute(a, f));
  if (node === fn.node && attributeProto === fn.attributeProto) return fn;
  return { ...fn, node, attributeProto };
}
