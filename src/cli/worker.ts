// The CLI runs models in the same worker process the extension uses.
import * as path from 'node:path';
import { WORKER_EXEC_ARGV, WORKER_MALLOC_ENV, WorkerClient } from '../worker/client';
import { PROVIDER_CHOICES, type ProviderChoice, type ProviderOptions } from '../engine/runtime/providers';
import { CamLensError } from '../engine/errors';
import { intOption, LIMITS, numberOption } from './options';

/** Without a limit, a model that never finishes (a Loop with a 1e15 trip count) hangs the CLI. */
export const DEFAULT_CLI_TIMEOUT_SECONDS = 900;

/**
 * A CLI command's processes (its worker, the batch process bin/camlens.js starts) live for one
 * command, so they need not give memory back as the extension's long-lived worker must
 * (WORKER_MALLOC_ENV). Buffers up to 32 MiB (glibc's own ceiling for its
 * dynamic threshold) stay on the heap: a batch gets same-sized outputs from every run (ResNet-50
 * at batch 16: two 6.4 MB arrays), which as fresh mmaps faulted all their pages in again each
 * time (about 190 page faults per image; `perf stat -e page-faults`, issue 17's note).
 * Transparent huge pages as the extension's worker has them (WORKER_MALLOC_ENV): a CLI command is
 * one cold start (ResNet-50 `camlens explain` with a warm session cache: 1.47-1.89 → 0.97-1.49 s;
 * a plain onnxruntime session's process: 95 k → 18 k page faults, 0.5 s sooner).
 * A value the user sets still wins.
 */
export const CLI_MALLOC_ENV: Readonly<Record<string, string>> = { ...WORKER_MALLOC_ENV, MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024) };

/**
 * A CLI command's worker starts with a 64 MB old generation. Its JS heap holds ~10 MB, and with
 * V8's default limits for so small a heap every few images of a batch (their decoded pictures,
 * maps and PNGs are short-lived buffers) ran a full mark-compact: 101 of them for 480 images at
 * batch 1, each with concurrent marking on a helper thread that takes a core from onnxruntime.
 * With this floor: 4 (`--trace-gc`, issue 17's note). Its cost is a larger heap between
 * collections (worker peak rss 372 -> 394 MB on ResNet-50), fine for a process that lives for
 * one command; the extension's long-lived worker keeps V8's defaults.
 */
export const CLI_WORKER_EXEC_ARGV: readonly string[] = [...WORKER_EXEC_ARGV, '--initial-heap-size=64'];

/** `values` are the command's parsed options: `--timeout SECONDS` (0 = no limit) is read from them; `env` is added to the worker's. */
export function startWorker(values: Record<string, unknown> = {}, env: Record<string, string> = {}): WorkerClient {
  const seconds = intOption('--timeout', values.timeout, LIMITS.timeoutSeconds) ?? DEFAULT_CLI_TIMEOUT_SECONDS;
  const client = new WorkerClient({
    workerPath: path.join(__dirname, 'worker.js'),
    defaultTimeoutMs: seconds * 1000,
    execArgv: [...CLI_WORKER_EXEC_ARGV],
    env: { ...CLI_MALLOC_ENV, ...process.env, ...env },
  });
  const stop = () => void client.dispose().then(() => process.exit(130));
  process.once('SIGINT', stop);
  return client;
}

export const providerCliOptions = {
  provider: { type: 'string' },
  'device-id': { type: 'string' },
  threads: { type: 'string' },
  timeout: { type: 'string' },
  'memory-budget': { type: 'string' },
} as const;

export const providerHelp = [
  '  --provider NAME  execution provider: auto (default), cpu, cuda, webgpu, dml, coreml',
  '  --device-id N    GPU device id (default 0)',
  '  --threads N      onnxruntime intra-op threads (default: one per available core, at most 16)',
  '  --memory-budget MB  refuse a request estimated to need more memory (default 80% of the available memory; 0 = no limit)',
  `  --timeout S      fail a worker request that takes longer than S seconds and restart the worker (default ${DEFAULT_CLI_TIMEOUT_SECONDS}; 0 = no limit)`,
].join('\n');

export function providerFromArgs(values: Record<string, unknown>): ProviderOptions {
  const provider = (values.provider as string | undefined) ?? 'auto';
  if (!PROVIDER_CHOICES.includes(provider as ProviderChoice)) {
    throw new CamLensError('BAD_ARGUMENT', `--provider: "${provider}" is not one of ${PROVIDER_CHOICES.join(', ')}.`, { usage: true });
  }
  return {
    provider: provider as ProviderChoice,
    deviceId: intOption('--device-id', values['device-id'], LIMITS.deviceId),
    intraOpThreads: intOption('--threads', values.threads, LIMITS.threads),
    memoryBudgetMB: numberOption('--memory-budget', values['memory-budget'], { min: 0, max: 1 << 30 }),
  };
}

/**
 * A worker error as the CLI reports it: typed codes become CamLensErrors (a one-line message,
 * exit 1); internal errors stay as they are (a stack trace helps there).
 */
export function asCliError(e: unknown): unknown {
  if (e instanceof CamLensError) return e;
  const err = e as { code?: string; message: string };
  return err?.code && err.code !== 'INTERNAL' ? new CamLensError(err.code as never, err.message) : e;
}
