// The CLI runs models in the same worker process the extension uses.
import * as path from 'node:path';
import { WorkerClient } from '../worker/client';
import { PROVIDER_CHOICES, type ProviderChoice, type ProviderOptions } from '../engine/runtime/providers';
import { CamLensError } from '../engine/errors';

export function startWorker(): WorkerClient {
  const client = new WorkerClient({ workerPath: path.join(__dirname, 'worker.js'), defaultTimeoutMs: 0 });
  const stop = () => void client.dispose().then(() => process.exit(130));
  process.once('SIGINT', stop);
  return client;
}

export const providerCliOptions = {
  provider: { type: 'string' },
  'device-id': { type: 'string' },
  threads: { type: 'string' },
} as const;

export const providerHelp = [
  '  --provider NAME  execution provider: auto (default), cpu, cuda, webgpu, dml, coreml',
  '  --device-id N    GPU device id (default 0)',
  '  --threads N      onnxruntime intra-op threads',
].join('\n');

export function providerFromArgs(values: Record<string, unknown>): ProviderOptions {
  const provider = (values.provider as string | undefined) ?? 'auto';
  if (!PROVIDER_CHOICES.includes(provider as ProviderChoice)) {
    throw new CamLensError('BAD_ARGUMENT', `--provider: "${provider}" is not one of ${PROVIDER_CHOICES.join(', ')}.`, { usage: true });
  }
  const int = (name: string) => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new CamLensError('BAD_ARGUMENT', `--${name}: expected a non-negative integer, got "${v}".`, { usage: true });
    return n;
  };
  return { provider: provider as ProviderChoice, deviceId: int('device-id'), intraOpThreads: int('threads') };
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
