// A size-capped on-disk cache of model files (onnxruntime's optimised models, the gradient graphs
// we build), shared by every CamLens process of the user. An entry is one file, `<key>.entry`:
// the bytes, then a trailer (size, SHA-1 of the bytes, the caller's details; JSON), its length
// and a magic number. Writers write a temp file and rename it into place, so bytes and trailer
// arrive together: concurrent writers of one key each rename a whole entry, the last one wins,
// a reader never sees half of one or one writer's bytes under another's checksum. A reader
// checks size and checksum and treats a mismatch as a miss (and drops the entry): a corrupt
// entry costs a rebuild, never a wrong answer. The least recently used entries (mtime, touched
// on each hit) are evicted beyond the cap.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Trailer<T> {
  /** Bytes before the trailer; 0 = a details-only entry. */
  size: number;
  sha1: string;
  details: T;
}

export interface CachedFile<T> {
  bytes: Uint8Array;
  details: T;
  /** Resolves true when the bytes match the checksum written with them (checked off the main thread). */
  intact: Promise<boolean>;
}

const KEY_PATTERN = /^[0-9a-f]{16,128}$/;
const MAGIC = 0x31434c43; // "CLC1"
const TAIL = 8; // trailer length (uint32) + magic (uint32)

export class DiskCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** A cache key from anything JSON-able (a content hash, options, versions...). */
  static key(parts: unknown): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** The caller's details of an entry, without reading its bytes. */
  details<T>(key: string): T | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.entryPath(key), 'r');
    } catch {
      return undefined;
    }
    let trailer: Trailer<T> | undefined;
    try {
      const length = fs.fstatSync(fd).size;
      const tail = Buffer.alloc(TAIL);
      if (length >= TAIL) fs.readSync(fd, tail, 0, TAIL, length - TAIL);
      const jsonLength = tail.readUInt32LE(0);
      if (length >= TAIL && tail.readUInt32LE(4) === MAGIC && jsonLength <= length - TAIL) {
        const json = Buffer.alloc(jsonLength);
        fs.readSync(fd, json, 0, jsonLength, length - TAIL - jsonLength);
        trailer = parseTrailer<T>(json, length - TAIL - jsonLength);
      }
    } finally {
      fs.closeSync(fd);
    }
    if (!trailer) {
      this.remove(key);
      return undefined;
    }
    this.touch(key);
    return trailer.details;
  }

  /**
   * The entry's bytes and details. Only the size is checked before; `intact` checks the checksum
   * in the thread pool, so that the caller can start using the bytes (build a session) meanwhile,
   * and must drop the result (and call `remove`) when it resolves false.
   */
  read<T>(key: string): CachedFile<T> | undefined {
    let file: Buffer;
    try {
      file = fs.readFileSync(this.entryPath(key));
    } catch {
      return undefined; // absent, or evicted by another process
    }
    const jsonLength = file.byteLength >= TAIL && file.readUInt32LE(file.byteLength - 4) === MAGIC ? file.readUInt32LE(file.byteLength - TAIL) : -1;
    const start = file.byteLength - TAIL - jsonLength;
    const trailer = jsonLength >= 0 && start >= 0 ? parseTrailer<T>(file.subarray(start, file.byteLength - TAIL), start) : undefined;
    if (!trailer) {
      this.remove(key);
      return undefined;
    }
    if (trailer.size === 0) return undefined;
    this.touch(key);
    // A view of the file's own memory (read, never shared): no copy of a 300 MB model.
    const bytes = new Uint8Array(file.buffer as ArrayBuffer, file.byteOffset, trailer.size);
    const intact = crypto.subtle.digest('SHA-1', bytes).then((d) => Buffer.from(d).toString('hex') === trailer.sha1);
    return { bytes, details: trailer.details, intact };
  }

  /** Stores `bytes` (or only `details`) under `key`. */
  write<T>(key: string, bytes: Uint8Array | undefined, details: T): void {
    const temp = this.tempPath(key);
    fs.writeFileSync(temp, bytes ?? new Uint8Array(0));
    this.commit(key, temp, details);
  }

  /** A fresh path in the cache folder for a producer that writes the file itself (onnxruntime); pass it to `commit`. */
  tempPath(key: string): string {
    fs.mkdirSync(this.dir, { recursive: true });
    return path.join(this.dir, `${key}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  }

  /** Makes a finished temp file `key`'s entry: its trailer appended, renamed into place. */
  commit<T>(key: string, tempFile: string, details: T): void {
    const bytes = fs.readFileSync(tempFile);
    const trailer: Trailer<T> = { size: bytes.byteLength, sha1: createHash('sha1').update(bytes).digest('hex'), details };
    const json = Buffer.from(JSON.stringify(trailer));
    const tail = Buffer.alloc(TAIL);
    tail.writeUInt32LE(json.byteLength, 0);
    tail.writeUInt32LE(MAGIC, 4);
    fs.appendFileSync(tempFile, Buffer.concat([json, tail]));
    fs.renameSync(tempFile, this.entryPath(key));
    this.evict();
  }

  remove(key: string): void {
    fs.rmSync(this.entryPath(key), { force: true });
  }

  /** Entries, least recently used first, with their bytes on disk. */
  entries(): Array<{ key: string; bytes: number; usedMs: number }> {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: Array<{ key: string; bytes: number; usedMs: number }> = [];
    for (const name of names) {
      if (!name.endsWith('.entry')) continue;
      const st = fs.statSync(path.join(this.dir, name), { throwIfNoEntry: false });
      if (st) out.push({ key: name.slice(0, -'.entry'.length), bytes: st.size, usedMs: st.mtimeMs });
    }
    return out.sort((a, b) => a.usedMs - b.usedMs);
  }

  private touch(key: string): void {
    const now = new Date();
    try {
      fs.utimesSync(this.entryPath(key), now, now); // most recently used
    } catch {
      // evicted meanwhile by another process: the caller has its bytes already
    }
  }

  private evict(): void {
    const entries = this.entries();
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      // The entry just written goes last (it is the most recent); alone over the cap, it goes too.
      this.remove(e.key);
      total -= e.bytes;
    }
    // Temp files of writers that died mid-write (a day old: a live writer is never that slow).
    const dayAgo = Date.now() - 86_400_000;
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.tmp')) continue;
      const st = fs.statSync(path.join(this.dir, name), { throwIfNoEntry: false });
      if (st && st.mtimeMs < dayAgo) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }

  private entryPath(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.dir, `${key}.entry`);
  }
}

/** A trailer that parses and says as many bytes as precede it; undefined for anything else (corrupt). */
function parseTrailer<T>(json: Uint8Array, bytesBefore: number): Trailer<T> | undefined {
  try {
    const t = JSON.parse(Buffer.from(json).toString('utf8')) as Trailer<T>;
    return typeof t?.size === 'number' && t.size === bytesBefore && typeof t.sha1 === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The user's CamLens cache folder: CAMLENS_CACHE_DIR (the extension passes its global storage
 * folder), else $XDG_CACHE_HOME/camlens, else ~/.cache/camlens. CAMLENS_CACHE_DIR=off turns
 * the disk cache off. Size cap: CAMLENS_CACHE_MAX_MB (default 2048).
 */
export function userDiskCache(env: NodeJS.ProcessEnv = process.env): DiskCache | undefined {
  const configured = env.CAMLENS_CACHE_DIR;
  if (configured === 'off') return undefined;
  const root = configured || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'camlens');
  const maxMB = env.CAMLENS_CACHE_MAX_MB ? Number(env.CAMLENS_CACHE_MAX_MB) : NaN;
  return new DiskCache(path.join(root, 'sessions'), (Number.isFinite(maxMB) && maxMB >= 0 ? maxMB : 2048) * 1024 ** 2);
}
