// How many workers `camlens batch` starts (--workers N, or auto) and the onnxruntime threads
// each gets. Auto: two on a CPU with at least two cores and the memory for a second copy of the
// model, else one. Two single-threaded workers explained 480 ResNet-50 images at 224² 12-34 %
// faster (batch 16 to batch 1) than one two-threaded worker on a 2-core machine (issue 17): one worker's
// run fills the core the other leaves idle while it decodes, draws and writes. A GPU has one
// device to share, so a GPU run keeps one worker.
import { usageError } from './command';
import { LIMITS } from './options';

export interface WorkerPlan {
  workers: number;
  /** onnxruntime intra-op threads per worker; undefined: the worker's default (one per core). */
  intraOpThreads?: number;
}

export interface WorkerPlanInput {
  /** --workers as given: a number, 'auto', or undefined (= auto). */
  option: unknown;
  /** --threads as given (per worker). */
  threads?: number;
  /** Whether the run is on the CPU (the provider asked for, or auto without a GPU provider). */
  cpu: boolean;
  cores: number;
  freeBytes: number;
  modelBytes: number;
}

/** A worker's memory, roughly: the model's weights in the session and its optimised copy, arenas, Node. */
const workerBytes = (modelBytes: number) => 3 * modelBytes + 300 * 1024 ** 2;

export function planWorkers(p: WorkerPlanInput): WorkerPlan {
  let workers: number;
  if (p.option === undefined || p.option === 'auto') {
    const roomForTwo = 2 * workerBytes(p.modelBytes) < p.freeBytes / 2;
    workers = p.cpu && p.cores >= 2 && roomForTwo ? 2 : 1;
  } else {
    const n = Number(p.option);
    const { min, max } = LIMITS.workers;
    if (!Number.isInteger(n) || n < min || n > max)
      throw usageError(`--workers: expected "auto" or an integer from ${min} to ${max}, got "${String(p.option)}".`);
    workers = n;
  }
  if (p.threads !== undefined || workers === 1) return { workers, ...(p.threads !== undefined ? { intraOpThreads: p.threads } : {}) };
  return { workers, intraOpThreads: Math.max(1, Math.floor(p.cores / workers)) };
}
