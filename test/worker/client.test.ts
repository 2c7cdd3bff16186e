import { equal, match, ok, rejects } from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { serializeModel } from '../../src/engine/onnx/io';
import { WORKER_MALLOC_ENV, WorkerClient, WorkerRequestError } from '../../src/host/workerClient';
import { tinyCnn } from '../helpers/models';

const workerPath = resolve(__dirname, '../../worker.js');
const dir = mkdtempSync(join(tmpdir(), 'camlens-worker-'));
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, serializeModel(tinyCnn()));

describe('worker client', () => {
  const client = new WorkerClient({ workerPath, defaultTimeoutMs: 30_000 });
  after(() => client.dispose());

  it('shuts the worker down cleanly: sessions released, no orphan process', async () => {
    const c = new WorkerClient({ workerPath });
    const { pid } = await c.request('ping', {});
    await c.request('run', { modelPath, tensors: false });
    await c.dispose();
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    equal(alive, false, 'worker process is gone');
  });

  it('answers requests from a forked worker', async () => {
    const pong = await client.request('ping', {});
    ok(pong.pid > 0 && pong.pid !== process.pid);
    const layers = await client.request('layers', { modelPath });
    equal(layers.summary.nodeCount, 7);
    equal(layers.summary.parameterCount, 8 * 27 + 16 * 72 + 64 + 4);
    ok(layers.suggestion?.value.includes('block2'));
  });

  it('starts the worker with the glibc malloc settings that keep rss flat, unless the user set them', { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ (Linux only)' }, async () => {
    const environOf = (pid: number) => new Map(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const { pid } = await client.request('ping', {});
    const env = environOf(pid);
    for (const [k, v] of Object.entries(WORKER_MALLOC_ENV)) equal(env.get(k), process.env[k] ?? v, k);
    const custom = new WorkerClient({ workerPath, env: { ...process.env, MALLOC_ARENA_MAX: '4' } });
    try {
      const other = environOf((await custom.request('ping', {})).pid);
      equal(other.get('MALLOC_ARENA_MAX'), '4', 'the user\'s value wins');
      equal(other.get('MALLOC_MMAP_THRESHOLD_'), process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072');
    } finally {
      await custom.dispose();
    }
  });

  it('turns engine errors into typed errors', async () => {
    await rejects(client.request('layers', { modelPath: join(dir, 'nope.onnx') }), (e: unknown) => e instanceof WorkerRequestError && e.code === 'MODEL_READ');
  });

  it('fails pending requests when the worker dies and restarts it on the next request', async () => {
    const first = await client.request('ping', {});
    const pending = client.request('sleep', { ms: 10_000 });
    process.kill(first.pid, 'SIGKILL');
    await rejects(pending, (e: unknown) => e instanceof WorkerRequestError && (e.code === 'WORKER_CRASHED' || e.code === 'INTERNAL'));
    const again = await client.request('ping', {});
    ok(again.pid !== first.pid);
    equal(client.restarts, 1);
  });

  it('times out and cancels', async () => {
    const controller = new AbortController();
    const p = client.request('sleep', { ms: 10_000 }, { signal: controller.signal });
    controller.abort();
    await rejects(p, (e: unknown) => e instanceof WorkerRequestError && e.code === 'CANCELLED');
    const late = new WorkerClient({ workerPath, defaultTimeoutMs: 1 });
    try {
      await rejects(late.request('sleep', { ms: 5_000 }), (e: unknown) => e instanceof WorkerRequestError && /did not answer/.test((e as Error).message));
    } finally {
      await late.dispose();
    }
    match((await client.request('ping', {})).pid.toString(), /\d+/);
  });
});
