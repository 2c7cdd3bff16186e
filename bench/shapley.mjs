// ShapleyCAM's cost against Grad-CAM's (issue 20): the fixtures' torchvision ResNet-18 at 224x224
// from a .npy, top-1 class, the last block. ShapleyCAM's one session runs forward, backward and
// the second-order pass (H·A) together; both methods make one model run per explanation.
// Interleaved after warm-up (session builds excluded); median of adjacent-pair ratios of the
// worker's run time and of its total. Usage: node esbuild.mjs && node bench/shapley.mjs [BENCH_REPEATS=7]
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';

const FIXTURES = process.env.CAMLENS_FIXTURES ?? resolve('../shared/fixtures');
const model = `${FIXTURES}/models/resnet18.onnx`;
const layer = '/layer4/layer4.1/relu_1/Relu_output_0';
const repeats = Number(process.env.BENCH_REPEATS ?? 7);
if (!existsSync(model)) {
  console.log(JSON.stringify({ bench: 'shapley', skipped: `${model} not found` }));
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-shapley-'));
const npy = join(dir, 'input.npy');
writeFileSync(npy, npyBytes([1, 3, 224, 224], 7));
const { call, kill } = startWorker();
const explain = async (method) => {
  const r = await call('explain', { modelPath: model, input: npy, method, layers: [layer], overlay: false, provider: { provider: 'cpu' } });
  return r.timings_ms;
};
for (let i = 0; i < 2; i++) {
  await explain('gradcam');
  await explain('shapleycam');
}
const grad = [];
const shapley = [];
for (let i = 0; i < repeats; i++) {
  grad.push(await explain('gradcam'));
  shapley.push(await explain('shapleycam'));
}
const pick = (xs, k) => xs.map((t) => t[k]);
const ratio = (k) => Math.round(median(shapley.map((t, i) => t[k] / grad[i][k])) * 100) / 100;
const ms = (xs, k) => Math.round(median(pick(xs, k)) * 10) / 10;
console.log(
  JSON.stringify({
    bench: 'shapley',
    model: 'resnet18 (torchvision export)',
    size: 224,
    repeats,
    gradcam_run_ms: ms(grad, 'run'),
    shapleycam_run_ms: ms(shapley, 'run'),
    ratio_run: ratio('run'),
    gradcam_total_ms: ms(grad, 'total'),
    shapleycam_total_ms: ms(shapley, 'total'),
    ratio_total: ratio('total'),
    model_runs_each: 1,
  }),
);
await kill();
