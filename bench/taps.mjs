// Tap overhead on a fixture CNN, measured through the real worker (IPC included):
// forward latency with 0 taps vs every Conv output vs every value tapped, and the session swap
// time when a tap is added. Prints JSON lines. Run after `npm run build`.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { median, startWorker } from './lib/client.mjs';

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
  const { layers } = await call('layers', { modelPath });
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
  // Session swap: register a new tap, the next run builds the new session and releases the old.
  const swaps = [];
  const targets = layers
    .filter((l) => l.op === 'Relu')
    .slice(0, 5)
    .map((l) => l.name);
  for (const value of targets) {
    const { handleId } = await call('taps.register', { modelPath, value });
    const t0 = performance.now();
    await call('run', base);
    swaps.push(performance.now() - t0);
    await call('taps.remove', { handleId });
  }
  emit('session_swap_on_tap_add', median(swaps), 'ms', {
    includes: 'build tapped model + create session + one run',
    ratio_vs_steady_run: Math.round((median(swaps) / none) * 100) / 100,
  });
  const stats = await call('stats', {});
  emit('sessions_alive_after', stats.counters.sessionsAlive, 'count');
} finally {
  kill();
}
