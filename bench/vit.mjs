// Transformers: what attention explanations cost next to a plain prediction. On the ViT fixture
// (../shared/fixtures/models/vit_tiny.onnx, 224x224, CPU), measured through the real worker in
// one run, repeats interleaved: forward-only latency, `explain` with gradcam (suggested layer =
// last block's norm1), attention-rollout (one forward with the 4 attention Softmax tapped) and
// attention-gradcam; medians and ratios to forward-only. Prints JSON lines. Run after the build.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, startWorker } from './lib/client.mjs';

const fixtures = [process.env.CAMLENS_FIXTURES, resolve('../shared/fixtures')].find((d) => d && existsSync(join(d, 'manifest.json')));
const emit = (o) => console.log(JSON.stringify({ bench: 'vit', ...o }));
if (!fixtures) {
  emit({ skipped: 'shared fixtures not found (../shared/fixtures or $CAMLENS_FIXTURES)' });
  process.exit(0);
}
const modelPath = join(fixtures, 'models/vit_tiny.onnx');
const inputPath = join(fixtures, 'refs/vit_tiny_block3_ln1_224/input.npy');
const repeats = Number(process.env.BENCH_REPEATS ?? 7);

function readNpyF32(file) {
  const buf = readFileSync(file);
  const len = buf.readUInt16LE(8);
  const body = buf.subarray(10 + len);
  return new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}

const { call, kill } = startWorker();

try {
  const data = readNpyF32(inputPath);
  const provider = { provider: 'cpu' };
  const cases = {
    forward_only: () =>
      call('run', { modelPath, inputs: { input: { dtype: 'float32', dims: [1, 3, 224, 224], data } }, tensors: false, stats: false, provider }),
    gradcam: () => call('explain', { modelPath, input: inputPath, method: 'gradcam', provider }),
    'attention-rollout': () => call('explain', { modelPath, input: inputPath, method: 'attention-rollout', provider }),
    'attention-gradcam': () => call('explain', { modelPath, input: inputPath, method: 'attention-gradcam', provider }),
  };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const last = {};
  for (const [k, f] of Object.entries(cases)) last[k] = await f(); // warm-up: every session built
  for (let i = 0; i < repeats; i++) {
    for (const [k, f] of Object.entries(cases)) {
      const t0 = performance.now();
      last[k] = await f();
      times[k].push(performance.now() - t0);
    }
  }
  const fwd = median(times.forward_only);
  for (const [k, xs] of Object.entries(times)) {
    const r = last[k];
    emit({
      model: 'vit_tiny',
      size: 224,
      figure: k,
      value: Math.round(median(xs) * 10) / 10,
      unit: 'ms',
      runs: repeats,
      min: Math.round(Math.min(...xs) * 10) / 10,
      max: Math.round(Math.max(...xs) * 10) / 10,
      ...(k === 'forward_only'
        ? {}
        : {
            over_forward: Math.round((median(xs) / fwd) * 100) / 100,
            layers: r.layers.length,
            worker_timings_ms: Object.fromEntries(Object.entries(r.timings_ms).map(([a, v]) => [a, Math.round(v * 10) / 10])),
          }),
    });
  }
  await call('releaseAll', {});
} finally {
  kill();
}
