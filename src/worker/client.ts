// The one handle on the worker process, used by the extension host, the CLI, bench and tests.
// Pure Node: no 'vscode' import. A worker that dies fails every pending request with a clear
// error and is started again on the next request.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { attachBulk, dropBulk, isBulkDir, removeBulkDir } from './bulk';
import type { EventMessage, Method, Params, Result, TelemetrySample, WireError, WorkerToHost } from './protocol';

/**
 * glibc malloc settings for the worker (a value the user sets wins). Without them rss creeps up
 * with every request although nothing is retained: onnxruntime's threads spread allocations over
 * many arenas, and glibc's dynamic mmap threshold climbs after the first large free, so later
 * multi-megabyte tensors come from the heap and fragment it. A fixed threshold stops the climb.
 * It was 128 KiB (1,000 runs of the demo model: 1.66 → 0.17 KiB/run of rss growth), but then
 * every buffer of a request above 128 KiB (the input, the map, the picture, IPC buffers) is a
 * fresh mmap whose pages fault in on first touch: reading a 3 MB .npy took 9.3 ms instead of
 * 0.4, and ResNet-50 512² explanations spent ~25 ms of their tail on it. 4 MiB keeps a
 * request's buffers on the heap (reused, no faults) and still sends model-sized ones to mmap; a
 * 32 MiB trim threshold keeps the heap top between requests instead of returning and faulting
 * it in again each time (measured in the issue 17 note, with the leak check's verdicts).
 * And malloc asks for transparent huge pages (glibc >= 2.35; older glibc, musl and other systems
 * ignore the variable): the first explanation reads the model (100 MB for ResNet-50), builds the
 * explanation model and lets onnxruntime pack its weights, each into fresh memory that otherwise
 * faults in 4 KiB at a time. ResNet-50 224², a new worker's first explanation: 1,024-1,047 →
 * 383-510 ms (model read 302-328 → 59 ms); the leak check's rss slope is unchanged (ResNet-18,
 * 150 explanations: 1.18 KiB/iteration either way), its peak rss 275 → 303 MiB.
 */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(32 * 1024 * 1024),
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
};

/**
 * V8 options for the worker. A capped young generation: by default V8 keeps growing the
 * semi-spaces (up to 16 MB each) over a long run, so a batch of 8,000 images peaked ~25 MB
 * higher than one of 2,000 with the same live heap. 2 MB semi-spaces keep the peak flat
 * (138.8 vs 139.1 MB) at the same throughput; the worker's tensors live outside the JS heap.
 */
export const WORKER_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=2'];

export class WorkerRequestError extends Error {
  constructor(
    readonly code: WireError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'WorkerRequestError';
  }
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message?: string) => void;
}

interface Pending {
  method: string;
  /** The worker process the request went to: only its death fails the request. */
  child: ChildProcess;
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: RequestOptions['onProgress'];
  cleanup(): void;
}

export interface WorkerClientOptions {
  workerPath: string;
  defaultTimeoutMs?: number;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** How a worker process ended (the arguments of the child's 'exit'). */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What the client emits, event name → payload; `on`/`off`/`once` listeners get these types. */
export interface WorkerClientEvents {
  /** The worker process is up (its pid). */
  ready: number;
  /** A worker died and is being replaced: how many times that happened this session. */
  restart: number;
  /** A worker process ended, cleanly (code 0 after `shutdown`) or not. */
  exit: WorkerExit;
  /** The child process could not be started or signalled (not 'error': see ensureWorker). */
  'worker-error': Error;
  /** Any event the worker pushed without a request. */
  event: EventMessage;
  /** A `telemetry` event's sample (after `telemetry.subscribe`). */
  telemetry: TelemetrySample;
}

/** WorkerClientEvents as node's typed EventEmitter wants it: one argument per event. */
type EmitterArgs = { [E in keyof WorkerClientEvents]: [WorkerClientEvents[E]] };

export class WorkerClient extends EventEmitter<EmitterArgs> {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  /** Default request timeout; 0 = none. Settable (the extension follows the user's setting). */
  timeoutMs: number;
  /** How many times the worker died and was replaced. */
  restarts = 0;
  private everStarted = false;
  /** The running worker's folder for large answers (worker/bulk.ts), once it said so; diagnostics and tests. */
  answers: string | undefined;

  constructor(private readonly options: WorkerClientOptions) {
    super();
    this.timeoutMs = options.defaultTimeoutMs ?? 300_000;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  request<M extends Method>(method: M, params: Params<M>, options: RequestOptions = {}): Promise<Result<M>> {
    if (this.disposed) return Promise.reject(new WorkerRequestError('CANCELLED', 'The CamLens worker has been shut down.'));
    const child = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const timer = timeoutMs > 0 ? setTimeout(() => this.timedOut(id, method, timeoutMs), timeoutMs) : undefined;
      const onAbort = () => this.fail(id, new WorkerRequestError('CANCELLED', `"${method}" was cancelled.`), true);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        method,
        child,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      });
      if (options.signal?.aborted) return onAbort();
      this.sendTo(child, { kind: 'request', id, method, params }, () => {
        // The channel is gone, though 'exit' may not have arrived yet (a worker killed a moment
        // ago): drop this worker now, or the next requests would be sent to it and fail too.
        if (this.child === child) {
          this.child = undefined;
          child.kill('SIGKILL');
        }
        this.fail(
          id,
          new WorkerRequestError('WORKER_CRASHED', `The CamLens worker went away while "${method}" was being sent; it will be restarted on the next request.`),
          false,
        );
      });
    });
  }

  /**
   * Stops the worker: asks it to release its sessions and exit, and kills it if it has not
   * gone within `graceMs`. Pending requests fail with CANCELLED. Resolves when it is gone.
   */
  dispose(graceMs = 2000): Promise<void> {
    this.disposed = true;
    this.failAll(new WorkerRequestError('CANCELLED', 'The CamLens worker was shut down.'));
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      timer.unref?.();
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) this.sendTo(child, { kind: 'request', id: this.nextId++, method: 'shutdown', params: {} }, () => child.kill('SIGKILL'));
      else child.kill('SIGKILL');
    });
  }

  private ensureWorker(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    if (this.everStarted) {
      this.restarts++;
      this.emit('restart', this.restarts);
    }
    this.everStarted = true;
    const child = fork(this.options.workerPath, [], {
      serialization: 'advanced',
      execArgv: this.options.execArgv ?? [...WORKER_EXEC_ARGV],
      env: { ...WORKER_MALLOC_ENV, ...(this.options.env ?? process.env) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // The folder this worker writes large answers into (worker/bulk.ts), from its ready message.
    let bulkDir: string | undefined;
    child.on('message', (m: WorkerToHost) => {
      if (m.kind === 'ready' && isBulkDir(m.bulkDir)) {
        bulkDir = m.bulkDir;
        if (this.child === child) this.answers = bulkDir;
      }
      this.onMessage(m, bulkDir);
    });
    child.on('exit', (code, signal) => {
      // A worker that was killed cannot clean up after itself.
      if (bulkDir) removeBulkDir(bulkDir);
      if (this.child === child) {
        this.child = undefined;
        this.answers = undefined;
      }
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      this.failAll(new WorkerRequestError('WORKER_CRASHED', `The CamLens worker ${how}; it will be restarted on the next request.`), child);
      this.emit('exit', { code, signal });
    });
    // Not 'error': an EventEmitter 'error' without a listener would throw in the editor.
    child.on('error', (e) => this.emit('worker-error', e));
    this.child = child;
    return child;
  }

  private onMessage(m: WorkerToHost, bulkDir: string | undefined): void {
    if (m.kind === 'ready') {
      this.emit('ready', m.pid);
      return;
    }
    if (m.kind === 'event') {
      // Worker-pushed events: 'event' (any) and, by name, 'telemetry' (TelemetrySample).
      // Subscriptions do not survive a worker restart: subscribe again on 'restart'.
      this.emit('event', m);
      if (m.event === 'telemetry') this.emit('telemetry', m.data);
      return;
    }
    const p = this.pending.get(m.id);
    const bulk = m.kind === 'response' && m.ok ? m.bulk : undefined;
    if (!p) {
      // Answered after it was cancelled or timed out: nobody reads its file.
      if (bulk && bulkDir) dropBulk(bulk, bulkDir);
      return;
    }
    if (m.kind === 'progress') {
      p.onProgress?.(m.done, m.total, m.message);
      return;
    }
    this.pending.delete(m.id);
    p.cleanup();
    if (!m.ok) return p.reject(new WorkerRequestError(m.error.code, m.error.message));
    if (bulk === undefined) return p.resolve(m.result);
    try {
      if (!bulkDir) throw new Error('the worker named no folder for its answers');
      p.resolve(attachBulk(m.result, bulk, bulkDir));
    } catch (e) {
      p.reject(new WorkerRequestError('INTERNAL', `CamLens worker: its answer could not be read (${(e as Error).message}).`));
    }
  }

  /**
   * A request that does not answer in time may be stuck in native code, where it cannot be
   * cancelled: the worker is killed and started again on the next request.
   */
  private timedOut(id: number, method: string, timeoutMs: number): void {
    const seconds = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
    const child = this.pending.get(id)?.child;
    this.fail(id, new WorkerRequestError('TIMEOUT', `CamLens worker: "${method}" did not answer within ${seconds}; the worker was restarted.`), false);
    if (child) {
      if (this.child === child) this.child = undefined;
      child.kill('SIGKILL');
    }
  }

  private fail(id: number, error: Error, notifyWorker: boolean): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.cleanup();
    if (notifyWorker && p.child.connected) this.sendTo(p.child, { kind: 'cancel', id }, () => undefined);
    p.reject(error);
  }

  /** Fails every pending request, or only those sent to `child`. */
  private failAll(error: Error, child?: ChildProcess): void {
    for (const [id, p] of [...this.pending]) if (!child || p.child === child) this.fail(id, error, false);
  }

  /** IPC send that never throws: a worker that just died reports through `onError`. */
  private sendTo(child: ChildProcess, message: unknown, onError: () => void): void {
    try {
      child.send(message as Parameters<ChildProcess['send']>[0], (err) => {
        if (err) onError();
      });
    } catch {
      onError();
    }
  }
}
