// Guided backprop, guided Grad-CAM and ShapleyCAM against pytorch-grad-cam 1.5.5 on a small CNN
// with seeded random weights (test/fixtures/pgc155c, made by scripts/refs/pgc_guided_shapley.py:
// torch.nn.ReLU modules, GAP, Linear; 64×64 inputs from two photos).
import { deepStrictEqual, ok } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { GradCam, ShapleyCam, type FeatureMaps } from '../../src/engine/cam';
import { explain } from '../../src/engine/explain';
import { pearson } from '../../src/engine/metrics/stats';
import { loadModel } from '../../src/engine/model';
import { readNpy } from '../../src/engine/npy';
import { runGradient } from '../../src/engine/pipeline/gradientRun';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { writeExplanation } from '../../src/cli/commands/explain';

const DIR = resolve(__dirname, '../../../test/fixtures/pgc155c');
const MODEL = join(DIR, 'model.onnx');
const meta = JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')) as { layers: { mid: string; last: string }; images: { class: number }[] };
const IMAGES = [0, 1];
const ref = (name: string) => readNpy(join(DIR, name)).data;
const input = (i: number) => join(DIR, `input${i}.npy`);

const sessions = new SessionCache();
after(() => sessions.releaseAll());

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe('guided backprop and guided Grad-CAM match pytorch-grad-cam 1.5.5', () => {
  for (const i of IMAGES) {
    it(`image ${i}: raw guided gradients (GuidedBackpropReLUModel) and the guided Grad-CAM composition`, async (t) => {
      const gb = await explain({ modelPath: MODEL, input: input(i), method: 'guided-backprop', layers: [meta.layers.last], overlay: false }, { sessions });
      const e = gb.explanations[0];
      deepStrictEqual(e.attribution!.dims, [3, 64, 64]);
      deepStrictEqual(e.classIndex, meta.images[i].class);
      const want = ref(`guided_backprop${i}.npy`);
      const err = relErr(e.attribution!.data, want);
      t.diagnostic(`guided backprop: max|Δ|/max|ref| ${err.toExponential(2)}, pearson ${pearson(e.attribution!.data, want).toFixed(7)}`);
      ok(err < 1e-4, `guided gradients differ from pytorch-grad-cam's: ${err}`);
      // Guided, not plain: the plain input gradient is far from it.
      const plain = await runGradient(
        loadModel(MODEL),
        { sessions },
        { output: 'logits', layers: [meta.layers.last], softmax: false, top1InGraph: true, inputGradient: 'standard' },
        { dtype: 'float32', dims: [1, 3, 64, 64], data: readNpy(input(i)).data as Float32Array },
      );
      ok(pearson(plain.inputGradient!.data as Float32Array, want) < 0.9, 'the plain gradient is not the guided one');

      const gg = await explain({ modelPath: MODEL, input: input(i), method: 'guided-gradcam', layers: [meta.layers.last], overlay: false }, { sessions });
      const composed = gg.explanations[0].attribution!.data;
      const wantComposed = ref(`guided_gradcam${i}.npy`);
      const r = pearson(composed, wantComposed);
      t.diagnostic(`guided Grad-CAM: pearson ${r.toFixed(7)}, max|Δ|/max|ref| ${relErr(composed, wantComposed).toExponential(2)}`);
      ok(r >= 0.999, `guided Grad-CAM pearson ${r}`);
      ok(relErr(composed, wantComposed) < 1e-3);
    });
  }
});

describe('ShapleyCAM matches pytorch-grad-cam 1.5.5 (its ReST target; second-order gradients)', () => {
  for (const i of IMAGES) {
    for (const layer of ['last', 'mid'] as const) {
      it(`image ${i}, ${layer} ReLU: final map with the ReST target`, async (t) => {
        const r = await explain({ modelPath: MODEL, input: input(i), method: 'shapleycam', layers: [meta.layers[layer]], overlay: false }, { sessions });
        const got = r.explanations[0].cam.data;
        const want = ref(`shapleycam_rest_${layer}${i}.npy`);
        const p = pearson(got, want);
        // ReST is not the plain logit: the reference map is not Grad-CAM's, so matching it means something.
        const logitRef = ref(`shapleycam_logit_${layer}${i}.npy`);
        t.diagnostic(
          `pearson ${p.toFixed(7)} (reference vs its own plain-logit map: ${pearson(want, logitRef).toFixed(5)}); max|Δ| ${relErr(got, want).toExponential(2)}`,
        );
        ok(p >= 0.999, `pearson ${p}`);
        ok(relErr(got, want) < 1e-3, `max |Δ| ${relErr(got, want)}`);
        ok(pearson(got, logitRef) < p, 'closer to the ReST reference than to the plain-logit one');
      });
    }
    it(`image ${i}: with a plain logit above a linear head, H·A = 0 and ShapleyCAM is Grad-CAM`, async (t) => {
      const model = loadModel(MODEL);
      const x = { dtype: 'float32', dims: [1, 3, 64, 64], data: readNpy(input(i)).data as Float32Array };
      const layer = meta.layers.last;
      const run = await runGradient(
        model,
        { sessions },
        { output: 'logits', layers: [layer], softmax: false, top1InGraph: true, hessianVectorProducts: true },
        x,
      );
      const fm = (v: { data: unknown; dims: number[] }): FeatureMaps => ({ data: v.data as Float32Array, shape: v.dims as [number, number, number, number] });
      const hvp = run.hessianVectorProducts![layer].data as Float32Array;
      const hvpMax = hvp.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      t.diagnostic(`max |H·A| ${hvpMax}`);
      ok(hvpMax < 1e-6, `H·A should vanish (ReLU, GAP and Gemm are piecewise linear): ${hvpMax}`);
      const camInput = {
        activations: fm(run.activations[layer]),
        gradients: fm(run.gradients[layer]),
        hessianVectorProducts: fm(run.hessianVectorProducts![layer]),
      };
      const shapley = new ShapleyCam().compute(camInput, [64, 64]).cam.data;
      const grad = new GradCam().compute(camInput, [64, 64]).cam.data;
      ok(relErr(shapley, grad) < 1e-6, 'ShapleyCAM = Grad-CAM');
      const want = ref(`shapleycam_logit_last${i}.npy`);
      ok(pearson(shapley, want) >= 0.999 && pearson(ref(`gradcam${i}.npy`), want) > 0.9999, 'and both equal pytorch-grad-cam');
    });
  }
});

describe('input-space outputs', () => {
  it('the CLI writer saves S.attr.npy, float32 [C, H, W], beside S.cam.npy', async () => {
    const r = await explain({ modelPath: MODEL, input: input(0), method: 'guided-backprop' }, { sessions });
    const out = mkdtempSync(join(tmpdir(), 'camlens-attr-'));
    try {
      const files = await writeExplanation(out, 'S', r);
      ok(files.includes('S.attr.npy') && files.includes('S.cam.npy'));
      const attr = readNpy(join(out, 'S.attr.npy'));
      deepStrictEqual(attr.shape, [3, 64, 64]);
      ok(attr.data instanceof Float32Array);
      deepStrictEqual([...attr.data.slice(0, 50)], [...r.explanations[0].attribution!.data.slice(0, 50)]);
      ok(existsSync(join(out, 'S.cam.npy')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
