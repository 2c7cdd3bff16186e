// Large typed arrays of a worker answer travel beside its IPC message, in one file of a private
// folder (in memory on Linux: /dev/shm), instead of inside it. Node's IPC channel moves a
// message in 64 KB pieces and serialises, joins and parses it on both sides: a ResNet-50 512²
// panel answer (1.3 MB map + 0.8 MB picture) took 20–25 ms to arrive, the same bytes through
// a file 2–10 ms; a full-size photo's picture and map (tens of MB) would take hundreds of ms.
// The worker writes the file and puts a placeholder where each array was; the client reads the
// file once, puts views of it back and deletes it. Anything that goes wrong on the worker's side
// (no folder, a full disk) sends the answer inline as before: the file is an optimisation only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Answers with fewer array bytes than this go inline: below it the file's own costs win. */
export const BULK_MIN_BYTES = 256 * 1024;
/** Arrays smaller than this stay in the message even when the answer goes through a file. */
const ARRAY_MIN_BYTES = 16 * 1024;

const TYPES = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypeName = keyof typeof TYPES | 'Buffer';

/** Where an array was: its constructor and its bytes in the file. */
export interface BulkRef {
  $camlensBulk: { type: TypeName; offset: number; length: number };
}

const isRef = (v: unknown): v is BulkRef => typeof v === 'object' && v !== null && '$camlensBulk' in v;

function typeNameOf(v: ArrayBufferView): TypeName | undefined {
  if (Buffer.isBuffer(v)) return 'Buffer';
  const name = v.constructor.name as keyof typeof TYPES;
  return TYPES[name] && v instanceof TYPES[name] ? name : undefined;
}

const BASES = () => ['/dev/shm', os.tmpdir()];
const DIR_PREFIX = 'camlens-answers-';

/**
 * The worker's folder for answer files: under /dev/shm when it is there (memory, no disk I/O),
 * else the system temp folder; readable by this user only. undefined when none can be made.
 */
export function makeBulkDir(): string | undefined {
  for (const base of BASES()) {
    try {
      if (!fs.statSync(base).isDirectory()) continue;
      return fs.mkdtempSync(path.join(base, DIR_PREFIX));
    } catch {
      // not here: try the next place
    }
  }
  return undefined;
}

let fileCounter = 0;

/**
 * `value` with its large typed arrays replaced by references into a file written in `dir`, and
 * that file; undefined when the answer is small (or has no such arrays). Objects along the way
 * are copied, never changed: the engine may keep what it answered. Throws when the file cannot
 * be written (the caller then sends the answer inline).
 */
export function detachBulk(value: unknown, dir: string): { value: unknown; file: string } | undefined {
  const arrays: ArrayBufferView[] = [];
  const seen = new Map<ArrayBufferView, BulkRef>();
  let offset = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (ArrayBuffer.isView(v)) {
      if (v.byteLength < ARRAY_MIN_BYTES || v instanceof DataView) return v;
      const type = typeNameOf(v);
      if (!type) return v;
      let ref = seen.get(v);
      if (!ref) {
        ref = { $camlensBulk: { type, offset, length: v.byteLength } };
        seen.set(v, ref);
        arrays.push(v);
        offset += Math.ceil(v.byteLength / 8) * 8; // every view starts 8-byte aligned
      }
      return ref;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (Object.getPrototypeOf(v) !== Object.prototype) return v; // Map, Date, Error...: as they are
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  const detached = walk(value);
  if (offset < BULK_MIN_BYTES) return undefined;
  const file = path.join(dir, `${process.pid}-${fileCounter++}.bin`);
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    const pieces: Uint8Array[] = [];
    for (const a of arrays) {
      pieces.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      const pad = Math.ceil(a.byteLength / 8) * 8 - a.byteLength;
      if (pad) pieces.push(new Uint8Array(pad));
    }
    let written = fs.writevSync(fd, pieces);
    if (written < offset) {
      // A short write (rare on a regular file): the rest from one joined copy.
      const all = Buffer.concat(pieces);
      while (written < offset) written += fs.writeSync(fd, all, written, offset - written, written);
    }
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return { value: detached, file };
}

/**
 * Fresh memory is paid for page by page on first touch: reading a 1.8 MB answer into a new
 * buffer took 5-7 ms on the 2-core VM (11-16 µs a page), into touched memory 0.3 ms. So after
 * each answer the client touches the memory of the next one while it is idle (a timer, after
 * the answer's own handling) and reads the next answer into it when it fits. Each spare serves
 * one answer and is never reused: the answer's views own it. Up to 64 MiB (a full-size photo's
 * picture and map may be more: those read as before).
 */
const SPARE_MAX_BYTES = 64 * 1024 * 1024;
let spare: ArrayBuffer | undefined;
let spareTimer: NodeJS.Timeout | undefined;
let spareWanted = 0;

/** Bytes of the touched buffer the next answer may read into (tests). */
export const spareBytes = (): number => spare?.byteLength ?? 0;

function readAnswerFile(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    // A spare serves an answer of at least half its size: a small answer does not pin a large spare.
    const fits = spare && spare.byteLength >= size && spare.byteLength <= 2 * size + 65536;
    const bytes = fits ? Buffer.from(spare!, 0, size) : Buffer.allocUnsafeSlow(size);
    if (fits) spare = undefined;
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    prepareSpare(size);
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Touches a spare for an answer of `size` bytes (the last answer's) once the client is idle. */
function prepareSpare(size: number): void {
  spareWanted = size;
  if (size > SPARE_MAX_BYTES || (spare && spare.byteLength >= size) || spareTimer) return;
  spareTimer = setTimeout(() => {
    spareTimer = undefined;
    if (spare && spare.byteLength >= spareWanted) return;
    const next = new ArrayBuffer(Math.ceil((spareWanted * 1.25) / 4096) * 4096);
    const touch = new Uint8Array(next);
    for (let i = 0; i < touch.length; i += 4096) touch[i] = 0;
    spare = next;
  }, 20);
  spareTimer.unref(); // never keeps a CLI command alive
}

/**
 * The answer with its arrays back: views into the file's bytes (read once, then deleted). The
 * file must be in `dir`, the folder the worker announced: a message cannot make the client read
 * (or delete) anything else.
 */
export function attachBulk(value: unknown, file: string, dir: string): unknown {
  if (path.dirname(path.resolve(file)) !== path.resolve(dir)) throw new Error(`answer file ${file} is not in the worker's folder ${dir}`);
  let bytes: Buffer;
  try {
    bytes = readAnswerFile(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
  // Views need their element alignment; readFileSync's own buffer starts at 0, a pooled one might not.
  if (bytes.byteOffset % 8) bytes = Buffer.from(new Uint8Array(bytes));
  const views = new Map<string, unknown>();
  const restore = ({ $camlensBulk: { type, offset, length } }: BulkRef): unknown => {
    const key = `${offset}:${length}:${type}`;
    const known = views.get(key);
    if (known) return known;
    const size = type === 'Buffer' ? 1 : TYPES[type]?.BYTES_PER_ELEMENT;
    if (!size || offset % 8 || length % size || offset < 0 || offset + length > bytes.length)
      throw new Error(`answer file ${file} does not hold what its message says`);
    const buffer = bytes.buffer as ArrayBuffer;
    const at = bytes.byteOffset + offset;
    const view = type === 'Buffer' ? Buffer.from(buffer, at, length) : new TYPES[type](buffer, at, length / size);
    views.set(key, view);
    return view;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    if (isRef(v)) return restore(v);
    if (Array.isArray(v)) return v.map(walk);
    if (Object.getPrototypeOf(v) !== Object.prototype) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  return walk(value);
}

/**
 * Whether `dir` is a folder makeBulkDir could have made: the client removes the folder of a
 * worker that died, and a path from a message must never make it remove anything else.
 */
export function isBulkDir(dir: unknown): dir is string {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) return false;
  const resolved = path.resolve(dir);
  return path.basename(resolved).startsWith(DIR_PREFIX) && BASES().some((base) => path.dirname(resolved) === path.resolve(base));
}

/** Removes a worker's answer folder and whatever it left there. */
export function removeBulkDir(dir: string): void {
  if (isBulkDir(dir)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Deletes an answer file nobody will read (its request was cancelled or timed out). */
export function dropBulk(file: string, dir: string): void {
  if (path.dirname(path.resolve(file)) === path.resolve(dir)) fs.rmSync(file, { force: true });
}
