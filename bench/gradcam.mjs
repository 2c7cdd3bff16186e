// Explaining should cost little more than predicting. On a ResNet-50-sized model (built with
// the DSL, random weights), CPU, layer = last block, measured through the real worker in one
// run: forward-only latency (from a tensor in memory, and from the same .npy file) vs `explain`
// (gradcam: forward + backward + CAM; with and without the overlay PNG), at 224x224 and
// 512x512; the same for onnxruntime alone (forward model vs the model an explanation runs,
// in-process); and Score-CAM at 224 (latency, runs, channels skipped).
// Prints JSON lines. Run after `npm run build`.
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-gradcam-'));
const repeats = Number(process.env.BENCH_REPEATS ?? 11);
const emit = (o) => console.log(JSON.stringify({ bench: 'gradcam', ...o }));

const { call, kill } = startWorker();
const pairRatio = (num, den) => Math.round(median(num.map((v, i) => v / den[i])) * 1000) / 1000;

/**
 * The engine's share alone: onnxruntime runs of the forward model vs the model an explanation
 * runs (forward + backward to the layer + top-1 one-hot, built by buildGradientModel), in this
 * process, interleaved; no IPC, no pre- or post-processing.
 */
async function runOnlyRatio(modelPath, layer, size) {
  const ort = require('onnxruntime-node');
  const model = lib.loadModel(modelPath);
  const g = lib.buildGradientModel(model, { output: model.graph.outputs[0], layers: [layer], softmax: false, top1InGraph: true });
  const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  const forward = await ort.InferenceSession.create(modelPath, options);
  const gradient = await ort.InferenceSession.create(g.bytes, options);
  const x = new ort.Tensor('float32', new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size]);
  await forward.run({ input: x });
  await gradient.run({ input: x });
  const f = [];
  const b = [];
  for (let i = 0; i < repeats; i++) {
    let t0 = performance.now();
    await forward.run({ input: x });
    f.push(performance.now() - t0);
    t0 = performance.now();
    await gradient.run({ input: x });
    b.push(performance.now() - t0);
  }
  emit({
    model: 'resnet50 (DSL)',
    size,
    figure: 'gradient_run_over_forward_run',
    value: pairRatio(b, f),
    unit: 'ratio',
    forward_ms: Math.round(median(f)),
    gradient_ms: Math.round(median(b)),
    note: 'onnxruntime only, in-process',
  });
  await forward.release();
  await gradient.release();
}

try {
  for (const size of [224, 512]) {
    const modelPath = join(dir, `resnet50_${size}.onnx`);
    writeFileSync(modelPath, lib.serializeModel(lib.buildResNet50({ height: size, width: size, seed: 1 })));
    const inputPath = join(dir, `input_${size}.npy`);
    writeFileSync(inputPath, npyBytes([1, 3, size, size], size));
    const { layers } = await call('layers', { modelPath });
    const layer = layers.find((l) => l.suggested).name;
    const data = new Float32Array(3 * size * size).fill(0.1);
    // Predicting, two ways: from a tensor already in memory (onnxruntime's share only), and
    // from the same .npy file the explanation reads (what a prediction of that input costs).
    const forward = () =>
      call('run', {
        modelPath,
        inputs: { input: { dtype: 'float32', dims: [1, 3, size, size], data } },
        tensors: false,
        stats: false,
        provider: { provider: 'cpu' },
      });
    const forwardFile = () => call('run', { modelPath, image: inputPath, tensors: false, stats: false, provider: { provider: 'cpu' } });
    // Explaining, two ways: as the panel asks (map, picture and predictions; the webview draws the
    // overlay) and as `camlens explain` asks (plus the overlay PNG).
    const explainMap = () =>
      call('explain', { modelPath, input: inputPath, method: 'gradcam', layers: [layer], provider: { provider: 'cpu' }, overlay: false });
    const explainPng = () => call('explain', { modelPath, input: inputPath, method: 'gradcam', layers: [layer], provider: { provider: 'cpu' } });
    const kinds = { forward, forwardFile, explainMap, explainPng };
    for (const f of Object.values(kinds)) await f(); // warm-up: every session built
    const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    let last;
    for (let i = 0; i < repeats; i++) {
      for (const [k, f] of Object.entries(kinds)) {
        const t0 = performance.now();
        const r = await f();
        times[k].push(performance.now() - t0);
        if (k === 'explainPng') last = r;
      }
    }
    const ms = (k) => Math.round(median(times[k]) * 10) / 10;
    emit({ model: 'resnet50 (DSL)', size, figure: 'forward_only', value: ms('forward'), unit: 'ms', runs: repeats, from_file_ms: ms('forwardFile') });
    emit({
      model: 'resnet50 (DSL)',
      size,
      figure: 'explain_gradcam',
      value: ms('explainMap'),
      unit: 'ms',
      with_overlay_png_ms: ms('explainPng'),
      layer,
      worker_timings_ms: Object.fromEntries(Object.entries(last.timings_ms).map(([k, v]) => [k, Math.round(v)])),
    });
    // The ratio of each adjacent (forward, explain) pair, then the median: pairs share the
    // machine's state of the moment, which drifts by 2x on a shared VM.
    emit({
      model: 'resnet50 (DSL)',
      size,
      figure: 'explain_over_forward',
      value: pairRatio(times.explainMap, times.forward),
      unit: 'ratio',
      target: '<= 1.10',
      explain: "map, picture, predictions (the panel's request)",
      forward: 'tensor in memory',
      over_forward_from_file: pairRatio(times.explainMap, times.forwardFile),
      with_overlay_png: { over_forward: pairRatio(times.explainPng, times.forward), over_forward_from_file: pairRatio(times.explainPng, times.forwardFile) },
    });
    await runOnlyRatio(modelPath, layer, size);
    if (size === 224 && process.env.BENCH_SCORECAM !== '0') {
      // ~7 min on 2 cores: BENCH_SCORECAM=0 skips it
      const t0 = performance.now();
      const s = await call('explain', { modelPath, input: inputPath, method: 'scorecam', layers: [layer], batchSize: 32, provider: { provider: 'cpu' } });
      emit({
        model: 'resnet50 (DSL)',
        size,
        figure: 'scorecam',
        value: Math.round(performance.now() - t0),
        unit: 'ms',
        runs: s.notes.channelRuns,
        channels_skipped: s.notes.channelsSkipped,
        channels: 2048,
        batch: 32,
      });
    }
    await call('releaseAll', {});
  }
} finally {
  kill();
}
