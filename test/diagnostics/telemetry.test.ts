import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { serializeModel } from '../../src/engine/onnx/io';
import { GpuMemoryProbe, SampleRing, Telemetry, type TelemetrySample } from '../../src/engine/runtime/telemetry';
import { WorkerClient } from '../../src/worker/client';
import type { EventMessage } from '../../src/worker/protocol';
import { tinyCnn } from '../helpers/models';

const workerPath = resolve(__dirname, '../../worker.js');
const dir = mkdtempSync(join(tmpdir(), 'camlens-telemetry-'));
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, serializeModel(tinyCnn()));

describe('telemetry', () => {
  it('keeps the last samples in a ring buffer, oldest first', () => {
    const t = new Telemetry({ capacity: 3 });
    const taken = [1, 2, 3, 4, 5].map(() => t.sample('manual'));
    deepStrictEqual(
      t.history().map((s) => s.time),
      taken.slice(2).map((s) => s.time),
    );
    deepStrictEqual(t.history(2), taken.slice(3));
    equal(t.history(0).length, 0);
    const ring = new SampleRing(2);
    const s = { ...taken[0], reason: 'request-end' as const, request: { id: 7, method: 'explain', ms: 3, ok: true } };
    ring.push(s);
    deepStrictEqual(ring.toArray(), [s]);
  });

  it('samples process memory, counters and says when GPU memory is not available', () => {
    const s = new Telemetry().read();
    ok(s.rss > 0 && s.heapUsed > 0 && s.heapTotal >= s.heapUsed && s.external >= 0 && s.arrayBuffers >= 0);
    for (const k of ['sessionsAlive', 'sessionBytes', 'tapHandlesAlive', 'tensorsHeld', 'tensorBytesHeld', 'requestsInFlight'] as const)
      ok(Number.isFinite(s[k]), k);
    deepStrictEqual(s.gpu, { available: false, reason: 'not available: the CUDA provider is not in use' });
  });

  it('reads GPU memory from nvidia-smi (process, device fallback, missing tool)', async () => {
    const calls: string[][] = [];
    const fake =
      (apps: string, devices = '') =>
      async (_file: string, args: string[]) => {
        calls.push(args);
        return args[0].startsWith('--query-compute-apps') ? apps : devices;
      };
    const own = await new GpuMemoryProbe(42, fake('17, 100\n42, 512\n')).refresh();
    deepStrictEqual({ ...own, time: 0 }, { available: true, usedBytes: 512 * 2 ** 20, scope: 'process', source: 'nvidia-smi', time: 0 });
    const device = await new GpuMemoryProbe(42, fake('17, 100\n', '1000\n24\n')).refresh();
    equal(device.available && device.scope, 'device');
    equal(device.available && device.usedBytes, 1024 * 2 ** 20);
    const missing = new GpuMemoryProbe(42, async () => {
      throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    });
    await missing.refresh();
    deepStrictEqual(missing.current(true), { available: false, reason: 'not available: nvidia-smi not found' });
    equal(new GpuMemoryProbe(42, fake('')).current(false).available, false);
    ok(calls.length >= 3);
  });

  it('hands every sample to subscribers until they unsubscribe', () => {
    const t = new Telemetry();
    const got: TelemetrySample[] = [];
    const off = t.subscribe((s) => got.push(s));
    t.sample('request-start', { id: 1, method: 'explain' });
    off();
    t.sample();
    equal(got.length, 1);
    deepStrictEqual(got[0].request, { id: 1, method: 'explain' });
  });
});

describe('telemetry from the worker', () => {
  const client = new WorkerClient({ workerPath, defaultTimeoutMs: 60_000 });
  after(() => client.dispose());

  it('streams samples as events with request markers, and stops on unsubscribe', async () => {
    const samples: TelemetrySample[] = [];
    const events: EventMessage[] = [];
    client.on('telemetry', (s: TelemetrySample) => samples.push(s));
    client.on('event', (m: EventMessage) => events.push(m));
    const sub = await client.request('telemetry.subscribe', { intervalMs: 50, history: 10 });
    equal(sub.intervalMs, 50);
    ok(sub.capacity >= 100);
    await client.request('run', { modelPath, tensors: false, provider: { provider: 'cpu' } });
    // Wait for a few interval samples; polled (a loaded CI machine can be slow to schedule them).
    for (let i = 0; i < 200 && samples.filter((s) => s.reason === 'interval').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const off = await client.request('telemetry.unsubscribe', { subscriptionId: sub.subscriptionId });
    deepStrictEqual(off, { unsubscribed: true, subscribers: 0 });
    const n = samples.length;
    ok(n >= 4, `${n} samples (2 interval + request markers expected)`);
    equal(events.length, n);
    equal(events[0].event, 'telemetry');
    const start = samples.find((s) => s.reason === 'request-start' && s.request?.method === 'run');
    const end = samples.find((s) => s.reason === 'request-end' && s.request?.method === 'run');
    ok(start && end, 'request markers around "run"');
    equal(start!.requestsInFlight, 1);
    ok(end!.request!.ok && end!.request!.ms! > 0);
    ok(end!.sessionsAlive >= 1);
    const kept = (await client.request('telemetry.snapshot', { history: 2400 })).history.length;
    await new Promise((r) => setTimeout(r, 150));
    equal(samples.length, n, 'no events after unsubscribing');
    const snap = await client.request('telemetry.snapshot', { history: 3 });
    equal(snap.history.length, 3);
    // Nobody subscribes: no timer wakes the worker (it slowed its model runs), so no new samples.
    equal((await client.request('telemetry.snapshot', { history: 2400 })).history.length, kept, 'no interval samples without a subscriber');
    equal(snap.sessions.length, snap.sample.sessionsAlive);
    equal(snap.sample.gpu.available, false);
  });

  it('rejects a bad interval', async () => {
    await client.request('telemetry.subscribe', { intervalMs: 1 }).then(
      () => ok(false),
      (e: Error) => ok(/between 10 and 600000/.test(e.message)),
    );
  });
});
