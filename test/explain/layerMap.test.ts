// The panel's maps at the layer's size (ExplainParams.mapsAt = 'layer', engine/cam/layerMap.ts):
// an answer that leaves `cam` and `camImage` out must let the receiver rebuild exactly the maps a
// full answer carries, for every method whose map is its layer's map upsampled; every other map
// (aug smooth, several scales, methods that combine layers their own way) travels in full.
import * as assert from 'node:assert/strict';
import { deepEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { withFullMaps } from '../../src/engine/cam/layerMap';
import { explain, explainAnswer } from '../../src/engine/explain';
import { LAYER_CAM_METHODS, type ExplainAnswer, type ExplainParams, type ExplainResult } from '../../src/engine/explainTypes';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainView } from '../../src/host/panel/explainView';
import { withShownMap } from '../../src/panel/protocol';
import { tinyCnn } from '../helpers/models';

const dir = mkdtempSync(join(tmpdir(), 'camlens-layermap-'));
const sessions = new SessionCache();
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

// A centre crop: the original picture (64×48) and the model's input differ, and parts of the
// photo the model never saw are NaN in camImage — the rebuild must put them back the same way.
const model = join(dir, 'crop.onnx');
writeFileSync(model, serializeModel(tinyCnn()));
writeFileSync(join(dir, 'crop.camlens.json'), JSON.stringify({ input: { resize: 'shorter-side-then-center-crop' } }));

async function photo(): Promise<string> {
  const [w, h] = [64, 48];
  const data = Buffer.alloc(w * h * 3, 30);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - 20) ** 2 + (y - 24) ** 2 < 100) data.fill(230, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const file = join(dir, 'wide.png');
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

const sameBits = (a: Float32Array, b: Float32Array, what: string) => {
  equal(a.length, b.length, `${what}: length`);
  deepEqual(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength), `${what}: values`);
};

async function both(params: ExplainParams): Promise<{ full: ExplainResult; panel: ExplainAnswer }> {
  const full = await explain({ ...params, overlay: false }, { sessions });
  const panel = await explainAnswer({ ...params, overlay: false, mapsAt: 'layer' }, { sessions });
  return { full, panel };
}

describe("maps at the layer's size (the panel's answers)", () => {
  it('rebuilds every layer method’s map and its map on the original, bit for bit', async (t) => {
    const input = await photo();
    const atLayer: string[] = [];
    for (const method of LAYER_CAM_METHODS) {
      // Methods that need what the tiny model lacks (several layers, concepts' NMF on 2 channels…) are skipped by their errors.
      let pair: Awaited<ReturnType<typeof both>>;
      try {
        pair = await both({ modelPath: model, input, method });
      } catch {
        continue;
      }
      const { full, panel } = pair;
      const f = full.explanations[0];
      const p = panel.explanations[0];
      deepEqual(p.mapAtLayer, f.mapAtLayer, `${method}: the same verdict with and without mapsAt`);
      if (!p.mapAtLayer) {
        ok(p.cam, `${method}: a map that is not its layer's travels in full`);
        continue;
      }
      atLayer.push(method);
      equal(p.cam, undefined, `${method}: cam left out`);
      equal(p.camImage, undefined, `${method}: camImage left out`);
      const rebuilt = withFullMaps(panel).explanations[0];
      sameBits(rebuilt.cam.data, f.cam.data, `${method} cam`);
      ok(f.camImage, `${method}: an image input has camImage`);
      sameBits(rebuilt.camImage!.data, f.camImage.data, `${method} camImage`);
      deepEqual([rebuilt.camImage!.width, rebuilt.camImage!.height], [64, 48]);
      // What the webview draws: the host's view, rebuilt where it is drawn, on the original picture.
      const drawn = withShownMap(explainView(panel, 1)!);
      sameBits(drawn.cam.data, f.camImage.data, `${method} drawn`);
      deepEqual([drawn.image.width, drawn.image.height], [64, 48]);
    }
    for (const m of ['gradcam', 'gradcam++', 'scorecam', 'eigencam', 'layercam'])
      ok(atLayer.includes(m), `${m} travels at the layer's size (${atLayer.join(', ')})`);
    ok(!atLayer.includes('fullgrad'), 'FullGrad sums its bias maps at the input size');
    t.diagnostic(`at the layer's size: ${atLayer.join(', ')}`);
  });

  it('sends the map in full when a step after the layer changed it (aug smooth, scales)', async () => {
    const input = await photo();
    const steps: Partial<ExplainParams>[] = [{ augSmooth: true }, { scales: [1, 0.75], scaleWeights: [0.5, 0.5] }];
    for (const extra of steps) {
      const { full, panel } = await both({ modelPath: model, input, method: 'gradcam', ...extra });
      equal(full.explanations[0].mapAtLayer, undefined, JSON.stringify(extra));
      ok(panel.explanations[0].cam && panel.explanations[0].camImage, `${JSON.stringify(extra)}: full maps`);
      sameBits(panel.explanations[0].cam.data, full.explanations[0].cam.data, JSON.stringify(extra));
    }
  });

  it('sends no picture to the webview for the same image again, and draws on the one it shows', async () => {
    const { panel } = await both({ modelPath: model, input: await photo(), method: 'gradcam' });
    const first = withShownMap(explainView(panel, 1)!);
    const again = explainView(panel, 2, { picture: false })!;
    equal(again.image, undefined);
    equal(again.samePicture, true);
    const drawn = withShownMap(again, first);
    equal(drawn.image, first.image);
    sameBits(drawn.cam.data, first.cam.data, 'the map');
    assert.throws(() => withShownMap(again), /no picture/);
  });

  it('an answer with full maps passes through withFullMaps unchanged', async () => {
    const { full } = await both({ modelPath: model, input: await photo(), method: 'gradcam' });
    const again = withFullMaps(full);
    equal(again.explanations[0].cam, full.explanations[0].cam);
    equal(again.explanations[0].camImage, full.explanations[0].camImage);
  });
});
