// A size-capped on-disk cache of model files (onnxruntime's optimised models, the gradient graphs
// we build), shared by every CamLens process of the user. An entry is two files:
// - `<key>.<sha1>.bin`, the payload's exact bytes, named by their SHA-1, so that onnxruntime opens
//   it by path (no copy into JS: a 100 MB model loads in 0.65 s instead of 1.1 s, with 100 MB less
//   memory); absent for a details-only entry;
// - `<key>.json`, the record: the payload's size and SHA-1 and the caller's details.
// Writers write temp files and rename them into place, the payload first, so a record only ever
// names a payload that was whole when it arrived. Concurrent writers of one key (keys are content
// addressed: equivalent payloads, maybe not the same bytes) each rename a payload of their own
// name and then their record; the last record wins and names its own writer's bytes, so a reader
// sees one writer's whole entry, or a miss where its payload was removed meanwhile — never one
// writer's bytes under another's checksum. A reader checks the size, and the checksum off the
// main thread (`intact`), and treats a mismatch as a miss and drops the entry: a corrupt entry
// costs a rebuild, never a wrong answer. The least recently used entries (the record's mtime,
// touched on each hit; both files' bytes counted) are evicted beyond the cap. Each eviction pass
// also removes payloads no record names once a minute old (a writer that lost the race above, or
// died between its two renames; a writer finding its payload there already touches it), temp
// files of writers that died mid-write, and `<key>.entry` files of CamLens versions before this
// layout (never read).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha1OfFileOffThread, sha1OfFileSync } from './fileChecksum';

interface CacheRecord<T> {
  /** Payload bytes; 0 = a details-only entry (no payload file). */
  size: number;
  sha1: string;
  details: T;
}

export interface CachedFile<T> {
  /** The payload file, to be opened by path (onnxruntime) while `intact` is checked. */
  path: string;
  size: number;
  details: T;
  /**
   * Resolves true when the file's bytes match the checksum written with them (hashed in a worker
   * thread). On false the caller must drop what it made of the file and call `remove`.
   */
  intact: Promise<boolean>;
}

const KEY_PATTERN = /^[0-9a-f]{16,128}$/;
const SHA1_PATTERN = /^[0-9a-f]{40}$/;
const FILE_PATTERN = /^([0-9a-f]{16,128})(?:\.json|\.([0-9a-f]{40})\.bin)$/;
/** A payload no record names is kept this long: its writer may be between its two renames. */
const UNNAMED_PAYLOAD_GRACE_MS = 60_000;
/** Temp files of writers that died mid-write (a live writer is never this slow). */
const DEAD_TEMP_MS = 86_400_000;

export class DiskCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** A cache key from anything JSON-able (a content hash, options, versions...). */
  static key(parts: unknown): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** The caller's details of an entry, without opening its payload. */
  details<T>(key: string): T | undefined {
    const record = this.record<T>(key);
    if (!record) return undefined;
    this.touch(key);
    return record.details;
  }

  /**
   * The entry's payload file and details. Only the size is checked here; `intact` checks the
   * checksum in a worker thread, so that the caller can open the file (build a session) meanwhile.
   */
  lookup<T>(key: string): CachedFile<T> | undefined {
    const record = this.record<T>(key);
    if (!record || record.size === 0) return undefined;
    const file = this.payloadPath(key, record.sha1);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st?.size !== record.size) {
      this.remove(key); // truncated, or removed meanwhile by another process
      return undefined;
    }
    this.touch(key);
    const intact = sha1OfFileOffThread(file).then((sha1) => sha1 === record.sha1);
    return { path: file, size: record.size, details: record.details, intact };
  }

  /** Stores `bytes` (or only `details`) under `key`. */
  write<T>(key: string, bytes: Uint8Array | undefined, details: T): void {
    if (!bytes?.byteLength) {
      this.commitRecord(key, { size: 0, sha1: createHash('sha1').digest('hex'), details });
      return;
    }
    const temp = this.tempPath(key);
    fs.writeFileSync(temp, bytes);
    this.commit(key, temp, details);
  }

  /** A fresh path in the cache folder for a producer that writes the file itself (onnxruntime); pass it to `commit`. */
  tempPath(key: string): string {
    fs.mkdirSync(this.dir, { recursive: true });
    return path.join(this.dir, `${key}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  }

  /** Makes a finished temp file `key`'s payload (renamed into place) and writes its record. */
  commit<T>(key: string, tempFile: string, details: T): void {
    let size: number;
    let sha1: string;
    try {
      size = fs.statSync(tempFile).size;
      sha1 = sha1OfFileSync(tempFile);
      const payload = this.payloadPath(key, sha1);
      if (fs.statSync(payload, { throwIfNoEntry: false })?.size === size) {
        // These bytes are there already (another writer's; or corrupt, which a reader drops): no rename
        // over a file a reader may hold open; touched, so that no eviction pass takes it for unnamed.
        const now = new Date();
        fs.utimesSync(payload, now, now);
        fs.rmSync(tempFile, { force: true });
      } else {
        fs.renameSync(tempFile, payload);
      }
    } catch (error) {
      dropFile(tempFile);
      throw error;
    }
    this.commitRecord(key, { size, sha1, details });
  }

  /** Removes the entry: its record first (a reader then misses), then every payload of the key. */
  remove(key: string): void {
    dropFile(this.recordPath(key));
    for (const f of this.files()) if (f.key === key && f.sha1) dropFile(path.join(this.dir, f.name));
  }

  /** Entries, least recently used first, with their bytes on disk (record and payloads). */
  entries(): Array<{ key: string; bytes: number; usedMs: number }> {
    const byKey = new Map<string, { key: string; bytes: number; recordMs?: number; payloadMs: number }>();
    for (const f of this.files()) {
      const e = byKey.get(f.key) ?? { key: f.key, bytes: 0, payloadMs: -Infinity };
      e.bytes += f.bytes;
      if (f.sha1) e.payloadMs = Math.max(e.payloadMs, f.mtimeMs);
      else e.recordMs = f.mtimeMs;
      byKey.set(f.key, e);
    }
    // The record's mtime is the last use (touched on each hit); payloads without a record count by their own.
    const out = [...byKey.values()].map((e) => ({ key: e.key, bytes: e.bytes, usedMs: e.recordMs ?? e.payloadMs }));
    return out.sort((a, b) => a.usedMs - b.usedMs);
  }

  /** The record, parsed; a record that does not parse is dropped with the entry. */
  private record<T>(key: string): CacheRecord<T> | undefined {
    let json: string;
    try {
      json = fs.readFileSync(this.recordPath(key), 'utf8');
    } catch {
      return undefined; // absent, or evicted by another process
    }
    const record = parseRecord<T>(json);
    if (!record) this.remove(key);
    return record;
  }

  private commitRecord<T>(key: string, record: CacheRecord<T>): void {
    const temp = this.tempPath(key);
    fs.writeFileSync(temp, JSON.stringify(record));
    fs.renameSync(temp, this.recordPath(key));
    this.evict();
  }

  private touch(key: string): void {
    const now = new Date();
    try {
      fs.utimesSync(this.recordPath(key), now, now); // most recently used
    } catch {
      // evicted meanwhile by another process: the caller has opened its file already
    }
  }

  private evict(): void {
    const now = Date.now();
    for (const name of fs.readdirSync(this.dir)) {
      const old = name.endsWith('.entry') || (name.endsWith('.tmp') && (statOf(this.dir, name)?.mtimeMs ?? now) < now - DEAD_TEMP_MS);
      if (old) dropFile(path.join(this.dir, name));
    }
    this.removeUnnamedPayloads(now);
    const entries = this.entries();
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      // The entry just written goes last (it is the most recent); alone over the cap, it goes too.
      this.remove(e.key);
      total -= e.bytes;
    }
  }

  /** Payloads their key's record does not name, once older than a writer's two renames take. */
  private removeUnnamedPayloads(now: number): void {
    for (const f of this.files()) {
      if (!f.sha1 || f.mtimeMs > now - UNNAMED_PAYLOAD_GRACE_MS) continue;
      let named: string | undefined;
      try {
        named = parseRecord(fs.readFileSync(this.recordPath(f.key), 'utf8'))?.sha1;
      } catch {
        // no record: nothing names it
      }
      if (named !== f.sha1) dropFile(path.join(this.dir, f.name));
    }
  }

  /** The cache's records and payloads (not temp files, not old-format entries). */
  private files(): Array<{ name: string; key: string; sha1?: string; bytes: number; mtimeMs: number }> {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((name) => {
      const match = FILE_PATTERN.exec(name);
      const st = match && statOf(this.dir, name);
      return st ? [{ name, key: match[1], sha1: match[2], bytes: st.size, mtimeMs: st.mtimeMs }] : [];
    });
  }

  private recordPath(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.dir, `${key}.json`);
  }

  private payloadPath(key: string, sha1: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.dir, `${key}.${sha1}.bin`);
  }
}

/** Removes a file; one another process holds open (Windows) stays for a later pass, and a record that stays is checked again by its next reader. */
function dropFile(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // see above
  }
}

const statOf = (dir: string, name: string) => fs.statSync(path.join(dir, name), { throwIfNoEntry: false });

/** A record that parses and has the fields a reader relies on; undefined for anything else (corrupt). */
function parseRecord<T>(json: string): CacheRecord<T> | undefined {
  try {
    const r = JSON.parse(json) as CacheRecord<T>;
    return Number.isSafeInteger(r?.size) && r.size >= 0 && typeof r.sha1 === 'string' && SHA1_PATTERN.test(r.sha1) ? r : undefined;
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
