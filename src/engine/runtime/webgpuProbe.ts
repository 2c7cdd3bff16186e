// Whether onnxruntime's WebGPU provider finds a GPU adapter on this machine, asked in a child
// process. Trying WebGPU in the worker itself (as `auto` did) costs a failed session build on
// every machine without a usable adapter, and Dawn prints its findings on the process's own
// stderr from native code ("Warning: Vulkan shaderUniform*ArrayDynamicIndexing required",
// "XDG_RUNTIME_DIR is invalid"): the user saw them on every `camlens explain`. The child's
// stderr is ours to read, so the answer comes back with its reason and nothing reaches the user.
// The answer is kept in the user's disk cache (a details-only entry) under what it depends on:
// onnxruntime's version, the OS and, on Linux, the Vulkan drivers and GPU device nodes present;
// it is asked again after a week, or at once when any of those change.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelBuilder } from '../onnx/builder';
import { serializeModel } from '../onnx/io';
import { DataType } from '../onnx/types';
import { DiskCache, userDiskCache } from './diskCache';

export interface WebGpuProbe {
  usable: boolean;
  /** Why not, in onnxruntime's and Dawn's words (first lines). */
  reason?: string;
}

interface ProbeRecord extends WebGpuProbe {
  probedAtMs: number;
}

/** Runs the probe; the seam tests replace. */
export type ProbeRunner = () => Promise<WebGpuProbe & { keep: boolean }>;

export const PROBE_MAX_AGE_MS = 7 * 86_400_000;
const PROBE_TIMEOUT_MS = 30_000;

let answer: Promise<WebGpuProbe> | undefined;

/** The probe's answer for this machine: from this process's memory, else the disk cache, else a child process. */
export function webgpuUsable(options: { cache?: DiskCache; run?: ProbeRunner; now?: number } = {}): Promise<WebGpuProbe> {
  const given = options.cache !== undefined || options.run !== undefined;
  if (answer && !given) return answer;
  const asked = askOnce(options.cache ?? userDiskCache(), options.run ?? runProbeChild, options.now ?? Date.now());
  if (!given) answer = asked;
  return asked;
}

async function askOnce(cache: DiskCache | undefined, run: ProbeRunner, now: number): Promise<WebGpuProbe> {
  if (process.platform === 'linux' && !vulkanLoaderPresent()) return { usable: false, reason: 'no Vulkan loader (libvulkan.so.1) on this machine' };
  const key = DiskCache.key({
    probe: 'webgpu',
    onnxruntime: ort.env.versions.common,
    platform: process.platform,
    arch: process.arch,
    os: os.release(),
    gpu: gpuFingerprint(),
  });
  const kept = readRecord(cache, key);
  if (kept && now - kept.probedAtMs >= 0 && now - kept.probedAtMs < PROBE_MAX_AGE_MS)
    return { usable: kept.usable, ...(kept.reason ? { reason: kept.reason } : {}) };
  const { keep, ...probe } = await run();
  if (keep && cache) {
    try {
      cache.write<ProbeRecord>(key, undefined, { ...probe, probedAtMs: now });
    } catch {
      // a read-only or full cache folder: the probe runs again in the next process
    }
  }
  return probe;
}

function readRecord(cache: DiskCache | undefined, key: string): ProbeRecord | undefined {
  try {
    const r = cache?.details<ProbeRecord>(key);
    return r && typeof r.usable === 'boolean' && Number.isFinite(r.probedAtMs) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** On Linux, WebGPU runs on Vulkan: without its loader there is nothing to ask. */
function vulkanLoaderPresent(): boolean {
  const dirs = [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

/**
 * On Linux, what decides whether Dawn finds an adapter: the Vulkan drivers installed (ICD files),
 * the GPU device nodes, and the environment variables that pick drivers. Names and mtimes only.
 */
function gpuFingerprint(): unknown {
  if (process.platform !== 'linux') return null;
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/dev/dri', '/dev/nvidia0'];
  const listing = dirs.map((dir) => {
    try {
      const st = fs.statSync(dir);
      const names = st.isDirectory() ? fs.readdirSync(dir).sort() : [];
      return [dir, st.mtimeMs, names.map((n) => [n, fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0])];
    } catch {
      return [dir, null];
    }
  });
  return { listing, env: ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'XDG_RUNTIME_DIR', 'DISPLAY'].map((v) => process.env[v] ?? null) };
}

/** A one-node model (Relu on float[1]): the smallest thing a WebGPU session can be built for. */
function tinyModel(): Uint8Array {
  const b = ModelBuilder.create(17, 'webgpu_probe');
  const x = b.input('x', DataType.FLOAT, [1]);
  b.node('Relu', [x], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, [1]);
  return serializeModel(b.build());
}

// Runs in the child: builds a WebGPU session for the model (argv[2], base64) and says how it went
// on stdout. Dawn's own lines go to the child's stderr, which the parent reads.
const CHILD_SCRIPT = `
const ort = require(process.argv[1]);
ort.InferenceSession.create(Buffer.from(process.argv[2], 'base64'), { executionProviders: ['webgpu'], logSeverityLevel: 4 })
  .then((s) => s.release())
  .then(() => { process.stdout.write('ok'); process.exit(0); },
        (e) => { process.stdout.write(String((e && e.message) || e)); process.exit(3); });
`;

/** The probe in a child process of the same Node (or Electron-as-Node), its stderr captured. */
export const runProbeChild: ProbeRunner = () =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, require.resolve('onnxruntime-node'), Buffer.from(tinyModel()).toString('base64')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
      windowsHide: true,
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-4000)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ usable: false, reason: `the WebGPU probe could not start: ${e.message}`, keep: false });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && stdout === 'ok') return resolve({ usable: true, keep: true });
      if (signal) return resolve({ usable: false, reason: `the WebGPU probe did not finish (${signal})`, keep: false });
      resolve({ usable: false, reason: probeReason(stdout, stderr), keep: true });
    });
  });

/**
 * onnxruntime's error (after its source-location preamble, "… was false. Failed to get a WebGPU
 * adapter: No supported adapters") and Dawn's first warning (else its first error), which usually
 * names the cause.
 */
export function probeReason(stdout: string, stderr: string): string {
  const line = stdout.split('\n')[0];
  const error = (line.includes(' was false. ') ? line.slice(line.indexOf(' was false. ') + 12) : line).trim();
  const lines = stderr.split('\n').map((l) => l.trim());
  const dawn = lines.find((l) => /^Warning:/i.test(l)) ?? lines.find((l) => /^Error:/i.test(l));
  return [error || 'the WebGPU session could not be created', dawn].filter(Boolean).join('; ').slice(0, 400);
}
