// Numeric and file command-line options, parsed in one place. Every number has bounds: an unbounded
// `--iterations 1e9`, `--batch-size 1e9` or `--threads 100000` once drove the worker to many GB
// or a crash; a bound turns that into a usage error that says what is allowed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { optionBounds } from '../engine/cam/methodOptions';
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
  /** Batch worker processes: each holds its own copy of the model. */
  workers: { min: 1, max: 32 },
  /** Score-CAM's channel budget (--scorecam-channels): a layer has at most a few thousand. */
  scorecamChannels: { min: 1, max: 1_000_000 },
  frames: { min: 1, max: 4096 },
  topk: { min: 1, max: 1000 },
  /** kpcacam: components summed into the map; dff: concepts. The method options' bounds are engine/cam/methodOptions.ts's (the panel's too). */
  components: optionBounds('components'),
  concepts: optionBounds('concepts'),
  /** Perturbation steps and noise draws of `evaluate`: each is one more model run per image. */
  steps: { min: 1, max: 1000 },
  draws: { min: 1, max: 1000 },
  topKPixels: { min: 1, max: 100_000_000 },
  iterations: { min: 3, max: 1_000_000 },
  warmup: { min: 0, max: 1_000_000 },
  /** Input-space attributions: each step, patch, mask or noisy copy is one more model input (a row of a batched run). */
  igSteps: optionBounds('igSteps'),
  /** Occlusion patch side and step, in model-input pixels. */
  window: optionBounds('window'),
  stride: optionBounds('stride'),
  masks: optionBounds('masks'),
  noiseSamples: optionBounds('noiseSamples'),
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

/**
 * A file option that must name an existing regular file, or undefined when absent: checked here
 * so that a mistyped path is a usage error at once, not ignored (a --region-mask the model does
 * not use was never opened) or found late in the worker.
 */
export function existingFileOption(flag: string, text: unknown): string | undefined {
  if (text === undefined) return undefined;
  const file = String(text);
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) throw usageError(`${flag}: no such file: ${file}.`);
  if (!stat.isFile()) throw usageError(`${flag}: ${file} is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}; expected an image file.`);
  return file;
}
