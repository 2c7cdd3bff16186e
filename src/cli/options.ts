// Numeric command-line options, parsed in one place. Every number has bounds: an unbounded
// `--iterations 1e9`, `--batch-size 1e9` or `--threads 100000` once drove the worker to many GB
// or a crash; a bound turns that into a usage error that says what is allowed.
import * as os from 'node:os';
import { usageError } from './command';

export interface IntBounds {
  min: number;
  max: number;
}

/** Upper bounds, chosen far above any useful value but below what exhausts a machine. */
export const LIMITS = {
  /** onnxruntime threads beyond a few per core only add contention. */
  threads: { min: 0, max: Math.max(4, os.availableParallelism() * 4) },
  deviceId: { min: 0, max: 255 },
  /** Images or masked inputs per model run. */
  batchSize: { min: 1, max: 1024 },
  jobs: { min: 1, max: 64 },
  frames: { min: 1, max: 4096 },
  topk: { min: 1, max: 1000 },
  /** Perturbation steps and noise draws of `evaluate`: each is one more model run per image. */
  steps: { min: 1, max: 1000 },
  draws: { min: 1, max: 1000 },
  topKPixels: { min: 1, max: 100_000_000 },
  iterations: { min: 3, max: 1_000_000 },
  warmup: { min: 0, max: 1_000_000 },
  /** A day. */
  watchSeconds: { min: 0, max: 86_400 },
  intervalMs: { min: 10, max: 3_600_000 },
  /** A worker request; 0 = no limit. */
  timeoutSeconds: { min: 0, max: 7 * 86_400 },
} as const satisfies Record<string, IntBounds>;

/** An integer option within `bounds`, or undefined when absent. */
export function intOption(flag: string, text: unknown, bounds: IntBounds): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw usageError(`${flag}: expected an integer from ${bounds.min} to ${bounds.max.toLocaleString('en')}, got "${text}".`);
  }
  return n;
}

/** A finite number option within [min, max] (bounds inclusive unless said otherwise), or undefined. */
export function numberOption(
  flag: string,
  text: unknown,
  bounds: { min: number; max: number; minExclusive?: boolean; maxExclusive?: boolean },
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  const low = bounds.minExclusive ? n > bounds.min : n >= bounds.min;
  const high = bounds.maxExclusive ? n < bounds.max : n <= bounds.max;
  if (!Number.isFinite(n) || !low || !high) {
    const range = `${bounds.minExclusive ? '(' : '['}${bounds.min}, ${bounds.max}${bounds.maxExclusive ? ')' : ']'}`;
    throw usageError(`${flag}: expected a number in ${range}, got "${text}".`);
  }
  return n;
}
