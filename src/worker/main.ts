// The worker process: the only process that loads onnxruntime-node and sharp. It answers
// requests from its parent (extension host or CLI) over the fork IPC channel.
import { isCamLensError, isCancellation } from '../engine/errors';
import { counters } from '../engine/runtime/accounting';
import { flushDeferred } from '../engine/runtime/deferredWrites';
import { trackTensors } from '../engine/runtime/tensorTracker';
import { handlers, setEventSink, telemetry } from './handlers';
import { detachBulk, makeBulkDir, removeBulkDir } from './bulk';
import type { HostToWorker, Method, WireError, WorkerToHost } from './protocol';

const inFlight = new Map<number, AbortController>();
/** Housekeeping requests that get no telemetry markers (the panel polls some of them). */
const QUIET = new Set<string>(['ping', 'stats', 'telemetry.subscribe', 'telemetry.unsubscribe', 'telemetry.snapshot']);

function send(message: WorkerToHost): void {
  process.send?.(message);
}

/** Where large answers' arrays go (worker/bulk.ts); made once the worker talks to a parent. */
let bulkDir: string | undefined;

/** A successful answer: its large arrays through a file when that works, else all inline. */
function sendResult(id: number, result: unknown): void {
  if (bulkDir) {
    try {
      const detached = detachBulk(result, bulkDir);
      if (detached) return send({ kind: 'response', id, ok: true, result: detached.value, bulk: detached.file });
    } catch {
      // a full disk, a removed folder: the IPC channel takes it, as it always could
    }
  }
  send({ kind: 'response', id, ok: true, result });
}

function toWireError(e: unknown): WireError {
  if (isCamLensError(e)) return { code: e.code, message: e.message };
  if (isCancellation(e)) return { code: 'CANCELLED', message: 'The request was cancelled.' };
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
  counters.requestsInFlight++;
  const quiet = QUIET.has(method);
  const started = performance.now();
  let ok = false;
  if (!quiet) telemetry.sample('request-start', { id, method });
  try {
    const handler = handlers[method as Method] as ((p: unknown, c: unknown) => unknown) | undefined;
    if (!handler) throw new Error(`unknown method "${method}"`);
    const result = await handler(params, {
      signal: controller.signal,
      progress: (done: number, total: number, text?: string) => send({ kind: 'progress', id, done, total, message: text }),
    });
    // Tensors handed out are counted until the garbage collector frees them (leak telemetry).
    trackTensors(result);
    sendResult(id, result);
    ok = true;
  } catch (e) {
    send({ kind: 'response', id, ok: false, error: toWireError(e) });
  } finally {
    inFlight.delete(id);
    counters.requestsInFlight--;
    // Cache writes the request queued wait until nothing is running (runtime/deferredWrites.ts).
    if (inFlight.size === 0) setImmediate(flushDeferred);
    if (!quiet) telemetry.sample('request-end', { id, method, ms: performance.now() - started, ok });
  }
}

if (process.send) {
  process.on('message', (m: HostToWorker) => void handle(m));
  // The parent going away (editor closed, CLI killed) must not leave an orphan.
  process.on('disconnect', () => process.exit(0));
  // Finish quietly on SIGTERM too (the CLI forwards Ctrl+C).
  process.on('SIGTERM', () => process.exit(0));
  setEventSink((event, data) => send({ kind: 'event', event, data } as WorkerToHost));
  // No interval sampling until someone subscribes (the panel's Memory section, `camlens stats`):
  // requests are still sampled at start and end. A timer waking an idle worker every 250 ms made
  // its model runs slower: ResNet-50 224², the worker's session.run against plain onnxruntime's
  // run of the same model in interleaved pairs, 1.02-1.13x with the telemetry timer (even an
  // empty 250 ms timer: 0.98-1.22x) and 0.98-1.02x without it (issue 17's note).
  // CAMLENS_IPC_FILES=0: every answer through the IPC channel (no answer files).
  bulkDir = process.env.CAMLENS_IPC_FILES === '0' ? undefined : makeBulkDir();
  const dir = bulkDir;
  if (dir) process.on('exit', () => removeBulkDir(dir));
  send({ kind: 'ready', pid: process.pid, ...(bulkDir ? { bulkDir } : {}) });
}
