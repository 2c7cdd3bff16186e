// Time for the full metric set (`evaluate`, every family: localisation, deletion/insertion,
// confidence, ROAD, stability, sanity, random baselines) on one 224x224 input with a
// ResNet-50-sized model (built with the DSL, random weights), CPU, through the real worker;
// and the model runs used. Also the default set (no ROAD, no sanity) for comparison.
// Prints JSON lines. Run after `npm run build`. BENCH_ROAD="20,50,80" narrows ROAD's percentiles.
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npyBytes, startWorker } from './lib/client.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const sharp = require('sharp');
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-metrics-'));
const emit = (o) => console.log(JSON.stringify({ bench: 'metrics', ...o }));
const size = Number(process.env.BENCH_SIZE ?? 224);

const { call, kill } = startWorker();

try {
  const modelPath = join(dir, `resnet50_${size}.onnx`);
  writeFileSync(modelPath, lib.serializeModel(lib.buildResNet50({ height: size, width: size, seed: 1 })));
  const input = join(dir, 'input.npy');
  writeFileSync(input, npyBytes([1, 3, size, size], 7));
  // A centred square as the ground truth (S.mask.png beside S.npy).
  const mask = Buffer.alloc(size * size);
  for (let y = size / 4; y < (3 * size) / 4; y++) mask.fill(255, y * size + size / 4, y * size + (3 * size) / 4);
  await sharp(mask, { raw: { width: size, height: size, channels: 1 } })
    .png()
    .toFile(join(dir, 'input.mask.png'));
  const { layers } = await call('layers', { modelPath });
  const layer = layers.find((l) => l.suggested).name;
  const base = { modelPath, input, method: 'gradcam', layers: [layer], provider: { provider: 'cpu' } };
  const t0 = performance.now();
  await call('explain', base); // warm-up: sessions built
  emit({ case: 'explain warm-up', size, ms: Math.round(performance.now() - t0) });
  const t1 = performance.now();
  const e = await call('explain', base);
  const explainMs = performance.now() - t1;
  emit({ case: 'explain (gradcam)', size, ms: Math.round(explainMs), ep: e.ep });
  const road = process.env.BENCH_ROAD ? process.env.BENCH_ROAD.split(',').map(Number) : undefined;
  for (const [name, metrics] of [
    ['default set', undefined],
    ['full set', ['localisation', 'deletion', 'confidence', 'road', 'stability', 'sanity', 'random']],
  ]) {
    const t = performance.now();
    const r = await call('evaluate', { ...base, metrics, roadPercentiles: road });
    const ms = performance.now() - t;
    emit({
      case: `evaluate ${name}`,
      size,
      ms: Math.round(ms),
      phases_ms: Object.fromEntries(Object.entries(r.timings_ms).map(([k, v]) => [k, Math.round(v)])),
      model_runs: r.modelRuns,
      metrics: Object.keys(r.metrics).length,
      ratio_to_explain: Math.round((ms / explainMs) * 10) / 10,
    });
  }
} finally {
  kill();
}
