import { equal, match, ok, rejects } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { serializeModel } from '../../src/engine/onnx/io';
import { WorkerClient, WorkerRequestError } from '../../src/host/workerClient';
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
