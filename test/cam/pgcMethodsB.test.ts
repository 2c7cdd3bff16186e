// KPCA-CAM, FEM, SobelCAM and Deep Feature Factorization against pytorch-grad-cam 1.5.5 on
// test/fixtures/pgc155b (scripts/refs/pgc_methods_b.py: a small seeded CNN exported to ONNX, two
// pictures, two layers), through the whole explain pipeline on the saved input tensors.
import { deepEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import type { ExplainParams } from '../../src/engine/explainTypes';
import { pearson } from '../../src/engine/metrics/stats';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { loadNpy } from '../helpers/fixtures';

const DIR = 'test/fixtures/pgc155b';
const MODEL = join(DIR, 'model.onnx');
const LAYERS = { block2: '/block2/block2.2/Relu_output_0', block3: '/block3/block3.2/Relu_output_0' } as const;
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as {
  kernels: string[];
  dff_concepts: number;
  images: Record<string, { target: number }>;
};
const IMAGES = Object.keys(index.images);

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const run = (image: string, method: ExplainParams['method'], extra: Partial<ExplainParams> = {}) =>
  explain({ modelPath: MODEL, input: join(DIR, image, 'input.npy'), method, overlay: false, ...extra }, { sessions });

const reference = (image: string, file: string) => loadNpy(join(DIR, image, file));

describe('pytorch-grad-cam 1.5.5: KPCA-CAM, FEM, SobelCAM, DFF', () => {
  for (const image of IMAGES) {
    for (const [layerName, layer] of Object.entries(LAYERS)) {
      for (const kernel of index.kernels) {
        it(`kpcacam ${kernel} kernel, ${image} at ${layerName}: final map Pearson ≥ 0.999`, async () => {
          const r = await run(image, 'kpcacam', { layers: [layer], kernel: kernel as ExplainParams['kernel'] });
          const ref = reference(image, `kpcacam_${kernel}_${layerName}.npy`);
          const p = pearson(r.explanations[0].cam.data, ref.data);
          ok(p >= 0.999, `Pearson ${p}`);
        });
      }

      it(`fem, ${image} at ${layerName}: final map Pearson ≥ 0.999`, async () => {
        const r = await run(image, 'fem', { layers: [layer] });
        const p = pearson(r.explanations[0].cam.data, reference(image, `fem_${layerName}.npy`).data);
        ok(p >= 0.999, `Pearson ${p}`);
      });

      it(`dff, ${image} at ${layerName}: every concept's map, its head scores and the chosen map`, async () => {
        const r = await run(image, 'dff', { layers: [layer] });
        const e = r.explanations[0];
        const concepts = e.concepts!;
        const k = index.dff_concepts;
        equal(concepts.count, k);
        const maps = reference(image, `dff_${layerName}_maps.npy`);
        const hw = maps.shape[1] * maps.shape[2];
        deepEqual([concepts.maps.height, concepts.maps.width], maps.shape.slice(1));
        for (let c = 0; c < k; c++) {
          const p = pearson(concepts.maps.data.subarray(c * hw, (c + 1) * hw), maps.data.subarray(c * hw, (c + 1) * hw));
          ok(p >= 0.999, `concept ${c}: Pearson ${p}`);
        }
        // The head's scores of the concept embeddings name the concepts: the same best classes.
        const outputs = reference(image, `dff_${layerName}_outputs.npy`);
        const classes = outputs.shape[1];
        for (let c = 0; c < k; c++) {
          const row = Array.from(outputs.data.subarray(c * classes, (c + 1) * classes));
          const best = row.indexOf(Math.max(...row));
          equal(concepts.topClasses[c][0].index, best, `concept ${c}'s best class`);
        }
        // S.cam.npy: the concept that gives the explained class the highest probability.
        const target = e.classIndex;
        const probs = Array.from({ length: k }, (_, c) => {
          const row = Array.from(outputs.data.subarray(c * classes, (c + 1) * classes));
          const m = Math.max(...row);
          const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
          return Math.exp(row[target] - m) / z;
        });
        const chosen = probs.indexOf(Math.max(...probs));
        equal(concepts.chosen, chosen);
        const p = pearson(e.cam.data, maps.data.subarray(chosen * hw, (chosen + 1) * hw));
        ok(p >= 0.999, `chosen map: Pearson ${p}`);
        ok(r.notes.conceptHeadRuns !== undefined && r.notes.nmfIterations !== undefined);
      });
    }

    it(`kpcacam --components 2, ${image}: the sum of sklearn's first two projections (before ReLU: Pearson ≥ 0.999)`, async () => {
      const r = await run(image, 'kpcacam', { layers: [LAYERS.block3], components: 2 });
      const ref = reference(image, 'kpcacam_sigmoid_block3_2components_raw.npy').data.map((v) => Math.max(v, 0));
      const p = pearson(r.explanations[0].camRaw.data, ref);
      ok(p >= 0.999, `Pearson ${p}`);
      const one = await run(image, 'kpcacam', { layers: [LAYERS.block3] });
      ok(pearson(one.explanations[0].camRaw.data, ref) < 0.999, 'one component gives another map');
    });

    it(`sobelcam, ${image}: pytorch-grad-cam's uint8 edge map, value for value`, async () => {
      const r = await run(image, 'sobelcam');
      const ref = reference(image, 'sobelcam.npy');
      const raw = r.explanations[0].camRaw;
      deepEqual([raw.height, raw.width], ref.shape);
      let diff = 0;
      for (let i = 0; i < ref.data.length; i++) diff = Math.max(diff, Math.abs(raw.data[i] - ref.data[i]));
      equal(diff, 0);
      ok(pearson(r.explanations[0].cam.data, ref.data) >= 0.999);
    });
  }

  it('sobelcam refuses multi-scale fusion and aug-smooth (no picture for those inputs)', async () => {
    await explain({ modelPath: MODEL, input: join(DIR, IMAGES[0], 'input.npy'), method: 'sobelcam', augSmooth: true }, { sessions }).then(
      () => ok(false, 'expected an error'),
      (e: Error) => ok(/aug-smooth/.test(e.message), e.message),
    );
  });
});
