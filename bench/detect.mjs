// Detect + explain one box on a 640×640 YOLOv8-like model (the tests' DSL detector: C2f, SPPF,
// FPN/PAN, DFL head, output [1, 4+80, A], random weights), CPU, through the real worker:
// `explain` with the detector default (forward run → decode → class-wise NMS → the top box's
// class score as the target → forward + backward → Grad-CAM) against a plain onnxruntime
// forward of the same model in this process (a separate process from the worker), in
// interleaved pairs; the figure is the median of the pairs' ratios.
// Prints JSON lines. Run after `node esbuild.mjs`; BENCH_REPEATS (default 7).
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const ort = require('onnxruntime-node');
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-detect-'));
const repeats = Number(process.env.BENCH_REPEATS ?? 7);
const size = 640;
const emit = (o) => console.log(JSON.stringify({ bench: 'detect', model: 'yolov8-like (DSL)', size, ...o }));
const round = (x, k = 10) => Math.round(x * k) / k;

const modelPath = join(dir, 'yolo.onnx');
writeFileSync(modelPath, lib.serializeModel(lib.yoloLike({ size, classes: 80, width: 16, seed: 1 })));
const inputPath = join(dir, 'input.npy');
writeFileSync(inputPath, npyBytes([1, 3, size, size], 7));
const layer = lib.YOLO_LIKE.neckP3;

const { call, kill } = startWorker();
try {
  const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  const forward = await ort.InferenceSession.create(modelPath, options);
  const x = new ort.Tensor('float32', new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size]);
  const runForward = () => forward.run({ [lib.YOLO_LIKE.input]: x });
  const explainBox = () => call('explain', { modelPath, input: inputPath, method: 'gradcam', layers: [layer], provider: { provider: 'cpu' }, overlay: false });
  await runForward();
  let last = await explainBox(); // warm-up: every session built
  const f = [];
  const e = [];
  for (let i = 0; i < repeats; i++) {
    let t0 = performance.now();
    await runForward();
    f.push(performance.now() - t0);
    t0 = performance.now();
    last = await explainBox();
    e.push(performance.now() - t0);
  }
  await forward.release();
  emit({ figure: 'forward_only', value: round(median(f)), unit: 'ms', runs: repeats, note: 'onnxruntime alone, tensor in memory, bench process' });
  emit({
    figure: 'detect_and_explain_box',
    value: round(median(e)),
    unit: 'ms',
    runs: repeats,
    detections: last.detections.length,
    target: last.explanations[0].target,
    layer,
    worker_timings_ms: Object.fromEntries(Object.entries(last.timings_ms).map(([k, v]) => [k, Math.round(v)])),
  });
  emit({
    figure: 'detect_and_explain_over_forward',
    value: round(median(e.map((v, i) => v / f[i])), 1000),
    unit: 'ratio',
    note: 'median of interleaved (forward, explain) pairs; explain = forward for detections + forward/backward for the box + CAM, through the worker',
  });
} finally {
  await kill();
}
