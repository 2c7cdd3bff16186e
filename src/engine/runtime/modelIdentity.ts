// A model's identity across processes, for the on-disk session cache: the SHA-256 of its file,
// so that a copy or a move of the same model shares the cache and any edit misses it. Hashing a
// 350 MB file takes most of a second, so the hash is remembered (in this process, and in the
// disk cache under the file's path and stamp: size, mtime, ctime, inode) and recomputed only
// when the file changed.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileStampOf, type LoadedModel } from '../model';
import { DiskCache } from './diskCache';

const known = new Map<string, string>();

/** The content hash of the model's file, or undefined when it cannot vouch for the loaded model (made in memory, external data, changed on disk since). */
export function modelContentHash(model: LoadedModel, disk: DiskCache): string | undefined {
  if (!model.fileStamp) return undefined;
  const stampNow = () => {
    const st = fs.statSync(model.path, { throwIfNoEntry: false });
    return st && fileStampOf(st);
  };
  if (stampNow() !== model.fileStamp) return undefined;
  const stampKey = DiskCache.key({ kind: 'file-hash', path: path.resolve(model.path), stamp: model.fileStamp });
  const remembered = known.get(stampKey) ?? disk.details<{ sha256: string }>(stampKey)?.sha256;
  if (remembered) {
    known.set(stampKey, remembered);
    return remembered;
  }
  const sha256 = createHash('sha256').update(fs.readFileSync(model.path)).digest('hex');
  // Written while we read: the bytes hashed may not be the loaded model's.
  if (stampNow() !== model.fileStamp) return undefined;
  known.set(stampKey, sha256);
  try {
    disk.write(stampKey, undefined, { sha256 });
  } catch {
    // an unwritable cache only costs the next process this hash
  }
  return sha256;
}

/**
 * The code that builds graphs from models (autodiff rules, surgery): a graph cached by another
 * build of CamLens may differ. The running bundle's stamp stands for it: any rebuild or update
 * of CamLens misses the cache instead of loading an older build's graph.
 */
const codeStamp = (() => {
  const st = process.argv[1] ? fs.statSync(process.argv[1], { throwIfNoEntry: false }) : undefined;
  return st ? fileStampOf(st) : 'unknown';
})();

/** The disk key of a session made from `model` as `variant` describes (runtime/sessions.ts SessionSpec.diskKey). */
export function sessionDiskKey(model: LoadedModel, disk: DiskCache | undefined, variant: string): string | undefined {
  const hash = disk && modelContentHash(model, disk);
  return hash ? DiskCache.key({ kind: 'session-model', model: hash, variant, code: codeStamp }) : undefined;
}

/**
 * sessionDiskKey, worked out on first use: a request whose session is already open never needs it
 * (statting the model and hashing two keys was 0.1 ms of every panel request; issue 17).
 */
export function lazySessionDiskKey(model: LoadedModel, disk: DiskCache | undefined, variant: string): () => string | undefined {
  let known: { key: string | undefined } | undefined;
  return () => (known ??= { key: sessionDiskKey(model, disk, variant) }).key;
}
