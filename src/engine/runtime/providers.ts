// Execution-provider choice. `auto` tries the GPU providers this platform's onnxruntime-node
// build offers and falls back to CPU; every fallback keeps its reason so results can say
// which provider actually ran and why another did not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CamLensError } from '../errors';

export type ProviderChoice = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

export interface ProviderOptions {
  provider?: ProviderChoice;
  deviceId?: number;
  intraOpThreads?: number;
}

export interface ProviderAttempt {
  provider: Exclude<ProviderChoice, 'auto'>;
  error?: string;
}

/** The GPU providers worth trying on this platform, best first. */
export function gpuCandidates(): Array<Exclude<ProviderChoice, 'auto' | 'cpu'>> {
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  const out: Array<Exclude<ProviderChoice, 'auto' | 'cpu'>> = [];
  if (backends.has('cuda') && cudaInstalled()) out.push('cuda');
  if (backends.has('dml')) out.push('dml');
  if (backends.has('coreml')) out.push('coreml');
  if (backends.has('webgpu')) out.push('webgpu');
  return out;
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

export function providerOrder(choice: ProviderChoice = 'auto'): Array<Exclude<ProviderChoice, 'auto'>> {
  if (!PROVIDER_CHOICES.includes(choice)) {
    throw new CamLensError('BAD_ARGUMENT', `Unknown execution provider "${choice}"; choose one of ${PROVIDER_CHOICES.join(', ')}.`);
  }
  if (choice === 'cpu') return ['cpu'];
  if (choice === 'auto') return [...gpuCandidates(), 'cpu'];
  return [choice, 'cpu'];
}

function sessionOptions(provider: Exclude<ProviderChoice, 'auto'>, options: ProviderOptions): ort.InferenceSession.SessionOptions {
  const deviceId = options.deviceId ?? 0;
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'cuda' ? { name: 'cuda', deviceId } : provider === 'dml' ? { name: 'dml', deviceId } : provider;
  return {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
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
  const fallbacks: ProviderAttempt[] = [];
  for (const provider of providerOrder(options.provider)) {
    try {
      const session = await ort.InferenceSession.create(model, sessionOptions(provider, options));
      return { session, provider, fallbacks };
    } catch (e) {
      const error = e instanceof Error ? e.message.split('\n')[0].slice(0, 400) : String(e);
      if (provider === 'cpu') throw sessionError(error);
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
