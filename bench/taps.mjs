// Tap overhead on a fixture CNN, measured through the real worker (IPC included):
// forward latency with 0 taps vs every Conv output vs every value tapped, the latency of a tap
// change, and tapped/untapped runs against plain onnxruntime. Prints JSON lines.
// Usage: node esbuild.mjs && BENCH_REPEATS=11 node bench/taps.mjs [model.onnx]
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';

const fixtures = process.env.CAMLENS_FIXTURES ?? resolve('../shared/fixtures');
const modelPath = process.argv[2] ?? resolve(fixtures, 'models/resnet18.onnx');
if (!existsSync(modelPath)) {
  console.log(JSON.stringify({ bench: 'taps', skipped: `model not found: ${modelPath}` }));
  process.exit(0);
}
const { call, kill } = startWorker();
const emit = (figure, value, unit, extra = {}) =>
  console.log(JSON.stringify({ bench: 'taps', model: modelPath.split('/').pop(), figure, value: Math.round(value * 100) / 100, unit, ...extra }));

async function timeRuns(params, n = 7) {
  await call('run', params); // warm-up (creates the session)
  const runs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call('run', params);
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

try {
  const { layers, summary } = await call('layers', { modelPath });
  const convs = layers.filter((l) => l.op === 'Conv').length;
  const base = { modelPath, tensors: false, stats: false, provider: { provider: 'cpu' } };
  // Blocks of runs per configuration, repeated in rounds so that machine noise hits all alike.
  const configs = { none: base, conv: { ...base, tapOps: ['Conv'] }, all: { ...base, tapAll: true } };
  const samples = { none: [], conv: [], all: [] };
  for (let round = 0; round < 3; round++) {
    for (const [name, params] of Object.entries(configs)) samples[name].push(await timeRuns(params, 5));
  }
  const none = median(samples.none);
  const conv = median(samples.conv);
  const all = median(samples.all);
  emit('forward_no_taps', none, 'ms');
  emit('forward_all_conv_taps', conv, 'ms', { taps: convs, ratio_vs_none: Math.round((conv / none) * 1000) / 1000 });
  emit('forward_all_values_tapped', all, 'ms', { taps: layers.length - 1, ratio_vs_none: Math.round((all / none) * 1000) / 1000 });
  const withStats = await timeRuns({ ...base, tapOps: ['Conv', 'Relu'], stats: true });
  emit('forward_conv_relu_taps_with_stats', withStats, 'ms', { ratio_vs_none: Math.round((withStats / none) * 1000) / 1000 });
  // Tap changes without a rebuild (issue 17): the latency of registering a tap (request to
  // answer) and the first run after it, for fusion-safe values (Relu outputs); then interleaved
  // pairs of an untapped run, a run with one tap, and plain onnxruntime (bench/lib/plain-forward.cjs,
  // a process of its own) on the same input.
  const repeats = Number(process.env.BENCH_REPEATS ?? 11);
  const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-taps-'));
  const npy = join(dir, 'input.npy');
  const dims = [1, 3, 224, 224];
  writeFileSync(npy, npyBytes(dims, 7));
  const raw = readFileSync(npy);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset + 10 + raw.readUInt16LE(8), raw.byteOffset + raw.byteLength));
  const fed = { ...base, inputs: { [summary.inputs[0].name]: { dtype: 'float32', dims, data } } };
  const relus = layers.filter((l) => l.op === 'Relu').map((l) => l.name);
  await call('run', fed); // builds the plain session; the shared tapped one follows in the background
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_BACKGROUND_MS ?? 3000)));
  const register = [];
  const firstRun = [];
  const created0 = (await call('stats', {})).counters.sessionsCreated;
  for (const value of relus.slice(0, Math.max(5, Math.min(repeats, relus.length)))) {
    const t0 = performance.now();
    const { handleId } = await call('taps.register', { modelPath, value, provider: base.provider });
    register.push(performance.now() - t0);
    const t1 = performance.now();
    const r = await call('run', fed);
    firstRun.push(performance.now() - t1);
    if (r.taps.length !== 1) throw new Error(`expected one tap, got ${r.taps.length}`);
    await call('taps.remove', { handleId });
  }
  const rebuilt = (await call('stats', {})).counters.sessionsCreated - created0;
  const plain = fork(resolve('bench/lib/plain-forward.cjs'), [modelPath, npy]);
  const answer = () => new Promise((r) => plain.once('message', r));
  await answer();
  const plainRun = async () => {
    plain.send('run');
    return answer();
  };
  const inWorker = new Map();
  const timed = async (params) => {
    const t0 = performance.now();
    const r = await call('run', params);
    const ms = performance.now() - t0;
    inWorker.set(params, [...(inWorker.get(params) ?? []), r.timings.runMs]);
    return ms;
  };
  const tappedParams = { ...fed, taps: [relus[Math.floor(relus.length / 2)]] };
  for (let i = 0; i < 3; i++) {
    await plainRun();
    await timed(fed);
    await timed(tappedParams);
  }
  const p = [];
  const untapped = [];
  const tapped = [];
  // A pause after each call: onnxruntime's pool threads in the plain process spin for a while
  // after its run (its default), which took the 2 cores from whatever ran next (+50% measured).
  const pause = () => new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < repeats; i++) {
    p.push(await plainRun());
    await pause();
    untapped.push(await timed(fed));
    await pause();
    tapped.push(await timed(tappedParams));
    await pause();
  }
  plain.send('exit');
  const ratio = (xs, ys) => Math.round(median(xs.map((v, i) => v / ys[i])) * 1000) / 1000;
  emit('tap_register_request', median(register), 'ms', { samples: register.length, max: Math.round(Math.max(...register) * 10) / 10 });
  emit('first_run_after_register', median(firstRun), 'ms', { samples: firstRun.length, sessions_built_by_registrations: rebuilt });
  const ms = (xs) => Math.round(median(xs) * 10) / 10;
  // *_in_worker: session.run alone, as the worker timed it (no IPC, no input decoding)
  emit('untapped_run_vs_plain_onnxruntime', median(untapped), 'ms', {
    plain_ms: ms(p),
    ratio: ratio(untapped, p),
    untapped_in_worker_ms: ms(inWorker.get(fed).slice(-repeats)),
    ratio_in_worker: ratio(inWorker.get(fed).slice(-repeats), p),
    repeats,
  });
  emit('tapped_run_vs_untapped', median(tapped), 'ms', {
    untapped_ms: ms(untapped),
    ratio: ratio(tapped, untapped),
    tapped_in_worker_ms: ms(inWorker.get(tappedParams).slice(-repeats)),
    ratio_in_worker: ratio(inWorker.get(tappedParams).slice(-repeats), inWorker.get(fed).slice(-repeats)),
    tap: tappedParams.taps[0],
    repeats,
  });
  const stats = await call('stats', {});
  emit('sessions_alive_after', stats.counters.sessionsAlive, 'count');
} finally {
  kill();
}
