// The input-space attributions against their float64 definitions on a tiny model whose forward
// pass is written out here (conv 3×3 + bias → tanh → global average pool → gemm): saliency is
// the finite-difference gradient, Integrated Gradients the midpoint path sum (its completeness gap
// shrinking with the steps), occlusion / RISE / SmoothGrad / VarGrad the direct sums of float64
// forward passes over the same patches, masks and noise draws. Then the pipeline around them
// (explain, S.attr.npy, S.json, options) and, with the shared fixtures, saliency on ResNet-18
// against PyTorch's d logit / d input.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { attributionContext, type AttributionContext } from '../../src/engine/attribution/batching';
import { runPlan } from '../../src/engine/attribution/gradientPlan';
import { inputXGradientPlan } from '../../src/engine/attribution/inputXGradient';
import { IG_GAP_WARNING, integratedGradients, integratedGradientsPlan } from '../../src/engine/attribution/integratedGradients';
import { noiseTunnelPlan } from '../../src/engine/attribution/noiseTunnel';
import { occlusion, patchOrigins } from '../../src/engine/attribution/occlusion';
import { rise, riseMasks, RISE_KEEP_PROBABILITY } from '../../src/engine/attribution/rise';
import { saliencyPlan } from '../../src/engine/attribution/saliency';
import { attributionToMap } from '../../src/engine/attribution/toMap';
import { INPUT_SPACE_INFO, inputSpaceMethod } from '../../src/engine/cam/registry';
import { explain } from '../../src/engine/explain';
import { INPUT_SPACE_METHODS } from '../../src/engine/explainTypes';
import { noisyInputs } from '../../src/engine/metrics/stability';
import { pearson } from '../../src/engine/metrics/stats';
import { analyseModel, type LoadedModel } from '../../src/engine/model';
import { encodeNpy, readNpy } from '../../src/engine/npy';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import { countModelRuns } from '../../src/engine/runtime/modelRunCount';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainParamsFromArgs, writeExplanation } from '../../src/cli/commands/explain';
import { fixtures } from '../helpers/fixtures';
import { randomArray } from '../helpers/models';

const sessions = new SessionCache();
const dir = mkdtempSync(join(tmpdir(), 'camlens-attribution-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

const [C, H, W, F, K] = [3, 8, 8, 4, 3];
const convW = randomArray(F * C * 9, 21, 0.6);
const convB = randomArray(F, 22, 0.2);
const fcW = randomArray(K * F, 23, 1.5);
const fcB = randomArray(K, 24, 0.3);

function tinyModel(batch: number | string) {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [batch, C, H, W]);
  const conv = b.op(
    'Conv',
    [x, b.floats('conv.w', [F, C, 3, 3], convW), b.floats('conv.b', [F], convB)],
    { pads: [1, 1, 1, 1], kernel_shape: [3, 3] },
    { name: '/conv/Conv' },
  );
  const t = b.op('Tanh', [conv], {}, { name: '/Tanh' });
  const gap = b.op('GlobalAveragePool', [t], {}, { name: '/gap' });
  const flat = b.op('Flatten', [gap], { axis: 1 }, { name: '/Flatten' });
  b.op(
    'Gemm',
    [flat, b.floats('fc.w', [K, F], fcW), b.floats('fc.b', [K], fcB)],
    { transB: 1, alpha: attr.float(1), beta: attr.float(1) },
    { name: '/fc', outputs: ['logits'] },
  );
  b.output('logits', DataType.FLOAT, [batch, K]);
  return b.build();
}

/** The tiny model's logits in float64, written out. */
function logits64(x: ArrayLike<number>): Float64Array {
  const pooled = new Float64Array(F);
  for (let f = 0; f < F; f++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        let s = convB[f];
        for (let c = 0; c < C; c++)
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const [yy, xs] = [y + dy, xx + dx];
              if (yy >= 0 && yy < H && xs >= 0 && xs < W) s += convW[((f * C + c) * 3 + dy + 1) * 3 + dx + 1] * x[(c * H + yy) * W + xs];
            }
        pooled[f] += Math.tanh(s) / (H * W);
      }
  return Float64Array.from({ length: K }, (_, k) => fcB[k] + pooled.reduce((a, p, f) => a + fcW[k * F + f] * p, 0));
}
const score64 = (x: ArrayLike<number>, k: number, softmax = false): number => {
  const l = logits64(x);
  if (!softmax) return l[k];
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  return e[k] / e.reduce((a, b) => a + b, 0);
};

/** Central finite differences of the float64 score (h = 1e-5: error ~1e-10). */
function gradient64(x: ArrayLike<number>, k: number, softmax = false): Float64Array {
  const p = Float64Array.from(x);
  const h = 1e-5;
  return Float64Array.from(p, (v, i) => {
    p[i] = v + h;
    const up = score64(p, k, softmax);
    p[i] = v - h;
    const down = score64(p, k, softmax);
    p[i] = v;
    return (up - down) / (2 * h);
  });
}

/** max |a − b| relative to max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0,
    m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return e / m;
}

const model = analyseModel(tinyModel('batch'), 'memory://attribution/tiny.onnx');
const fixedBatch = analyseModel(tinyModel(1), 'memory://attribution/tiny-batch1.onnx');
const x = randomArray(C * H * W, 31, 1);
const baseline = randomArray(C * H * W, 32, 0.3);
const context = (m: LoadedModel = model, batchSize = 16, softmax = false): AttributionContext =>
  attributionContext(
    m,
    { sessions, provider: { provider: 'cpu' } },
    { output: 'logits', classCount: K, softmax, layout: 'NCHW', dims: [1, C, H, W], batchSize },
  );
const cls = 1;

describe('input-space attributions against their float64 definitions', () => {
  it('saliency is the finite-difference gradient of the score (logit and softmax targets)', async () => {
    const a = await runPlan(context(), cls, saliencyPlan(x), 'test');
    ok(relErr(a, gradient64(x, cls)) < 1e-4, `rel err ${relErr(a, gradient64(x, cls))}`);
    const s = await runPlan(context(model, 16, true), 0, saliencyPlan(x), 'test');
    ok(relErr(s, gradient64(x, 0, true)) < 1e-4, `softmax rel err ${relErr(s, gradient64(x, 0, true))}`);
  });

  it('input × gradient is x ⊙ the finite-difference gradient', async () => {
    const a = await runPlan(context(), cls, inputXGradientPlan(x), 'test');
    const g = gradient64(x, cls);
    ok(
      relErr(
        a,
        Float64Array.from(g, (v, i) => v * x[i]),
      ) < 1e-4,
    );
  });

  it('integrated gradients is the float64 midpoint path sum, and its completeness gap goes to 0 with the steps', async () => {
    const steps = 6;
    const ref = new Float64Array(x.length);
    for (let k = 0; k < steps; k++) {
      const a = (k + 0.5) / steps;
      const g = gradient64(
        Float64Array.from(x, (v, i) => baseline[i] + a * (v - baseline[i])),
        cls,
      );
      for (let i = 0; i < ref.length; i++) ref[i] += ((x[i] - baseline[i]) * g[i]) / steps;
    }
    // 6 rows in batches of 4: the batching splits the path unevenly.
    const ig = await integratedGradients(context(model, 4), x, cls, baseline, steps);
    ok(relErr(ig.attr, ref) < 1e-4, `rel err ${relErr(ig.attr, ref)}`);
    const delta = score64(x, cls) - score64(baseline, cls);
    ok(Math.abs(ig.stats.f_input - ig.stats.f_baseline - delta) < 1e-5);
    const gaps: number[] = [];
    for (const n of [1, 4, 16, 64]) gaps.push(Math.abs((await integratedGradients(context(), x, cls, baseline, n)).stats.completeness_gap));
    for (let i = 1; i < gaps.length; i++) ok(gaps[i] < gaps[i - 1], `gaps ${gaps.join(', ')}`);
    ok(gaps[3] < 1e-3 * Math.abs(delta), `gap at 64 steps ${gaps[3]} vs f(x) − f(x') = ${delta}`);
  });

  it('occlusion equals the float64 mean score drop over the patches covering each pixel (edge patch included)', async () => {
    deepEqual(patchOrigins(8, 3, 2), [0, 2, 4, 5]);
    deepEqual(patchOrigins(8, 16, 8), [0]);
    const fx = score64(x, cls);
    const { attr: a, patches } = await occlusion(context(model, 5), x, cls, fx, baseline, { window: 3, stride: 2 });
    equal(patches, 16);
    const sum = new Float64Array(H * W);
    const count = new Float64Array(H * W);
    for (const y0 of [0, 2, 4, 5])
      for (const x0 of [0, 2, 4, 5]) {
        const occluded = Float64Array.from(x);
        for (let c = 0; c < C; c++)
          for (let y = y0; y < y0 + 3; y++) for (let xx = x0; xx < x0 + 3; xx++) occluded[(c * H + y) * W + xx] = baseline[(c * H + y) * W + xx];
        const drop = fx - score64(occluded, cls);
        for (let y = y0; y < y0 + 3; y++)
          for (let xx = x0; xx < x0 + 3; xx++) {
            sum[y * W + xx] += drop;
            count[y * W + xx]++;
          }
      }
    const ref = Float64Array.from({ length: C * H * W }, (_, i) => sum[i % (H * W)] / count[i % (H * W)]);
    ok(relErr(a, ref) < 1e-4, `rel err ${relErr(a, ref)}`);
  });

  it('RISE equals Σ f(x ⊙ M) M / (N p) over the same seeded masks, in float64', async () => {
    const n = 12;
    const { attr: a } = await rise(context(model, 5), x, cls, { masks: n, seed: 7 });
    const next = riseMasks(H, W, 7);
    const ref = new Float64Array(H * W);
    for (let i = 0; i < n; i++) {
      const m = next();
      ok(m.some((v) => v > 0) || m.every((v) => v === 0));
      const f = score64(
        Float64Array.from(x, (v, j) => v * m[j % (H * W)]),
        cls,
      );
      for (let p = 0; p < H * W; p++) ref[p] += (f * m[p]) / (n * RISE_KEEP_PROBABILITY);
    }
    ok(
      relErr(
        a,
        Float64Array.from({ length: C * H * W }, (_, i) => ref[i % (H * W)]),
      ) < 1e-4,
    );
  });

  it('SmoothGrad / VarGrad are the mean / variance of the base method over the seeded noisy copies', async () => {
    const samples = 4;
    const noisy = noisyInputs(x, samples, 0.2, 3);
    const grads = noisy.inputs.map((xi) => gradient64(xi, cls));
    const mean = Float64Array.from(grads[0], (_, i) => grads.reduce((s, g) => s + g[i], 0) / samples);
    const variance = Float64Array.from(mean, (m, i) => grads.reduce((s, g) => s + (g[i] - m) ** 2, 0) / samples);
    const smooth = await runPlan(context(model, 3), cls, noiseTunnelPlan(x, saliencyPlan, 'mean', { samples, sigma: 0.2, seed: 3 }), 'test');
    ok(relErr(smooth, mean) < 1e-4, `smoothgrad rel err ${relErr(smooth, mean)}`);
    const vargrad = await runPlan(context(model, 3), cls, noiseTunnelPlan(x, saliencyPlan, 'variance', { samples, sigma: 0.2, seed: 3 }), 'test');
    ok(relErr(vargrad, variance) < 1e-3, `vargrad rel err ${relErr(vargrad, variance)}`);
    // Over a multi-row base (IG, 3 steps): copy k's attribution is IG at noisy input k.
    const smoothIg = await runPlan(
      context(model, 4),
      cls,
      noiseTunnelPlan(x, (xi) => integratedGradientsPlan(xi, baseline, 3), 'mean', { samples: 2, sigma: 0.2, seed: 3 }),
      'test',
    );
    const each = await Promise.all(noisy.inputs.slice(0, 2).map((xi) => runPlan(context(), cls, integratedGradientsPlan(xi, baseline, 3), 'test')));
    ok(
      relErr(
        smoothIg,
        Float64Array.from(each[0], (v, i) => (v + each[1][i]) / 2),
      ) < 1e-5,
    );
  });

  it('runs one row per model run when the model fixes the batch at 1, with the same answer', async () => {
    const ctx = context(fixedBatch, 16);
    equal(ctx.batchSize, 1);
    const { result: a, runs } = await countModelRuns(() => runPlan(ctx, cls, integratedGradientsPlan(x, baseline, 5), 'test'));
    equal(runs, 5);
    const b = await runPlan(context(), cls, integratedGradientsPlan(x, baseline, 5), 'test');
    ok(relErr(a, b) < 1e-6);
  });

  it('makes the map by the registry reduction: |a| summed, positive channel mean, channel mean; then min-max', () => {
    const a = Float32Array.from([1, -2, 0, 4, /* channel 2 */ -3, 2, 0, -4]);
    deepEqual([...attributionToMap(a, 2, 1, 4, 'abs-sum').raw], [4, 4, 0, 8]);
    deepEqual([...attributionToMap(a, 2, 1, 4, 'positive-mean').raw], [0, 0, 0, 0]);
    deepEqual([...attributionToMap(a, 2, 1, 4, 'mean').raw], [-1, 0, 0, 0]);
    const { final } = attributionToMap(a, 2, 1, 4, 'abs-sum');
    ok(Math.abs(final[3] - 1) < 1e-6 && final[2] === 0);
  });
});

describe('the input-space methods in the pipeline', () => {
  const modelPath = join(dir, 'tiny.onnx');
  const inputPath = join(dir, 'x.npy');
  writeFileSync(modelPath, serializeModel(tinyModel('batch')));
  writeFileSync(inputPath, encodeNpy(x, [1, C, H, W]));

  /** Integrated Gradients of the tiny model's class `cls` against the baseline file b.npy. */
  const integratedGradientsOf = (igSteps: number) =>
    explain(
      {
        modelPath,
        input: inputPath,
        method: 'integrated-gradients',
        classIndex: cls,
        igSteps,
        baseline: { file: join(dir, 'b.npy') },
        provider: { provider: 'cpu' },
      },
      { sessions },
    );

  it('has a registry entry of kind input-space for every method, and none for the layer CAMs', () => {
    for (const id of INPUT_SPACE_METHODS) {
      equal(INPUT_SPACE_INFO[id].kind, 'input-space');
      equal(inputSpaceMethod(id), INPUT_SPACE_INFO[id]);
    }
    equal(inputSpaceMethod('gradcam'), undefined);
  });

  it('explain() gives the attribution [C, H, W], its map, the completeness gap; the CLI writes S.attr.npy and S.json', async () => {
    const r = await integratedGradientsOf(64).catch((e: Error) => e);
    ok(r instanceof Error && /no such file|ENOENT|b\.npy/i.test(r.message), 'a missing baseline file is an error');
    writeFileSync(join(dir, 'b.npy'), encodeNpy(baseline, [1, C, H, W]));
    const ok64 = await integratedGradientsOf(64);
    const e = ok64.explanations[0];
    deepEqual(e.attribution?.dims, [C, H, W]);
    deepEqual(ok64.layers, ['input']);
    ok(e.cam.data.every((v) => v >= 0 && v <= 1 + 1e-6) && e.cam.data.some((v) => v > 0.99));
    const delta = score64(x, cls) - score64(baseline, cls);
    ok(Math.abs(e.attributionStats!.completeness_gap) < 1e-3 * Math.abs(delta));
    deepEqual(ok64.warnings, []);
    equal(ok64.notes.steps, 64);
    const out = join(dir, 'out');
    const files = await writeExplanation(out, 'x', ok64);
    ok(files.includes('x.attr.npy'));
    const saved = readNpy(join(out, 'x.attr.npy'));
    deepEqual(saved.shape, [C, H, W]);
    deepEqual([...saved.data], [...e.attribution!.data]);
    const json = JSON.parse(readFileSync(join(out, 'x.json'), 'utf8'));
    equal(json.method, 'integrated-gradients');
    ok(Math.abs(json.explanations[0].attribution.completeness_gap - e.attributionStats!.completeness_gap) < 1e-12);
  });

  it('warns when the path integral is not converged (one step)', async () => {
    const r = await integratedGradientsOf(1);
    ok(r.explanations[0].attributionStats!.relative_gap > IG_GAP_WARNING, `gap ${r.explanations[0].attributionStats!.relative_gap}`);
    deepEqual(
      r.warnings.map((w) => w.code),
      ['completeness-gap'],
    );
  });

  it('runs every input-space method through explain(), each with its own map and model-run count', async () => {
    for (const method of INPUT_SPACE_METHODS) {
      const r = await explain(
        { modelPath, input: inputPath, method, masks: 20, noiseSamples: 3, igSteps: 4, window: 4, stride: 4, provider: { provider: 'cpu' } },
        { sessions },
      );
      equal(r.method, method);
      deepEqual(r.explanations[0].attribution?.dims, [C, H, W], method);
      ok(Number(r.notes.modelRuns) >= 2, `${method}: ${r.notes.modelRuns} runs`);
    }
  });

  it('refuses what an input-space attribution of a class cannot honour', async () => {
    await rejects(
      explain({ modelPath, input: inputPath, method: 'saliency', target: { value: 'logits', select: { kind: 'max' } } }, { sessions }),
      /--target is not available with saliency/,
    );
    await rejects(explain({ modelPath, input: inputPath, method: 'rise', augSmooth: true }, { sessions }), /--aug-smooth/);
    await rejects(explain({ modelPath, input: inputPath, method: 'occlusion', classIndex: 7 }, { sessions }), /out of range/);
  });

  it('parses and bounds the CLI options', () => {
    const p = explainParamsFromArgs(
      { method: 'smoothgrad', 'noise-base': 'integrated-gradients', 'noise-samples': '7', 'noise-sigma': '0.1', 'ig-steps': '9', baseline: 'blur', seed: '5' },
      modelPath,
      inputPath,
    );
    equal(p.noiseBase, 'integrated-gradients');
    deepEqual([p.noiseSamples, p.noiseSigma, p.igSteps, p.baseline, p.seed], [7, 0.1, 9, 'blur', 5]);
    deepEqual(explainParamsFromArgs({ method: 'occlusion', baseline: inputPath }, modelPath, inputPath).baseline, { file: inputPath });
    throws(() => explainParamsFromArgs({ 'ig-steps': '0' }, modelPath, inputPath), /--ig-steps: expected an integer from 1/);
    throws(() => explainParamsFromArgs({ masks: '1e9' }, modelPath, inputPath), /--masks/);
    throws(() => explainParamsFromArgs({ 'noise-base': 'gradcam' }, modelPath, inputPath), /--noise-base: expected saliency/);
    throws(() => explainParamsFromArgs({ baseline: join(dir, 'missing.npy') }, modelPath, inputPath), /--baseline: no such file/);
  });
});

describe('saliency on the fixtures', () => {
  it("equals PyTorch's d logit / d input on ResNet-18 (dog, class 467)", async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const ref = join(root, 'refs/resnet18_layer4_224');
    const r = await explain(
      { modelPath: join(root, 'models/resnet18.onnx'), input: join(ref, 'input.npy'), method: 'saliency', classIndex: 467, provider: { provider: 'cpu' } },
      { sessions },
    );
    const expected = readNpy(join(ref, 'input_grad.npy'));
    const got = r.explanations[0].attribution!;
    deepEqual(got.dims, expected.shape.slice(1));
    // As test/autodiff/fixtures.test.ts says of this gradient: a few pre-activations lie within
    // onnxruntime's forward noise of a ReLU/MaxPool kink, so one small patch may differ; the rest
    // must match to 1e-4 of max|ref|.
    const maxRef = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let off = 0;
    for (let i = 0; i < got.data.length; i++) if (Math.abs(got.data[i] - expected.data[i]) > 1e-4 * maxRef) off++;
    ok(off <= got.data.length * 1e-3, `${off} values differ by more than 1e-4·max|ref|`);
    ok(pearson(got.data, expected.data) > 0.9999);
  });
});
