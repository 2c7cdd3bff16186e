import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { finalCam } from '../../src/engine/cam/postprocess';
import { explain } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';
import type { CamMethodName } from '../../src/worker/protocol';
import { fixtures, loadNpy } from '../helpers/fixtures';
import { pearson } from '../../src/engine/metrics/stats';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const REFERENCE_NAMES: Partial<Record<CamMethodName, string>> = {
  gradcam: 'GradCAM',
  hirescam: 'HiResCAM',
  'gradcam++': 'GradCAMPlusPlus',
  xgradcam: 'XGradCAM',
  layercam: 'LayerCAM',
  eigencam: 'EigenCAM',
};

describe('explain pipeline', () => {
  it('explains the demo model on a demo image (top-1, in-graph target)', async () => {
    const r = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png' }, { sessions });
    equal(r.explanations.length, 1);
    const e = r.explanations[0];
    equal(e.cam.data.length, e.cam.height * e.cam.width);
    ok(e.cam.data.every((v) => v >= 0 && v <= 1 + 1e-6));
    ok(e.overlayPng && e.overlayPng.byteLength > 100);
    equal(r.predictions[0].index, e.classIndex);
    ok(Math.abs(r.predictions.reduce((s, p) => s + p.prob, 0) - 1) < 0.05 || r.predictions.length < 5);
    equal(r.ep, 'cpu');
  });

  it('leaves the overlay PNG out when asked (the panel draws its own), with the same map', async () => {
    const withPng = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png' }, { sessions });
    const without = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png', overlay: false }, { sessions });
    equal(without.explanations[0].overlayPng, undefined);
    ok(withPng.explanations[0].overlayPng);
    deepEqual(without.explanations[0].cam.data, withPng.explanations[0].cam.data);
    deepEqual(without.image!.data, withPng.image!.data);
  });

  it('leaves the pictures out when asked (the CLI writes files only), with the same maps, overlay and geometry', async () => {
    const full = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png' }, { sessions });
    const bare = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png', pictures: false }, { sessions });
    ok(full.image && full.original?.picture);
    equal(bare.image, undefined);
    equal(bare.original?.picture, undefined);
    deepEqual(bare.original?.geometry, full.original?.geometry);
    deepEqual(bare.explanations[0].cam.data, full.explanations[0].cam.data);
    deepEqual(bare.explanations[0].camImage?.data, full.explanations[0].camImage?.data);
    deepEqual(bare.explanations[0].overlayPng, full.explanations[0].overlayPng);
  });

  it('smooths over test-time augmentations and fuses input scales', async () => {
    const plain = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/circle_1.png' }, { sessions });
    const smooth = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/circle_1.png', augSmooth: true }, { sessions });
    const fused = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/circle_1.png', scales: [1, 0.75, 0.5] }, { sessions });
    equal(smooth.explanations[0].classIndex, plain.explanations[0].classIndex);
    for (const r of [smooth, fused]) {
      const a = r.explanations[0].cam.data;
      ok(a.every((v) => v >= 0 && v <= 1 + 1e-6));
      ok(pearson(a, plain.explanations[0].cam.data) > 0.3, 'still about the same object');
      ok(
        a.some((v, i) => Math.abs(v - plain.explanations[0].cam.data[i]) > 1e-3),
        'and not identical to the plain map',
      );
    }
    equal(fused.notes.scales, '1,0.75,0.5');
    await rejects(
      explain({ modelPath: 'demo/model.onnx', input: 'demo/images/circle_1.png', scales: [1, 0.5], scaleWeights: [1] }, { sessions }),
      /2 scales but 1 scale weights/,
    );
  });

  it('refuses multi-scale with a clear error when the graph fixes the input size', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    await rejects(
      explain({ modelPath: join(root, 'models/vit_tiny.onnx'), input: join(root, 'images/cat.jpg'), scales: [1, 0.5] }, { sessions }),
      (e: unknown) => e instanceof CamLensError && /Multi-scale fusion needs the model to accept other input sizes.*\/encoder\/Add/.test(e.message),
    );
  });

  it('runs Score-CAM and Ablation-CAM (batched channel runs) matching pytorch-grad-cam', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const cases: Array<[string, CamMethodName, string]> = [
      ['resnet18_layer4_224', 'ablationcam', 'AblationCAM'],
      ['resnet18_layer4_224_c207', 'ablationcam', 'AblationCAM'], // negative score flips the weights' sign
      ['convnext_mini_features7_224', 'ablationcam', 'AblationCAM'],
      ['convnext_mini_features7_224', 'scorecam', 'ScoreCAM'],
    ];
    for (const [caseName, method, ref] of cases) {
      const index = JSON.parse(readFileSync(join(root, 'refs', caseName, 'index.json'), 'utf8'));
      const r = await explain(
        {
          modelPath: join(root, index.onnx_model),
          input: join(root, 'refs', caseName, 'input.npy'),
          method,
          layers: [index.onnx_mapping.tensor],
          classIndex: index.target_classes[0],
          batchSize: 64,
        },
        { sessions },
      );
      const lowres = loadNpy(join(root, 'refs', caseName, `cam_${ref}_lowres.npy`)).data.map((v) => Math.max(0, v));
      const rawCorr = pearson(r.explanations[0].camRaw.data, lowres);
      const finalCorr = pearson(r.explanations[0].cam.data, loadNpy(join(root, 'refs', caseName, `cam_${ref}.npy`)).data);
      t.diagnostic(
        `${caseName} ${method}: raw r=${rawCorr.toFixed(6)} final r=${finalCorr.toFixed(6)}; ${r.notes.channelRuns} runs, ${r.notes.channelsSkipped} channels skipped, ${r.timings_ms.run.toFixed(0)} ms`,
      );
      ok(rawCorr >= 0.999 && finalCorr >= 0.99, `${caseName} ${method}`);
    }
  });

  it('skips dead channels in Score-CAM and Ablation-CAM on the demo model', async () => {
    for (const method of ['scorecam', 'ablationcam'] as const) {
      const r = await explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_2.png', method, batchSize: 16 }, { sessions });
      ok(r.explanations[0].cam.data.every((v) => v >= 0 && v <= 1 + 1e-6));
      ok(Number(r.notes.channelRuns) >= 1);
      ok(Number(r.notes.channelsSkipped) >= 0);
    }
  });

  it('explains a segmentation output over a region mask', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const sharp = (await import('sharp')).default;
    const { DataType, ModelBuilder } = await import('../../src/engine/onnx/builder');
    const { serializeModel } = await import('../../src/engine/onnx/io');
    const { randomArray } = await import('../helpers/models');
    const b = ModelBuilder.create(17);
    const x = b.input('input', DataType.FLOAT, [1, 3, 16, 16]);
    const c1 = b.op('Conv', [x, b.floats('w1', [8, 3, 3, 3], randomArray(216, 3))], { pads: [1, 1, 1, 1] }, { name: '/enc/Conv' });
    const r1 = b.op('Relu', [c1], {}, { name: '/enc/Relu' });
    b.op('Conv', [r1, b.floats('w2', [4, 8, 1, 1], randomArray(32, 4))], {}, { name: '/head/Conv', outputs: ['seg'] });
    b.output('seg', DataType.FLOAT, [1, 4, 16, 16]);
    const dir = mkdtempSync(join(tmpdir(), 'camlens-seg-'));
    const modelPath = join(dir, 'seg.onnx');
    writeFileSync(modelPath, serializeModel(b.build()));
    const maskPath = join(dir, 'left.png');
    const mask = Buffer.alloc(16 * 16);
    for (let y = 0; y < 16; y++) for (let xx = 0; xx < 8; xx++) mask[y * 16 + xx] = 255;
    await sharp(mask, { raw: { width: 16, height: 16, channels: 1 } })
      .png()
      .toFile(maskPath);
    const imagePath = join(dir, 'img.png');
    await sharp(Buffer.from(randomArray(16 * 16 * 3, 5).map((v) => Math.round((v + 0.5) * 255))), { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toFile(imagePath);
    const r = await explain(
      { modelPath, input: imagePath, method: 'hirescam', layers: ['/enc/Relu_output_0'], regionMask: maskPath, classIndex: 2 },
      { sessions },
    );
    const raw = r.explanations[0].camRaw;
    equal(raw.width, 16);
    let right = 0;
    for (let y = 0; y < 16; y++) for (let xx = 8; xx < 16; xx++) right += Math.abs(raw.data[y * 16 + xx]);
    equal(right, 0, 'no gradient reaches the pixels outside the region through a 1x1 head');
    ok(
      raw.data.some((v) => v > 0),
      'the region has evidence',
    );
    equal(r.predictions.length, 4);
  });

  it('gives clear errors for a bad layer, class or image', async () => {
    await rejects(
      explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png', layers: ['nope'] }, { sessions }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNKNOWN_VALUE',
    );
    await rejects(explain({ modelPath: 'demo/model.onnx', input: 'demo/images/star_1.png', classIndex: 99 }, { sessions }), /out of range.*0–3/);
    await rejects(explain({ modelPath: 'demo/model.onnx', input: 'package.json' }, { sessions }), /could not be decoded/);
  });

  it('matches pytorch-grad-cam on every fixture case (Pearson ≥ 0.999 raw, ≥ 0.99 final)', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    for (const caseName of readdirSync(join(root, 'refs'))) {
      const index = JSON.parse(readFileSync(join(root, 'refs', caseName, 'index.json'), 'utf8'));
      if (index.target_classes.length !== 1) continue; // batch cases are checked by the CAM unit tests
      for (const [method, ref] of Object.entries(REFERENCE_NAMES)) {
        // The fixtures are here: a missing reference is a broken fixture set, not a pass.
        const lowresPath = join(root, 'refs', caseName, `cam_${ref}_lowres.npy`);
        ok(existsSync(lowresPath), `${lowresPath} is missing from the fixtures`);
        const r = await explain(
          {
            modelPath: join(root, index.onnx_model),
            input: join(root, 'refs', caseName, 'input.npy'),
            method: method as CamMethodName,
            layers: [index.onnx_mapping.tensor],
            classIndex: index.target_classes[0],
          },
          { sessions },
        );
        const e = r.explanations[0];
        let signed = loadNpy(lowresPath).data;
        let final = loadNpy(join(root, 'refs', caseName, `cam_${ref}.npy`)).data;
        // The sign of EigenCAM's principal component is arbitrary: where ours is numpy's opposite,
        // the reference is flipped and its final map remade by the same postprocess, then compared.
        const flipped =
          method === 'eigencam' &&
          pearson(
            e.camRaw.data,
            signed.map((v) => Math.max(0, v)),
          ) < 0;
        if (flipped) {
          signed = signed.map((v) => -v);
          final = finalCam({ data: signed, shape: [1, e.camRaw.height, e.camRaw.width] }, [e.cam.height, e.cam.width]).data;
        }
        const lowres = signed.map((v) => Math.max(0, v));
        const rawCorr = pearson(e.camRaw.data, lowres);
        const finalCorr = pearson(e.cam.data, final);
        t.diagnostic(
          `${caseName} ${method}: raw r=${rawCorr.toFixed(5)} final r=${finalCorr.toFixed(5)}${flipped ? ' (against the sign-flipped reference)' : ''}`,
        );
        ok(rawCorr >= 0.999, `${caseName} ${method}: raw correlation ${rawCorr}`);
        ok(finalCorr >= 0.99, `${caseName} ${method}: final correlation ${finalCorr}`);
      }
    }
  });
});
