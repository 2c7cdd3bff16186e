// How much memory a request will need, estimated from the model's shapes before anything runs,
// and the refusal when that is over the budget. Without it a model input declared 8000x8000, an
// Expand to 1e12 elements or a batch of 1e9 drove the worker to many GB or a crash (issue 18).
// The estimate is deliberately simple and errs low: every value the graph computes, at the sizes
// of this input (symbolic dimensions bound from the input; others counted as 1), in its element
// type, times the rows run at once, doubled for a backward graph (which keeps the forward values
// and adds their gradients), plus the weights. onnxruntime reuses buffers, so a forward pass
// needs less; a request over the budget by this count will not fit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import { bytesPerElement } from '../onnx/tensor';

const MiB = 1024 * 1024;

/**
 * 80% of the memory the system can still give (MemAvailable on Linux, else os.freemem()). Read
 * at most once a second: every request checks it, and reading /proc/meminfo took ~0.3 ms of a
 * 28 ms explanation (issue 17); a budget a second old is as good a guard.
 */
export function defaultMemoryBudgetBytes(now = performance.now()): number {
  if (lastBudget && now - lastBudget.at < 1000) return lastBudget.bytes;
  lastBudget = { at: now, bytes: readMemoryBudgetBytes() };
  return lastBudget.bytes;
}

let lastBudget: { at: number; bytes: number } | undefined;

function readMemoryBudgetBytes(): number {
  let available = os.freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'latin1'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem() it is
  }
  return Math.floor(0.8 * available);
}

export interface MemoryNeed {
  /** Bytes of the values one row computes. */
  perRowBytes: number;
  weightBytes: number;
  totalBytes: number;
  /** The largest single value, named (what to look at when the estimate is huge). */
  largest: { value: string; bytes: number; shape: Array<number | string | null> };
}

/**
 * The estimate for `rows` rows of an input of `inputDims` (its batch dimension included or not),
 * forward only or with a backward graph.
 */
/** Per model, the estimates already made (a walk over every value's shape: ~0.5 ms on ResNet-50, each request). */
const estimates = new WeakMap<LoadedModel, Map<string, MemoryNeed>>();

export function estimateMemory(model: LoadedModel, inputDims: readonly number[], rows: number, backward: boolean): MemoryNeed {
  let known = estimates.get(model);
  if (!known) estimates.set(model, (known = new Map()));
  const key = `${inputDims.join(',')}|${rows}|${backward}`;
  const need = known.get(key) ?? walkShapes(model, inputDims, rows, backward);
  if (known.size > 64) known.clear(); // a model explained at many sizes
  known.set(key, need);
  return need;
}

function walkShapes(model: LoadedModel, inputDims: readonly number[], rows: number, backward: boolean): MemoryNeed {
  const input = model.graph.inputs[0];
  const declared = model.shapes.get(input)?.shape ?? [];
  // Symbolic names of the input's dimensions are bound to this input's sizes (batch to 1: rows scale it).
  const bindings = new Map<string, number>();
  declared.forEach((d, i) => {
    if (typeof d === 'string' && i < inputDims.length) bindings.set(d, i === 0 ? 1 : inputDims[i]);
  });
  let perRow = 0;
  let largest: MemoryNeed['largest'] = { value: input, bytes: 0, shape: [] };
  for (const [name, t] of model.shapes) {
    if (!t.shape || model.graph.initializers.has(name)) continue;
    let n = Math.max(1, bytesPerElement(t.dtype || 1));
    for (const [i, d] of t.shape.entries()) {
      const size = typeof d === 'number' ? d : typeof d === 'string' ? (bindings.get(d) ?? 1) : 1;
      // the batch axis of the values is counted by `rows`
      n *= i === 0 && d === declared[0] && typeof d === 'string' ? 1 : Math.max(0, size);
    }
    perRow += n;
    if (n > largest.bytes) largest = { value: name, bytes: n, shape: t.shape };
  }
  const weightBytes = model.fileBytes;
  const totalBytes = perRow * rows * (backward ? 2 : 1) + weightBytes;
  return { perRowBytes: perRow, weightBytes, totalBytes, largest };
}

const mb = (n: number) => (n >= 1024 * MiB * 1024 ? `${(n / (1024 * 1024 * MiB)).toExponential(2)} TB` : `${(n / MiB).toFixed(0)} MB`);

/**
 * Throws a clear error when `need` is over `budgetBytes` (undefined: the default budget; 0: no
 * limit), naming what to change.
 */
export function checkMemoryBudget(need: MemoryNeed, budgetBytes: number | undefined, what: string): void {
  const budget = budgetBytes ?? defaultMemoryBudgetBytes();
  if (budget === 0 || !(need.totalBytes > budget)) return;
  const l = need.largest;
  throw new CamLensError(
    'BAD_ARGUMENT',
    `${what} would need about ${mb(need.totalBytes)} of memory (values ${mb(need.perRowBytes)} per row, weights ${mb(need.weightBytes)}; the largest value, "${l.value}" [${l.shape.join(', ')}], alone ${mb(l.bytes)}), more than the budget of ${mb(budget)}. ` +
      'Use a smaller input size or batch, or raise the budget (--memory-budget MB, setting camlens.memoryBudgetMegabytes; 0 = no limit).',
  );
}

/** The budget in bytes a request's provider options ask for (undefined: the default). */
export const budgetBytesOf = (options: { memoryBudgetMB?: number } | undefined): number | undefined =>
  options?.memoryBudgetMB === undefined ? undefined : options.memoryBudgetMB * MiB;
