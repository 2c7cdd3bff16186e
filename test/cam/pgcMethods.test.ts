// FullGrad, FinerCAM and RefineCAM through the whole pipeline (our autodiff, onnxruntime) against
// pytorch-grad-cam 1.5.5 on the seeded CNN of test/fixtures/pgc155 (scripts/refs/pgc_methods.py),
// GradCAM as the anchor; FullGrad's invariance under BatchNorm folding; FinerCAM's cotangent
// against finite differences of its target.
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import type { ExplainParams } from '../../src/engine/explainTypes';
import { pearson } from '../../src/engine/metrics/stats';
import { readNpy, writeNpy } from '../../src/engine/npy';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { finerCotangent, finerScore, similarClasses } from '../../src/engine/targets/finer';
import { randomArray } from '../helpers/models';

const DIR = resolve(__dirname, '../../../test/fixtures/pgc155');
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as {
  layers: Record<string, string>;
  refinecamLayers: string[];
  cases: { input: string; top1: number; finerDefaultComparisons: number[]; finerChosen: { classes: number[]; alpha: number } }[];
};
const MODEL = join(DIR, 'model.onnx');
const sessions = new SessionCache();
const tmp = mkdtempSync(join(tmpdir(), 'camlens-pgc155-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(tmp, { recursive: true, force: true });
});

const ref = (name: string) => readNpy(join(DIR, `${name}.npy`)).data;
const run = (i: number, params: Partial<ExplainParams>) =>
  explain({ modelPath: MODEL, input: join(DIR, index.cases[i].input), overlay: false, ...params }, { sessions });

/** Pearson ≥ 0.999 (the bar) and the same length. */
function agrees(ours: Float32Array, theirs: Float32Array, what: string, bar = 0.999): void {
  equal(ours.length, theirs.length, `${what}: length`);
  const r = pearson(ours, theirs);
  ok(r >= bar, `${what}: Pearson ${r.toFixed(6)} < ${bar}`);
}

describe('pytorch-grad-cam 1.5.5 methods on the pgc155 CNN', () => {
  for (const i of [0, 1]) {
    it(`image ${i}: GradCAM (the anchor) final and raw maps`, async () => {
      const r = await run(i, { method: 'gradcam', layers: [index.layers.relu5] });
      agrees(r.explanations[0].cam.data, ref(`gradcam_${i}`), 'final');
      agrees(r.explanations[0].camRaw.data, ref(`gradcam_raw_${i}`), 'raw');
    });

    it(`image ${i}: FullGrad over every bias and the input`, async () => {
      const r = await run(i, { method: 'fullgrad' });
      agrees(r.explanations[0].cam.data, ref(`fullgrad_${i}`), 'final');
      // The input and the 5 folded Conv biases (4 BatchNorms folded, conv5's own).
      equal(r.layers.length, 6);
      equal(r.notes.fullGradBiases, 5);
      deepStrictEqual(r.warnings, []);
    });

    it(`image ${i}: FinerCAM against the 3 nearest classes (its defaults), final and raw maps`, async () => {
      const r = await run(i, { method: 'finercam', layers: [index.layers.relu5] });
      equal(r.explanations[0].classIndex, index.cases[i].top1);
      equal(r.notes.finerComparisons, `${index.cases[i].top1}: ${index.cases[i].finerDefaultComparisons.join(',')}`);
      agrees(r.explanations[0].cam.data, ref(`finercam_${i}`), 'final');
      agrees(r.explanations[0].camRaw.data, ref(`finercam_raw_${i}`), 'raw');
    });

    it(`image ${i}: FinerCAM with chosen classes and alpha`, async () => {
      const { classes, alpha } = index.cases[i].finerChosen;
      const r = await run(i, { method: 'finercam', layers: [index.layers.relu5], finerClasses: classes, finerAlpha: alpha });
      agrees(r.explanations[0].cam.data, ref(`finercam_chosen_${i}`), 'final');
      // A contrast is not the class's own map: the default and the chosen comparisons differ.
      ok(pearson(r.explanations[0].cam.data, ref(`finercam_${i}`)) < 0.999);
    });

    it(`image ${i}: RefineCAM = product of the Grad-CAM++ maps of three layers`, async () => {
      const layers = index.refinecamLayers.map((k) => index.layers[k]);
      const r = await run(i, { method: 'refinecam', layers });
      agrees(r.explanations[0].cam.data, ref(`refinecam_${i}`), 'final');
      deepStrictEqual(r.warnings, []);
      for (const k of index.refinecamLayers) {
        const factor = await run(i, { method: 'gradcam++', layers: [index.layers[k]] });
        agrees(factor.explanations[0].cam.data, ref(`refinecam_factor_${k}_${i}`), `factor ${k}`);
      }
    });
  }

  it('warns where a layer choice does not apply: --layer with FullGrad, one layer with RefineCAM', async () => {
    const full = await run(0, { method: 'fullgrad', layers: [index.layers.relu5] });
    deepStrictEqual(
      full.warnings.map((w) => w.code),
      ['layer-ignored'],
    );
    const refine = await run(0, { method: 'refinecam', layers: [index.layers.relu5] });
    deepStrictEqual(
      refine.warnings.map((w) => w.code),
      ['one-layer'],
    );
    // With one layer it is Grad-CAM++.
    agrees(refine.explanations[0].cam.data, ref('refinecam_factor_relu5_0'), 'one-layer RefineCAM', 0.99999);
  });

  it('FinerCAM refuses what it cannot contrast, and a base method with channel runs', async () => {
    await rejects(run(0, { method: 'finercam', softmaxTarget: true }), /contrasts logits/);
    await rejects(run(0, { method: 'finercam', finerClasses: [10] }), /out of range/);
    await rejects(run(0, { method: 'finercam', finerBase: 'scorecam' }), /cannot be built on scorecam; valid bases: gradcam/);
    await rejects(run(0, { method: 'gradcam', finerBase: 'gradcam' }), /not built on another method/);
  });

  it('FinerCAM on another base (HiResCAM) uses that method over the contrast gradients', async () => {
    const finer = await run(0, { method: 'finercam', layers: [index.layers.relu5], finerBase: 'hirescam', saveTensors: true });
    const e = finer.explanations[0];
    // HiResCAM's lowres is Σ_c G·A: recompute it from the saved tensors.
    const a = e.activation!.data as Float32Array;
    const g = e.gradient!.data as Float32Array;
    const [, c, h, w] = e.activation!.dims;
    const expected = new Float32Array(h * w);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) expected[p] += a[ch * h * w + p] * g[ch * h * w + p];
    agrees(
      e.camRaw.data,
      expected.map((v) => Math.max(v, 0)),
      'HiResCAM of the contrast',
      0.999999,
    );
  });
});

describe('FullGrad and BatchNorm folding', () => {
  // Conv (no bias) → BatchNormalization → Relu → Conv (bias) → Relu → GAP → Gemm, and the twin with
  // the BatchNorm folded into the first Conv as an exporter does it.
  const [C, K] = [6, 5];
  const w1 = randomArray(C * 27, 11, 0.6);
  const scale = Float32Array.from(randomArray(C, 12, 0.7), (v) => v + 1);
  const shift = randomArray(C, 13, 0.8);
  const mean = randomArray(C, 14, 0.5);
  const variance = Float32Array.from(randomArray(C, 15, 0.5), (v) => v + 0.8);
  const eps = 1e-5;

  function model(folded: boolean): string {
    const b = ModelBuilder.create(17);
    const x = b.input('input', DataType.FLOAT, [1, 3, 16, 16]);
    const conv = { pads: [1, 1, 1, 1], kernel_shape: [3, 3] };
    let y: string;
    if (folded) {
      const s = Float32Array.from(scale, (g, c) => g / Math.sqrt(variance[c] + eps));
      const w = Float32Array.from(w1, (v, i) => v * s[Math.floor(i / 27)]);
      const bias = Float32Array.from(shift, (v, c) => v - mean[c] * s[c]);
      y = b.op('Conv', [x, b.floats('w1', [C, 3, 3, 3], w), b.floats('b1', [C], bias)], conv, { name: 'conv1' });
    } else {
      const c1 = b.op('Conv', [x, b.floats('w1', [C, 3, 3, 3], w1)], conv, { name: 'conv1' });
      const params = [b.floats('bn.scale', [C], scale), b.floats('bn.B', [C], shift), b.floats('bn.mean', [C], mean), b.floats('bn.var', [C], variance)];
      y = b.op('BatchNormalization', [c1, ...params], { epsilon: eps }, { name: 'bn1' });
    }
    const r1 = b.op('Relu', [y], {}, { name: 'relu1' });
    const w2 = b.floats('w2', [8, C, 3, 3], randomArray(8 * C * 9, 16, 0.4));
    const c2 = b.op('Conv', [r1, w2, b.floats('b2', [8], randomArray(8, 17, 0.5))], { ...conv, strides: [2, 2] }, { name: 'conv2' });
    const r2 = b.op('Relu', [c2], {}, { name: 'relu2' });
    const flat = b.op('Flatten', [b.op('GlobalAveragePool', [r2], {}, { name: 'gap' })], { axis: 1 }, { name: 'flatten' });
    b.op(
      'Gemm',
      [flat, b.floats('fc.w', [K, 8], randomArray(K * 8, 18)), b.floats('fc.b', [K], randomArray(K, 19))],
      { transB: 1 },
      { name: 'fc', outputs: ['logits'] },
    );
    b.output('logits', DataType.FLOAT, [1, K]);
    const path = join(tmp, folded ? 'folded.onnx' : 'unfolded.onnx');
    writeFileSync(path, serializeModel(b.build()));
    return path;
  }

  it('gives the same map on the graph with BatchNormalization nodes and on its folded twin', async () => {
    const input = join(tmp, 'x.npy');
    writeNpy(input, randomArray(3 * 16 * 16, 20, 1.5), [1, 3, 16, 16]);
    const unfolded = await explain({ modelPath: model(false), input, method: 'fullgrad', classIndex: 2, overlay: false }, { sessions });
    const folded = await explain({ modelPath: model(true), input, method: 'fullgrad', classIndex: 2, overlay: false }, { sessions });
    // Each graph has two biases: the BatchNorm's effective one (or the folded Conv's) and conv2's.
    equal(unfolded.notes.fullGradBiases, 2);
    equal(folded.notes.fullGradBiases, 2);
    const [a, b] = [unfolded.explanations[0], folded.explanations[0]];
    let worst = 0;
    for (let p = 0; p < a.cam.data.length; p++) worst = Math.max(worst, Math.abs(a.cam.data[p] - b.cam.data[p]));
    ok(worst < 1e-4, `final maps differ by up to ${worst}`);
    let worstRaw = 0;
    for (let p = 0; p < a.camRaw.data.length; p++) worstRaw = Math.max(worstRaw, Math.abs(a.camRaw.data[p] - b.camRaw.data[p]));
    ok(worstRaw < 1e-3, `raw maps differ by up to ${worstRaw}`);
  });
});

describe('FinerCAM target', () => {
  const logits = Float32Array.of(1.5, -0.3, 1.2, 0.95, 2.1, 1.45, -1);

  it('ranks classes by |logit − target logit|, leaving the target out', () => {
    deepStrictEqual(similarClasses(logits, 0), [5, 2, 3]);
    deepStrictEqual(similarClasses(logits, 4, 2), [0, 5]);
  });

  it('cotangent = ∂f/∂z (finite differences in float64), comparisons with or without the target, repeated', () => {
    for (const [target, comparisons, alpha] of [
      [0, [5, 2, 3], 1],
      [4, [0, 6], 0.4],
      [1, [1, 2, 2], 2],
    ] as const) {
      const g = finerCotangent(logits, logits.length, target, comparisons, alpha);
      for (let k = 0; k < logits.length; k++) {
        const h = 1e-6;
        const plus = Float64Array.from(logits);
        const minus = Float64Array.from(logits);
        plus[k] += h;
        minus[k] -= h;
        const fd = (finerScore(plus, target, comparisons, alpha) - finerScore(minus, target, comparisons, alpha)) / (2 * h);
        ok(Math.abs(g[k] - fd) < 1e-5, `target ${target}, class ${k}: ${g[k]} vs ${fd}`);
      }
    }
  });
});
