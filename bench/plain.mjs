// Explain against plain onnxruntime at its best (issue 17): a real torchvision export (the shared
// fixtures' ResNet-18, BatchNorm folded by the exporter), 224x224 from a .npy, a fixed class,
// Grad-CAM on the last block. The baseline is bench/lib/plain-forward.cjs, a separate process
// running onnxruntime-node with all graph optimisations and one thread per core; CamLens is
// measured through its worker as the panel asks (no overlay PNG) and with the overlay PNG (as
// the CLI asks), wall time of the request. Interleaved, median of adjacent-pair ratios, both
// absolute medians printed. Usage: node esbuild.mjs && node bench/plain.mjs [BENCH_REPEATS=11]
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';

const FIXTURES = process.env.CAMLENS_FIXTURES ?? resolve('../shared/fixtures');
const model = `${FIXTURES}/models/resnet18.onnx`;
const layer = '/layer4/layer4.1/relu_1/Relu_output_0';
const repeats = Number(process.env.BENCH_REPEATS ?? 11);
if (!existsSync(model)) {
  console.log(JSON.stringify({ bench: 'plain', skipped: `${model} not found` }));
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-plain-'));
const npy = join(dir, 'input.npy');
writeFileSync(npy, npyBytes([1, 3, 224, 224], 7));

const plain = fork(resolve('bench/lib/plain-forward.cjs'), [model, npy]);
const answer = () => new Promise((r) => plain.once('message', r));
await answer(); // ready
const plainRun = async () => {
  plain.send('run');
  return answer();
};
const { call, kill } = startWorker();
const explain = async (overlay) => {
  const t0 = performance.now();
  const r = await call('explain', { modelPath: model, input: npy, method: 'gradcam', layers: [layer], classIndex: 1, overlay, provider: { provider: 'cpu' } });
  return { ms: performance.now() - t0, timings: r.timings_ms };
};

for (let i = 0; i < 3; i++) {
  await plainRun();
  await explain(false);
  await explain(true);
}
const p = [];
const panel = [];
const png = [];
const inWorker = [];
let last;
for (let i = 0; i < repeats; i++) {
  p.push(await plainRun());
  panel.push((await explain(false)).ms);
  last = await explain(true);
  png.push(last.ms);
  inWorker.push(last.timings.total);
}
const ratio = (xs) => Math.round(median(xs.map((v, i) => v / p[i])) * 1000) / 1000;
const ms = (xs) => Math.round(median(xs) * 10) / 10;
console.log(
  JSON.stringify({
    bench: 'plain',
    model: 'resnet18 (torchvision export)',
    size: 224,
    repeats,
    plain_forward_ms: ms(p),
    explain_panel_ms: ms(panel),
    explain_with_png_ms: ms(png),
    ratio_panel: ratio(panel),
    ratio_with_png: ratio(png),
    // the worker's own total (load, preprocess, run, CAM, PNG), without IPC and the request's structured clone
    explain_in_worker_ms: ms(inWorker),
    ratio_in_worker: ratio(inWorker),
    last_worker_timings_ms: last.timings,
  }),
);
plain.send('exit');
await kill();
