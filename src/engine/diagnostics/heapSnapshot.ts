// "Take heap snapshot": a .heapsnapshot file the user opens in Chrome DevTools (Memory tab).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { CamLensError } from '../errors';
import { settle } from './leakCheck';

export interface HeapSnapshotResult {
  path: string;
  bytes: number;
  ms: number;
  /** Whether a full GC ran first (so the snapshot shows what is retained, not garbage). */
  gcForced: boolean;
}

export async function takeHeapSnapshot(dir: string, options: { prefix?: string; gc?: boolean } = {}): Promise<HeapSnapshotResult> {
  if (typeof dir !== 'string' || !dir) throw new CamLensError('BAD_ARGUMENT', 'heap snapshot: a folder to write it to is required.');
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `heap snapshot: cannot create the folder "${dir}" (${(e as Error).message}).`);
  }
  const gcForced = options.gc === false ? false : await settle();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const prefix = (options.prefix ?? 'camlens-worker').replace(/[^\w.-]/g, '_');
  const file = path.join(dir, `${prefix}-${process.pid}-${stamp}.heapsnapshot`);
  const t0 = performance.now();
  let written: string;
  try {
    written = writeHeapSnapshot(file);
  } catch (e) {
    throw new CamLensError('BAD_ARGUMENT', `heap snapshot: cannot write "${file}" (${(e as Error).message}).`);
  }
  return { path: written, bytes: fs.statSync(written).size, ms: performance.now() - t0, gcForced };
}
