import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planFaithfulness } from '../../src/engine/metrics/faithfulness';
import { blurPlanar, noisyLinearImpute, type ImageTensor } from '../../src/engine/metrics/perturb';
import { layersAfter, randomiseInitializers } from '../../src/engine/metrics/randomisation';
import { noisyInputs, stabilityScores } from '../../src/engine/metrics/stability';
import { rng } from '../../src/engine/metrics/stats';
import { randomMap } from '../../src/engine/metrics/evaluate';
import { analyseModel } from '../../src/engine/model';
import { tensorToArray } from '../../src/engine/onnx/tensor';
import { tinyCnn } from '../helpers/models';

const close = (a: number, b: number, tol = 1e-6) => ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

// A 1-channel 8×8 image: a bright 3×3 object on a dark background. The "model" is the share of
// the object's brightness that survives: a perfect map should delete it fastest.
const H = 8,
  W = 8;
const object = new Uint8Array(H * W);
for (let y = 2; y < 5; y++) for (let x = 3; x < 6; x++) object[y * W + x] = 1;
const image: ImageTensor = { data: Float32Array.from(object, (v) => (v ? 1 : 0)), dims: [1, 1, H, W], layout: 'NCHW' };
const model = (x: Float32Array) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) if (object[i]) s += Math.max(0, x[i]);
  return s / 9;
};

describe('faithfulness on a synthetic model', () => {
  it('deletion/insertion curves and AUC: the object map beats a random one', () => {
    const good = Float32Array.from(object, (v, i) => (v ? 1 - i / 1000 : 0));
    const plan = planFaithfulness(image, good, { steps: 8, deletionBaseline: 'mean', insertionBaseline: 'mean', confidence: false });
    equal(plan.images.length, 1 + 2 * 9);
    const r = plan.finish(plan.images.map(model));
    // 64 px in 8 steps of 8: the 9 object pixels go in the first two steps; the mean baseline
    // (9/64 everywhere) keeps 9/64 of each pixel.
    const m = 9 / 64;
    close(r.curves.deletion![0], 1);
    close(r.curves.deletion![1], (1 * 1 + 8 * m) / 9);
    close(r.curves.deletion![2], m);
    close(r.curves.insertion![2], 1);
    const bad = randomMap(4, 4, [H, W], 3);
    const rb = planFaithfulness(image, bad, { steps: 8, deletionBaseline: 'mean', insertionBaseline: 'mean', confidence: false });
    const rr = rb.finish(rb.images.map(model));
    ok(r.scores.deletion_auc < rr.scores.deletion_auc, `${r.scores.deletion_auc} < ${rr.scores.deletion_auc}`);
    ok(r.scores.insertion_auc > rr.scores.insertion_auc);
  });

  it('confidence change (input·map) and region confidence', () => {
    const half = Float32Array.from(object, (v) => (v ? 0.5 : 0));
    const plan = planFaithfulness(image, half, { curves: false, threshold: { kind: 'fixed', value: 0.25 } });
    const r = plan.finish(plan.images.map(model));
    close(r.scores.confidence_change, -0.5);
    close(r.scores.confidence_drop, 0.5);
    equal(r.scores.confidence_increase, 0);
    close(r.scores.region_confidence, 1);
  });

  it('ROAD: removing the object first hurts, removing the background first does not', () => {
    const good = Float32Array.from(object, (v, i) => (v ? 1 + i / 1000 : i / 1000));
    const plan = planFaithfulness(image, good, { curves: false, confidence: false, roadPercentiles: [50, 80], roadNoise: 0 });
    const r = plan.finish(plan.images.map(model));
    ok(r.scores.road_morf < -0.5, `morf ${r.scores.road_morf}`);
    ok(Math.abs(r.scores.road_lerf) < 0.05, `lerf ${r.scores.road_lerf}`);
    close(r.scores.road_combined, (r.scores.road_lerf - r.scores.road_morf) / 2);
  });

  it('noisy linear imputation reproduces a linear ramp inside a hole (noise 0) and adds the noise', () => {
    const ramp = Float32Array.from({ length: H * W }, (_, i) => 0.1 * (i % W) + 0.05 * Math.floor(i / W));
    const filled = noisyLinearImpute(ramp, 1, H, W, object, 0, rng(1));
    for (let i = 0; i < ramp.length; i++) close(filled[i], ramp[i], 1e-5);
    const noisy = noisyLinearImpute(ramp, 1, H, W, object, 0.5, rng(1));
    ok(noisy.some((v, i) => object[i] && Math.abs(v - ramp[i]) > 1e-3));
    ok(noisy.every((v, i) => object[i] || v === ramp[i]));
  });

  it('blur keeps a constant image constant and spreads a point', () => {
    const flat = new Float32Array(64).fill(2);
    ok(blurPlanar(flat, 1, 8, 8, 1.5).every((v) => Math.abs(v - 2) < 1e-5));
    const dot = new Float32Array(64);
    dot[27] = 1;
    const b = blurPlanar(dot, 1, 8, 8, 1);
    ok(b[27] < 1 && b[28] > 0 && Math.abs(b.reduce((a, c) => a + c, 0) - 1) < 1e-5);
  });
});

describe('stability and parameter randomisation', () => {
  it('stability = 1 − mean relative L2 change; max-sensitivity = the worst draw; seeds reproduce', () => {
    const base = Float32Array.from([3, 4]);
    const s = stabilityScores(base, [Float32Array.from([3, 4]), Float32Array.from([0, 4]), Float32Array.from([3, 9])]);
    // distances: 0, 3/5, 5/5
    close(s.stability, 1 - (0 + 0.6 + 1) / 3);
    close(s.max_sensitivity, 1);
    const x = Float32Array.from([0, 1, 2, 10]);
    const a = noisyInputs(x, 2, 0.01, 5),
      b = noisyInputs(x, 2, 0.01, 5);
    close(a.sigma, 0.1);
    deepEqual(a.seeds, [5, 6]);
    deepEqual([...a.inputs[1]], [...b.inputs[1]]);
    ok(a.inputs[0].some((v, i) => v !== x[i]));
  });

  it('finds the parameterised layers after a value, top-down, and re-draws only those', () => {
    const m = analyseModel(tinyCnn(), 'tiny-cnn');
    const layers = layersAfter(m, m.graph.node('/block1/relu/Relu')!.outputs[0]);
    deepEqual(
      layers.map((l) => l.node),
      ['/fc/Gemm', '/block2/conv/Conv'],
    );
    deepEqual(layers[0].initializers, ['fc.weight', 'fc.bias']);
    const proto = randomiseInitializers(m, new Set(['fc.weight']), 1);
    const byName = (p: typeof proto, n: string) => tensorToArray(p.graph!.initializer.find((t) => t.name === n)!) as Float32Array;
    ok(byName(proto, 'fc.weight').some((v, i) => v !== byName(m.proto, 'fc.weight')[i]));
    deepEqual([...byName(proto, 'conv1.weight')], [...byName(m.proto, 'conv1.weight')]);
  });
});
