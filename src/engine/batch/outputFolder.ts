// The folder a run writes into (`--out`). Checked before any work: an existing file there is a
// clear error, not an EEXIST after minutes of computing. A batch holds a lock file in it for
// as long as it runs (two runs into one folder once interleaved summary.jsonl and both died), and
// the lock and the journal mark the folder as a batch's output, so that a later batch over a
// parent folder does not take its overlays and .npy maps for inputs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CamLensError } from '../errors';
import { outputWriteError } from './atomicFileWriter';
import { JOURNAL_NAME } from './summaryJournal';

/** A dot file: input listings skip it, and it says who is writing into the folder. */
export const LOCK_NAME = '.camlens-batch.lock';

/** Refuses an output path that exists and is not a folder; `what` names it ("--out"). */
export function checkOutputFolder(dir: string, what = 'The output folder'): void {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory())
    throw new CamLensError('BAD_ARGUMENT', `${what} ${dir} is an existing file, not a folder; choose a folder (it is created when missing).`);
}

/** Creates the output folder (and its parents); a failure names it. */
export function makeOutputFolder(dir: string, what?: string): void {
  checkOutputFolder(dir, what);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw outputWriteError(dir, e);
  }
}

/** Whether `dir` holds a batch's output (its journal or its lock): never a place to look for inputs. */
export function isBatchOutputFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, JOURNAL_NAME)) || fs.existsSync(path.join(dir, LOCK_NAME));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, it is someone else's
  }
  // A killed run is a zombie until its new parent reaps it (in a container without an init,
  // perhaps never), and signal 0 reaches zombies: on Linux, ask /proc for its state.
  if (!fs.existsSync('/proc/self/stat')) return true; // not Linux: signal 0 is all there is
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // it ended since
  }
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates `file` holding `text`, failing with EEXIST when it exists. Written beside it and linked
 * into place (link never replaces), so no reader ever sees the lock empty and takes it for stale.
 */
function createWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  try {
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export interface OutputLock {
  /** Removes the lock file (when it is still ours). */
  release(): void;
}

/**
 * Takes `dir`'s lock (the folder must exist): the lock file is created exclusively, whole, and
 * holds this process's pid. A lock held by a live process (this one included: two Batch Exports in
 * one extension host) is a clear error; one left by a process that died (kill -9, a crash) is
 * taken over. Two runs taking over the same stale lock at the same instant can both win: the
 * window is a few microseconds after a crash, and is accepted.
 */
export function lockOutputFolder(dir: string): OutputLock {
  const file = path.join(dir, LOCK_NAME);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      createWhole(file, mine);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw outputWriteError(file, e);
      const holder = holderOf(file);
      if ((holder !== undefined && isAlive(holder)) || attempt > 0)
        throw new CamLensError(
          'BAD_ARGUMENT',
          `Another camlens batch${holder !== undefined ? ` (pid ${holder})` : ''} is writing into ${dir}; wait for it to finish or choose another output folder. If no such run is going on, delete ${file}.`,
          { lock: file, ...(holder !== undefined ? { pid: holder } : {}) },
        );
      fs.rmSync(file, { force: true }); // its process is gone: take the lock over
    }
  }
  return {
    release: () => {
      try {
        if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
      } catch {
        // already gone: nothing to release
      }
    },
  };
}
