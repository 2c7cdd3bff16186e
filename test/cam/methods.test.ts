// Each method's formula on small hand-made activations/gradients (always runs), checked against
// naive float64 re-statements of pytorch-grad-cam's definitions and a few values by hand.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAYER_CAMS, layerCam, createCam, isBatchable, type CamInput, type FeatureMaps } from '../../src/engine/cam';
import { ATTENTION_METHODS, CAM_METHODS, INPUT_SPACE_METHODS, LAYER_CAM_METHODS } from '../../src/engine/explainTypes';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function random(shape: [number, number, number, number], seed: number, lo = -1, hi = 1): FeatureMaps {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => lo + (hi - lo) * r()), shape };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** Naive reference: per image/channel lists, float64. */
function naive(input: CamInput, method: string): { weights?: number[]; lowres: number[] } {
  const [n, c, h, w] = input.activations.shape;
  const hw = h * w;
  const A = (b: number, ch: number, p: number) => input.activations.data[(b * c + ch) * hw + p];
  const G = (b: number, ch: number, p: number) => input.gradients!.data[(b * c + ch) * hw + p];
  const weights: number[] = [];
  const lowres: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let sumA = 0,
        sumG = 0,
        sumGA = 0,
        pp = 0;
      for (let p = 0; p < hw; p++) {
        sumA += A(b, ch, p);
        sumG += G(b, ch, p);
        sumGA += G(b, ch, p) * A(b, ch, p);
      }
      for (let p = 0; p < hw; p++) {
        const g = G(b, ch, p);
        const aij = g === 0 ? 0 : g ** 2 / (2 * g ** 2 + sumA * g ** 3 + 1e-6);
        pp += Math.max(g, 0) * aij;
      }
      weights.push(method === 'gradcam' ? sumG / hw : method === 'gradcam++' ? pp : sumGA / (sumA + 1e-7));
    }
    for (let p = 0; p < hw; p++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) {
        const a = A(b, ch, p),
          g = G(b, ch, p);
        if (method === 'hirescam') s += g * a;
        else if (method === 'gradcam-elementwise') s += Math.max(g * a, 0);
        else if (method === 'layercam') s += Math.max(g, 0) * a;
        else s += weights[b * c + ch] * a;
      }
      lowres.push(s);
    }
  }
  return { weights: ['gradcam', 'gradcam++', 'xgradcam'].includes(method) ? weights : undefined, lowres };
}

describe('CAM method formulas', () => {
  const input: CamInput = { activations: random([2, 5, 3, 4], 1, 0, 2), gradients: random([2, 5, 3, 4], 2) };

  for (const id of ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'gradcam-elementwise', 'layercam']) {
    it(`${id} matches the definition`, () => {
      const ref = naive(input, id);
      const got = createCam(id).lowres(input);
      deepStrictEqual(got.lowres.shape, [2, 3, 4]);
      close(got.lowres.data, ref.lowres, 1e-6, `${id} lowres`);
      if (ref.weights) close(got.weights!, ref.weights, 1e-6, `${id} weights`);
      else equal(got.weights, undefined);
    });
  }

  it('GradCAM by hand: mean gradient times activation', () => {
    const a: FeatureMaps = { data: Float32Array.of(1, 2, 3, 4, 0, 1, 0, 1), shape: [1, 2, 2, 2] };
    const g: FeatureMaps = { data: Float32Array.of(1, 1, 1, 1, -2, 0, 0, 0), shape: [1, 2, 2, 2] };
    const r = createCam('gradcam').lowres({ activations: a, gradients: g });
    deepStrictEqual([...r.weights!], [1, -0.5]);
    deepStrictEqual([...r.lowres.data], [1, 1.5, 3, 3.5]);
    // HiResCAM keeps the gradient's position: only the first channel's first position counts negatively
    const h = createCam('hirescam').lowres({ activations: a, gradients: g });
    deepStrictEqual([...h.lowres.data], [1, 2, 3, 4]);
  });

  it('GradCAM++ ignores zero and negative gradients; XGradCAM by hand', () => {
    const a: FeatureMaps = { data: Float32Array.of(1, 1, 1, 1), shape: [1, 1, 2, 2] };
    const g: FeatureMaps = { data: Float32Array.of(0, -1, 0.5, 0), shape: [1, 1, 2, 2] };
    const pp = createCam('gradcam++').lowres({ activations: a, gradients: g });
    // only p = 2: 0.5 · 0.25 / (0.5 + 4·0.125 + 1e-6)
    close(pp.weights!, [0.5 * (0.25 / (0.5 + 0.5 + 1e-6))], 1e-7, 'gradcam++');
    const x = createCam('xgradcam').lowres({ activations: a, gradients: g });
    close(x.weights!, [-0.5 / (4 + 1e-7)], 1e-7, 'xgradcam');
  });

  it('EigenCAM: a rank-one activation gives its spatial pattern back (sign: hot where the layer fires)', () => {
    const pattern = [0, 1, 4, 2, 0, 0, 3, 1, 0];
    const mix = [1, 0.5, 2, 0.25];
    const data = new Float32Array(4 * 9);
    for (let c = 0; c < 4; c++) for (let p = 0; p < 9; p++) data[c * 9 + p] = mix[c] * pattern[p];
    const r = createCam('eigencam').lowres({ activations: { data, shape: [1, 4, 3, 3] } });
    const mean = pattern.reduce((a, b) => a + b) / 9;
    const norm = Math.hypot(...mix);
    close(
      r.lowres.data,
      pattern.map((v) => (v - mean) * norm),
      1e-5,
      'eigencam',
    );
    // more channels than positions: the hw×hw route gives the same map
    const wide = new Float32Array(40 * 9);
    for (let c = 0; c < 40; c++) for (let p = 0; p < 9; p++) wide[c * 9 + p] = ((c % 7) - 2) * pattern[p];
    const rw = createCam('eigencam').lowres({ activations: { data: wide, shape: [1, 40, 3, 3] } });
    let n2 = 0;
    for (let c = 0; c < 40; c++) n2 += ((c % 7) - 2) ** 2;
    const proj = pattern.map((v) => (v - mean) * Math.sqrt(n2));
    // the channel mean map ∝ Σ_c((c%7)−2)·pattern has the sign of that sum
    let s = 0;
    for (let c = 0; c < 40; c++) s += (c % 7) - 2;
    close(
      rw.lowres.data,
      proj.map((v) => Math.sign(s) * v),
      1e-5,
      'eigencam wide',
    );
  });

  it('EigenGradCAM is EigenCAM of G⊙A', () => {
    const prod = new Float32Array(input.activations.data.length);
    for (let i = 0; i < prod.length; i++) prod[i] = input.activations.data[i] * input.gradients!.data[i];
    const e = createCam('eigencam').lowres({ activations: { data: prod, shape: input.activations.shape } });
    const eg = createCam('eigengradcam').lowres(input);
    close(eg.lowres.data, e.lowres.data, 1e-6, 'eigengradcam');
  });

  it('eigen_smooth replaces the channel sum by the first component of the weighted activations', () => {
    const g = createCam('gradcam');
    const w = g.weights(input)!;
    const weighted = new Float32Array(input.activations.data.length);
    const hw = 12;
    for (let i = 0; i < weighted.length; i++) weighted[i] = w[Math.floor(i / hw)] * input.activations.data[i];
    const viaEigen = createCam('eigencam').lowres({ activations: { data: weighted, shape: input.activations.shape } });
    close(g.lowres(input, { eigenSmooth: true }).lowres.data, viaEigen.lowres.data, 1e-6, 'gradcam eigen_smooth');
    const lay = createCam('layercam').lowres(input, { eigenSmooth: true });
    equal(lay.lowres.data.length, 24);
  });

  it('compute() gives raw = relu(lowres) and a final map in [0, 1] at the requested size', () => {
    const r = createCam('gradcam').compute(input, [9, 8]);
    deepStrictEqual(r.cam.shape, [2, 9, 8]);
    deepStrictEqual(r.raw.shape, [2, 3, 4]);
    r.raw.data.forEach((v, i) => equal(v, Math.max(0, r.lowres.data[i])));
    for (let b = 0; b < 2; b++) {
      const img = r.cam.data.subarray(b * 72, (b + 1) * 72);
      ok(Math.min(...img) === 0 && Math.max(...img) > 0.9999 && Math.max(...img) <= 1);
    }
  });

  it('errors: missing or mismatched gradients, bad shapes, missing scores', () => {
    throws(() => createCam('gradcam').lowres({ activations: input.activations }), /needs the gradient.*eigencam, scorecam or ablationcam/);
    throws(() => createCam('layercam').lowres({ activations: input.activations, gradients: random([2, 5, 4, 3], 3) }), /same/);
    throws(() => createCam('eigencam').lowres({ activations: { data: new Float32Array(5), shape: [1, 1, 2, 2] } }), /values/);
    throws(() => createCam('scorecam').lowres({ activations: input.activations }), /channelScores/);
    throws(() => createCam('ablationcam').lowres({ activations: input.activations, channelScores: new Float32Array(10) }), /baseScores/);
    // eigencam needs no gradient
    equal(createCam('eigencam').lowres({ activations: input.activations }).lowres.data.length, 24);
  });
});

describe('CAM method registry', () => {
  it('lists every method id with its class and needs', () => {
    deepStrictEqual(LAYER_CAM_METHODS, [
      'gradcam',
      'hirescam',
      'gradcam-elementwise',
      'gradcam++',
      'xgradcam',
      'layercam',
      'eigencam',
      'eigengradcam',
      'scorecam',
      'ablationcam',
      'fullgrad',
      'finercam',
      'refinecam',
      'kpcacam',
      'fem',
      'sobelcam',
      'dff',
      'shapleycam',
      'guided-backprop',
      'guided-gradcam',
    ]);
    deepStrictEqual(Object.keys(LAYER_CAMS), LAYER_CAM_METHODS);
    for (const id of LAYER_CAM_METHODS) {
      const info = LAYER_CAMS[id];
      equal(info.id, id);
      const cam = info.create();
      equal(cam.id, id);
      equal(cam.needsGradients, info.needsGradients, id);
      equal(cam.referenceName, info.referenceName, id);
    }
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => !LAYER_CAMS[id].needsGradients),
      ['eigencam', 'scorecam', 'ablationcam', 'kpcacam', 'fem', 'sobelcam', 'dff'],
    );
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].readsPicture),
      ['sobelcam'],
    );
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].concepts),
      ['dff'],
    );
    equal(LAYER_CAMS.scorecam.channelRuns, 'masked-inputs');
    equal(LAYER_CAMS.ablationcam.channelRuns, 'ablations');
    // What the pipeline reads instead of testing ids: second order, ReST, the guided rule set, the attribution.
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].order === 2 || LAYER_CAMS[id].scoreTarget === 'rest'),
      ['shapleycam'],
    );
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].ruleVariant).map((id) => [id, LAYER_CAMS[id].ruleVariant, LAYER_CAMS[id].attribution]),
      [
        ['guided-backprop', 'guided', 'input-gradient'],
        ['guided-gradcam', 'guided', 'input-gradient-times-cam'],
      ],
    );
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].channelRuns !== 'none'),
      ['scorecam', 'ablationcam'],
    );
    // What the pipeline reads instead of ids: FullGrad's layers are the graph's biases, RefineCAM
    // combines several, FinerCAM has a contrast target and a base method.
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].layers !== undefined).map((id) => [id, LAYER_CAMS[id].layers]),
      [
        ['fullgrad', 'biases'],
        ['refinecam', 'several'],
      ],
    );
    deepStrictEqual(
      LAYER_CAM_METHODS.filter((id) => LAYER_CAMS[id].target === 'finer'),
      ['finercam'],
    );
    equal(LAYER_CAMS.finercam.base?.default, 'gradcam');
  });

  it('says which methods one stacked run serves (batch export): not those with channel runs, not the attention methods', () => {
    deepStrictEqual(CAM_METHODS.filter(isBatchable), [
      'gradcam',
      'hirescam',
      'gradcam-elementwise',
      'gradcam++',
      'xgradcam',
      'layercam',
      'eigencam',
      'eigengradcam',
      'kpcacam',
      'fem',
    ]);
  });

  it('is the whole method list but for the attention and input-space methods', () => {
    deepStrictEqual(
      CAM_METHODS.filter((m) => !(ATTENTION_METHODS as readonly string[]).includes(m) && !(INPUT_SPACE_METHODS as readonly string[]).includes(m)),
      LAYER_CAM_METHODS,
    );
  });

  it('rejects an unknown id with the closest name', () => {
    throws(
      () => layerCam('gradcampp'),
      (e: Error) => /unknown CAM method 'gradcampp'/.test(e.message) && /valid: gradcam/.test(e.message),
    );
  });
});
