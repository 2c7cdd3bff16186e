// Cost of the backward graph on a ResNet-50-sized model at 1x3x512x512: forward-only latency vs
// forward + backward to the last conv block, and to every block; the backward graph's build
// time and size. Prints JSON lines; ratios come from runs interleaved in one process.
// The engine is bundled on the fly with esbuild (no prior build step needed).
//
//   node bench/autodiff.mjs [--size 512] [--runs 5]
//
// The ResNet-50 is built here with the builder DSL (torchvision topology: 7x7/2 stem, 3x3/2 max
// pool, bottlenecks [3, 4, 6, 3] of widths 256/512/1024/2048, global average pool, 1000-way
// Gemm; BatchNorm folded into the convolutions as exporters do; random weights).
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SIZE = arg('size', 512);
const RUNS = arg('runs', 5);
const emit = (figure, value, unit, extra = {}) =>
  console.log(
    JSON.stringify({ bench: 'autodiff', model: 'resnet50 (DSL)', input: [1, 3, SIZE, SIZE], figure, value: Math.round(value * 1000) / 1000, unit, ...extra }),
  );

const root = resolve(new URL('..', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-'));
const bundle = join(dir, 'engine.cjs');
await esbuild.build({
  stdin: {
    contents: `export { buildGradientGraph } from './src/engine/autodiff';
export { ModelBuilder, DataType, attr } from './src/engine/onnx/builder';
export { serializeModel } from './src/engine/onnx/io';`,
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: bundle,
  logLevel: 'warning',
  external: ['onnxruntime-node'],
});
const require = createRequire(join(root, 'package.json'));
const { buildGradientGraph, ModelBuilder, DataType, attr, serializeModel } = require(bundle);
const ort = require('onnxruntime-node');
rmSync(dir, { recursive: true, force: true });

let seed = 1;
function randomWeights(n, scale) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    out[i] = (seed / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function buildResNet50() {
  const b = ModelBuilder.create(17, 'resnet50');
  b.input('input', DataType.FLOAT, ['batch', 3, SIZE, SIZE]);
  let k = 0;
  const conv = (x, cin, cout, kernel, stride, relu = true) => {
    const fanIn = cin * kernel * kernel;
    const w = b.floats(`conv${k}.weight`, [cout, cin, kernel, kernel], randomWeights(cout * fanIn, Math.sqrt(3 / fanIn)));
    const bias = b.floats(`conv${k}.bias`, [cout], randomWeights(cout, 0.01));
    k++;
    const p = Math.floor(kernel / 2);
    const y = b.op('Conv', [x, w, bias], { kernel_shape: attr.ints([kernel, kernel]), strides: attr.ints([stride, stride]), pads: attr.ints([p, p, p, p]) });
    return relu ? b.op('Relu', [y]) : y;
  };
  let x = conv('input', 3, 64, 7, 2);
  x = b.op('MaxPool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  const blocks = [];
  let cin = 64;
  [
    [3, 64],
    [4, 128],
    [6, 256],
    [3, 512],
  ].forEach(([count, width], stage) => {
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const cout = width * 4;
      let y = conv(x, cin, width, 1, 1);
      y = conv(y, width, width, 3, stride);
      y = conv(y, width, cout, 1, 1, false);
      const shortcut = i === 0 ? conv(x, cin, cout, 1, stride, false) : x;
      x = b.op('Relu', [b.op('Add', [y, shortcut])], {}, { name: `layer${stage + 1}.${i}/relu` });
      blocks.push(x);
      cin = cout;
    }
  });
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x])]);
  const fc = b.floats('fc.weight', [1000, 2048], randomWeights(2048 * 1000, Math.sqrt(3 / 2048)));
  b.op('Gemm', [pooled, fc, b.floats('fc.bias', [1000], randomWeights(1000, 0.01))], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['batch', 1000]);
  return { model: b.build(), blocks };
}

const t0 = performance.now();
const { model, blocks } = buildResNet50();
emit('model build', performance.now() - t0, 'ms', { nodes: model.graph.node.length, blocks: blocks.length });

// a second forward-only session shows the noise level of the machine
const variants = [
  { name: 'forward only', model },
  { name: 'forward only (control: second session)', model },
];
for (const [name, wrt] of [
  ['last block', [blocks[blocks.length - 1]]],
  ['every block', blocks],
]) {
  const t = performance.now();
  const g = buildGradientGraph(model, { target: 'logits', wrt });
  const ms = performance.now() - t;
  emit(`backward build (${name})`, ms, 'ms', { taps: wrt.length, backwardNodes: g.model.graph.node.length - model.graph.node.length });
  variants.push({ name: `forward + backward to ${name}`, model: g.model, cotangent: g.cotangent });
}

const input = new ort.Tensor('float32', randomWeights(3 * SIZE * SIZE, 2), [1, 3, SIZE, SIZE]);
const onehot = new Float32Array(1000);
onehot[7] = 1;
for (const v of variants) {
  v.session = await ort.InferenceSession.create(serializeModel(v.model), { graphOptimizationLevel: 'all' });
  v.feeds = { input, ...(v.cotangent ? { [v.cotangent]: new ort.Tensor('float32', onehot, [1, 1000]) } : {}) };
  await v.session.run(v.feeds); // warm-up
  v.times = [];
}
for (let r = 0; r < RUNS; r++) {
  for (const v of variants) {
    const t = performance.now();
    await v.session.run(v.feeds);
    v.times.push(performance.now() - t);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(variants[0].times);
for (const v of variants) {
  const m = median(v.times);
  emit(`latency: ${v.name}`, m, 'ms', {
    runs: RUNS,
    ratio: Math.round((m / base) * 1000) / 1000,
    ...(v.name.includes('last block') ? { target: '<= 1.10' } : {}),
  });
  await v.session.release();
}
