// The worker process: the only process that loads onnxruntime-node and sharp. It answers
// requests from its parent (extension host or CLI) over the fork IPC channel.
import { isCamLensError } from '../engine/errors';
import { handlers } from './handlers';
import type { HostToWorker, Method, WireError, WorkerToHost } from './protocol';

const inFlight = new Map<number, AbortController>();

function send(message: WorkerToHost): void {
  process.send?.(message);
}

function toWireError(e: unknown): WireError {
  if (isCamLensError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error && e.name === 'AbortError') return { code: 'CANCELLED', message: 'The request was cancelled.' };
  return { code: 'INTERNAL', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) };
}

async function handle(message: HostToWorker): Promise<void> {
  if (message.kind === 'cancel') {
    inFlight.get(message.id)?.abort();
    return;
  }
  const { id, method, params } = message;
  const controller = new AbortController();
  inFlight.set(id, controller);
  try {
    const handler = handlers[method as Method] as ((p: unknown, c: unknown) => unknown) | undefined;
    if (!handler) throw new Error(`unknown method "${method}"`);
    const result = await handler(params, {
      signal: controller.signal,
      progress: (done: number, total: number, text?: string) => send({ kind: 'progress', id, done, total, message: text }),
    });
    send({ kind: 'response', id, ok: true, result });
  } catch (e) {
    send({ kind: 'response', id, ok: false, error: toWireError(e) });
  } finally {
    inFlight.delete(id);
  }
}

if (process.send) {
  process.on('message', (m: HostToWorker) => void handle(m));
  // The parent going away (editor closed, CLI killed) must not leave an orphan.
  process.on('disconnect', () => process.exit(0));
  // Finish quietly on SIGTERM too (the CLI forwards Ctrl+C).
  process.on('SIGTERM', () => process.exit(0));
  send({ kind: 'ready', pid: process.pid });
}
