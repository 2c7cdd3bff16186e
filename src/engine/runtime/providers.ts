// Execution-provider choice. `auto` tries the GPU providers this platform's onnxruntime-node
// build offers and falls back to CPU; every fallback keeps its reason so results can say
// which provider actually ran and why another did not.
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CamLensError } from '../errors';
import { webgpuUsable } from './webgpuProbe';

export type ProviderChoice = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

export interface ProviderOptions {
  provider?: ProviderChoice;
  deviceId?: number;
  intraOpThreads?: number;
  /**
   * Memory a request may be estimated to need before it runs (runtime/memoryBudget.ts), in MB;
   * undefined = 80% of the memory available, 0 = no limit. It travels with the provider options
   * because every request that runs a model carries them.
   */
  memoryBudgetMB?: number;
}

export interface ProviderAttempt {
  provider: Exclude<ProviderChoice, 'auto'>;
  error?: string;
}

/**
 * The GPU providers worth trying on this platform, best first, and those skipped and why. WebGPU
 * is tried only where its probe (runtime/webgpuProbe.ts, once per machine) found an adapter.
 */
export async function gpuCandidates(): Promise<{ candidates: Array<Exclude<ProviderChoice, 'auto' | 'cpu'>>; skipped: ProviderAttempt[] }> {
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  const candidates: Array<Exclude<ProviderChoice, 'auto' | 'cpu'>> = [];
  const skipped: ProviderAttempt[] = [];
  if (backends.has('cuda')) {
    if (cudaInstalled()) candidates.push('cuda');
    else skipped.push({ provider: 'cuda', error: 'skipped: onnxruntime-node CUDA binaries not installed (see README)' });
  }
  if (backends.has('dml')) candidates.push('dml');
  if (backends.has('coreml')) candidates.push('coreml');
  if (backends.has('webgpu')) {
    const probe = await webgpuUsable();
    if (probe.usable) candidates.push('webgpu');
    else skipped.push({ provider: 'webgpu', error: `skipped: ${probe.reason ?? 'no WebGPU adapter'}` });
  }
  return { candidates, skipped };
}

/** CUDA binaries are an opt-in download (see README); without them CUDA cannot load. */
function cudaInstalled(): boolean {
  try {
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(dir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The providers to try for `choice`, best first and CPU last, and the GPU providers `auto` skipped and why. */
export async function providerOrder(choice: ProviderChoice = 'auto'): Promise<{ order: Array<Exclude<ProviderChoice, 'auto'>>; skipped: ProviderAttempt[] }> {
  if (!PROVIDER_CHOICES.includes(choice)) {
    throw new CamLensError('BAD_ARGUMENT', `Unknown execution provider "${choice}"; choose one of ${PROVIDER_CHOICES.join(', ')}.`);
  }
  if (choice === 'cpu') return { order: ['cpu'], skipped: [] };
  if (choice === 'auto') {
    const gpu = await gpuCandidates();
    return { order: [...gpu.candidates, 'cpu'], skipped: gpu.skipped };
  }
  return { order: [choice, 'cpu'], skipped: [] };
}

/**
 * One onnxruntime thread per core this process may use (capped: beyond 16 the pool's
 * synchronisation costs more than it gains on these models). onnxruntime's own default counts
 * physical cores, which left a 2-vCPU machine with one thread: runs 1.6x slower (issue 17).
 */
export const defaultIntraOpThreads = (): number => Math.min(16, Math.max(1, os.availableParallelism()));

const spinning = (): '0' | '1' => (process.env.CAMLENS_ORT_SPINNING === '0' ? '0' : '1');

function sessionOptions(provider: Exclude<ProviderChoice, 'auto'>, options: ProviderOptions): ort.InferenceSession.SessionOptions {
  const deviceId = options.deviceId ?? 0;
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'cuda' ? { name: 'cuda', deviceId } : provider === 'dml' ? { name: 'dml', deviceId } : provider;
  return {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    // Failures reach the user through our typed errors; onnxruntime's own stderr log is noise.
    logSeverityLevel: 4,
    intraOpNumThreads: options.intraOpThreads || defaultIntraOpThreads(),
    // The pool's threads spin between the operators of a run: without it each operator wakes
    // sleeping threads, and a run after an idle pause (a user's click) took 55 ms instead of 28 on
    // ResNet-50 224² (bench/plain.mjs with BENCH_SETTLE_MS=300). They stop spinning when the run
    // returns (force_spinning_stop): the CAM tail (upsampling, colormap, PNG) runs on this process
    // right after it and would otherwise share the cores with spinning threads (2-4x slower on 2
    // cores). CAMLENS_ORT_SPINNING=0 turns spinning off.
    extra: { session: { intra_op: { allow_spinning: spinning() }, force_spinning_stop: '1' } },
  };
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: Exclude<ProviderChoice, 'auto'>;
  /** Providers tried before the one that worked, with why each failed. */
  fallbacks: ProviderAttempt[];
}

/** Creates a session with the first provider that works; never throws for a provider failure alone. */
export async function createSession(model: Uint8Array, options: ProviderOptions = {}): Promise<CreatedSession> {
  return createSessionWith((_provider, sessionOptions) => ort.InferenceSession.create(model, sessionOptions), options);
}

/**
 * Opens a session for one provider with onnxruntime options made for it (`createSessionWith`'s
 * seam: runtime/cachedSession.ts opens CPU sessions from its on-disk cache).
 */
export type SessionOpener = (provider: Exclude<ProviderChoice, 'auto'>, sessionOptions: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

/** createSession with the opening step supplied: each provider in turn, CPU last, every failure kept. */
export async function createSessionWith(open: SessionOpener, options: ProviderOptions = {}): Promise<CreatedSession> {
  const { order, skipped } = await providerOrder(options.provider);
  const fallbacks: ProviderAttempt[] = [...skipped];
  for (const provider of order) {
    try {
      const session = await open(provider, sessionOptions(provider, options));
      return { session, provider, fallbacks };
    } catch (e) {
      const error = e instanceof Error ? e.message.split('\n')[0].slice(0, 400) : String(e);
      if (provider === 'cpu') throw e instanceof CamLensError ? e : sessionError(error);
      fallbacks.push({ provider, error });
    }
  }
  throw new Error('unreachable: the CPU provider is always tried last');
}

function sessionError(message: string): CamLensError {
  const unsupported = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/.exec(message);
  if (unsupported) {
    return new CamLensError('UNSUPPORTED_OP', `onnxruntime cannot run operator ${unsupported[1]} (opset ${unsupported[2]}) of node "${unsupported[3]}".`);
  }
  return new CamLensError('MODEL_INVALID', `onnxruntime could not load the model: ${message}`);
}
