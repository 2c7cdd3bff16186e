// Worker telemetry: process memory, what the worker holds (sessions, taps, tensors, requests)
// and, with the CUDA provider, GPU memory, sampled on a timer and around each request into a
// ring buffer that subscribers (the panel's Memory section, `camlens stats --watch`) stream.
import { execFile } from 'node:child_process';
import { counters, heldCounts, processMemory, type HeldCounts, type ProcessMemory } from './accounting';

export type GpuMemory =
  { available: true; usedBytes: number; scope: 'process' | 'device'; source: 'nvidia-smi'; time: number } | { available: false; reason: string };

/** Process memory and what the worker holds (sessionBytes: bytes of the models behind the live sessions). */
export interface TelemetrySample extends ProcessMemory, HeldCounts {
  /** Epoch milliseconds. */
  time: number;
  /** Why this sample was taken; request-start/-end samples are the chart's request markers. */
  reason: 'interval' | 'request-start' | 'request-end' | 'manual';
  request?: { id: number; method: string; ms?: number; ok?: boolean };
  requestsInFlight: number;
  gpu: GpuMemory;
}

const NUMERIC = [
  'time',
  'rss',
  'heapUsed',
  'heapTotal',
  'external',
  'arrayBuffers',
  'sessionsAlive',
  'sessionBytes',
  'tapHandlesAlive',
  'tensorsHeld',
  'tensorBytesHeld',
  'requestsInFlight',
] as const;
const REASONS: ReadonlyArray<TelemetrySample['reason']> = ['interval', 'request-start', 'request-end', 'manual'];

/**
 * The telemetry ring buffer. Samples are stored in preallocated columns (typed arrays), so
 * keeping them allocates nothing on the JS heap: the monitor does not show up as a slope in the
 * leak check it runs beside. Samples are rebuilt as objects only when read.
 */
export class SampleRing {
  private readonly columns: Record<(typeof NUMERIC)[number], Float64Array>;
  private readonly reasons: Uint8Array;
  /** Request markers and GPU readings are rare or shared objects: kept by reference. */
  private readonly requests: Array<TelemetrySample['request'] | undefined>;
  private readonly gpus: GpuMemory[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`telemetry capacity must be an integer ≥ 1, got ${capacity}`);
    this.columns = Object.fromEntries(NUMERIC.map((k) => [k, new Float64Array(capacity)])) as SampleRing['columns'];
    this.reasons = new Uint8Array(capacity);
    this.requests = new Array(capacity).fill(undefined);
    this.gpus = new Array(capacity).fill(NOT_MEASURED);
  }

  get size(): number {
    return this.count;
  }

  push(s: TelemetrySample): void {
    const i = this.next;
    for (const k of NUMERIC) this.columns[k][i] = s[k];
    this.reasons[i] = REASONS.indexOf(s.reason);
    this.requests[i] = s.request;
    this.gpus[i] = s.gpu;
    this.next = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Oldest first; the last `n` samples when given. */
  toArray(n = this.count): TelemetrySample[] {
    const take = Math.max(0, Math.min(n, this.count));
    const out: TelemetrySample[] = [];
    for (let j = this.count - take; j < this.count; j++) {
      const i = (this.next - this.count + j + this.capacity) % this.capacity;
      const s = { reason: REASONS[this.reasons[i]] } as TelemetrySample;
      for (const k of NUMERIC) s[k] = this.columns[k][i];
      const request = this.requests[i];
      if (request) s.request = request;
      s.gpu = this.gpus[i];
      out.push(s);
    }
    return out;
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
    this.requests.fill(undefined);
  }
}

const NOT_MEASURED: GpuMemory = { available: false, reason: 'not available: not measured yet' };
const NOT_CUDA: GpuMemory = { available: false, reason: 'not available: the CUDA provider is not in use' };

export type ExecFn = (file: string, args: string[]) => Promise<string>;

const defaultExec: ExecFn = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000, windowsHide: true }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });

/**
 * GPU memory of this process from nvidia-smi, refreshed in the background at most every
 * `refreshMs` (nvidia-smi takes tens of milliseconds: never on the sampling path).
 */
export class GpuMemoryProbe {
  private last: GpuMemory = NOT_MEASURED;
  private lastRun = 0;
  private running = false;
  private missing = false;

  constructor(
    private readonly pid = process.pid,
    private readonly exec: ExecFn = defaultExec,
    private readonly refreshMs = 1000,
  ) {}

  /** The latest reading; starts a refresh when the CUDA provider is active and the reading is old. */
  current(cudaActive: boolean): GpuMemory {
    if (!cudaActive) return NOT_CUDA;
    if (this.missing) return this.last;
    if (!this.running && Date.now() - this.lastRun >= this.refreshMs) void this.refresh();
    return this.last;
  }

  /** Queries nvidia-smi now. */
  async refresh(): Promise<GpuMemory> {
    this.running = true;
    this.lastRun = Date.now();
    try {
      const apps = await this.exec('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits']);
      let mib: number | undefined;
      for (const line of apps.split('\n')) {
        const [pid, used] = line.split(',').map((s) => s.trim());
        if (Number(pid) === this.pid && Number.isFinite(Number(used))) mib = (mib ?? 0) + Number(used);
      }
      if (mib !== undefined) {
        this.last = { available: true, usedBytes: mib * 2 ** 20, scope: 'process', source: 'nvidia-smi', time: Date.now() };
      } else {
        // In a container nvidia-smi often cannot see the process ids: fall back to the device total.
        const devices = await this.exec('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits']);
        const total = devices
          .split('\n')
          .map((s) => Number(s.trim()))
          .filter((v) => Number.isFinite(v) && v >= 0)
          .reduce((a, b) => a + b, 0);
        this.last = { available: true, usedBytes: total * 2 ** 20, scope: 'device', source: 'nvidia-smi', time: Date.now() };
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.missing = true;
        this.last = { available: false, reason: 'not available: nvidia-smi not found' };
      } else {
        this.last = { available: false, reason: `not available: nvidia-smi failed (${(e as Error).message.split('\n')[0].slice(0, 200)})` };
      }
    } finally {
      this.running = false;
    }
    return this.last;
  }
}

export interface TelemetryOptions {
  intervalMs?: number;
  /** Samples kept in the ring buffer (default 2400: 10 minutes at 250 ms). */
  capacity?: number;
  /** Providers of the live sessions (GPU memory is read only when 'cuda' is among them). */
  providers?: () => readonly string[];
  gpu?: GpuMemoryProbe;
}

export type TelemetryListener = (sample: TelemetrySample) => void;

export class Telemetry {
  readonly buffer: SampleRing;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<TelemetryListener>();
  private readonly providers: () => readonly string[];
  private readonly gpu: GpuMemoryProbe;
  private interval: number;

  constructor(options: TelemetryOptions = {}) {
    this.interval = clampInterval(options.intervalMs ?? 250);
    this.buffer = new SampleRing(options.capacity ?? 2400);
    this.providers = options.providers ?? (() => []);
    this.gpu = options.gpu ?? new GpuMemoryProbe();
  }

  get intervalMs(): number {
    return this.interval;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts (or restarts with a new interval) the periodic sampling; the timer never keeps the process alive. */
  start(intervalMs = this.interval): void {
    this.stop();
    this.interval = clampInterval(intervalMs);
    this.timer = setInterval(() => this.sample('interval'), this.interval);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now, keeps it and hands it to every listener. */
  sample(reason: TelemetrySample['reason'] = 'manual', request?: TelemetrySample['request']): TelemetrySample {
    const s = this.read(reason, request);
    this.buffer.push(s);
    for (const listener of this.listeners) {
      try {
        listener(s);
      } catch {
        // A broken subscriber must not stop sampling for the others.
      }
    }
    return s;
  }

  /** A sample that is neither kept nor sent. */
  read(reason: TelemetrySample['reason'] = 'manual', request?: TelemetrySample['request']): TelemetrySample {
    return {
      time: Date.now(),
      reason,
      ...(request ? { request } : {}),
      ...processMemory(),
      ...heldCounts(),
      requestsInFlight: counters.requestsInFlight,
      gpu: this.gpu.current(this.providers().includes('cuda')),
    };
  }

  history(n?: number): TelemetrySample[] {
    return this.buffer.toArray(n);
  }

  subscribe(listener: TelemetryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const clampInterval = (ms: number) => {
  if (!Number.isFinite(ms) || ms < 10) throw new RangeError(`telemetry interval must be ≥ 10 ms, got ${ms}`);
  return Math.round(ms);
};
