// The WebGPU probe (issue 17's "WebGPU probe noise on stderr"): `auto` asks a child process once per
// machine whether WebGPU finds an adapter, keeps the answer in the disk cache, and a machine
// without one gets a CPU explanation with the reason in ep_fallbacks and none of Dawn's lines on
// the user's stderr.
import { equal, deepStrictEqual, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { DiskCache } from '../../src/engine/runtime/diskCache';
import { PROBE_MAX_AGE_MS, probeReason, runProbeChild, webgpuUsable, type ProbeRunner } from '../../src/engine/runtime/webgpuProbe';

const ROOT = resolve(__dirname, '../../..');
const freshCache = () => new DiskCache(mkdtempSync(join(tmpdir(), 'camlens-webgpu-probe-')), 1e9);
const vulkanHere =
  process.platform === 'linux' &&
  ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) => existsSync(join(d, 'libvulkan.so.1')));
/** Where the probe is asked at all (on Linux without a Vulkan loader it answers without asking). */
const askedHere = { skip: vulkanHere || process.platform !== 'linux' ? false : 'no Vulkan loader: the probe answers without asking' };
const webgpuBuilt = ort.listSupportedBackends().some((b) => b.name === 'webgpu');

describe('the WebGPU probe', () => {
  it("names onnxruntime's reason and Dawn's first warning, without the source-location preamble", () => {
    const stdout =
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const X&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
    const stderr =
      'error: XDG_RUNTIME_DIR is invalid or not set in the environment.\nWarning: Vulkan shaderUniform*ArrayDynamicIndexing required.\n - While initializing adapter\n';
    equal(probeReason(stdout, stderr), 'Failed to get a WebGPU adapter: No supported adapters; Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.');
    equal(probeReason('', ''), 'the WebGPU session could not be created');
  });

  it('asks once per machine: the answer is kept in the disk cache, asked again after a week', askedHere, async () => {
    const cache = freshCache();
    let runs = 0;
    const run: ProbeRunner = async () => (runs++, { usable: false, reason: 'No supported adapters', keep: true });
    const now = Date.UTC(2026, 11, 5);
    deepStrictEqual(await webgpuUsable({ cache, run, now }), { usable: false, reason: 'No supported adapters' });
    deepStrictEqual(await webgpuUsable({ cache, run, now: now + 1000 }), { usable: false, reason: 'No supported adapters' });
    equal(runs, 1, 'the second process reads the answer from the disk cache');
    await webgpuUsable({ cache, run, now: now + PROBE_MAX_AGE_MS + 1 });
    equal(runs, 2, 'a week-old answer is asked again');
  });

  it('does not keep an answer the probe could not give (it did not start, or timed out)', askedHere, async () => {
    const cache = freshCache();
    let runs = 0;
    const run: ProbeRunner = async () => (runs++, { usable: false, reason: 'the WebGPU probe did not finish (SIGKILL)', keep: false });
    await webgpuUsable({ cache, run });
    await webgpuUsable({ cache, run });
    equal(runs, 2);
  });

  it(
    "a real probe answers in a child process, and an explanation on a machine without an adapter prints none of Dawn's lines",
    { skip: vulkanHere && webgpuBuilt ? false : 'needs onnxruntime-node with WebGPU and a Vulkan loader (Linux)', timeout: 120_000 },
    async () => {
      const { keep, usable, reason } = await runProbeChild();
      ok(keep);
      if (usable) return; // a machine with a GPU adapter: WebGPU is tried, as it should be
      ok(reason && reason.length > 0);
      const out = mkdtempSync(join(tmpdir(), 'camlens-webgpu-explain-'));
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/camlens.js'), 'explain', join(ROOT, 'demo/model.onnx'), join(ROOT, 'demo/images/circle_1.png'), '--out', out],
        {
          encoding: 'utf8',
          env: { ...process.env, CAMLENS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'camlens-webgpu-cache-')) },
          timeout: 100_000,
        },
      );
      equal(r.status, 0, r.stderr);
      equal(
        r.stderr
          .split('\n')
          .filter((l) => /vulkan|dawn|XDG_RUNTIME_DIR|adapter/i.test(l))
          .join('\n'),
        '',
        'no native WebGPU lines on the user’s stderr',
      );
      const result = JSON.parse(readFileSync(join(out, 'circle_1.json'), 'utf8')) as { ep: string; ep_fallbacks: Array<{ provider: string; error: string }> };
      equal(result.ep, 'cpu');
      match(result.ep_fallbacks.find((f) => f.provider === 'webgpu')?.error ?? '', /^skipped: /);
    },
  );
});
