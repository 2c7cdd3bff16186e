// A real export from another converter (issue 15): PaddleOCR's direction classifier as paddle2onnx
// wrote it (ai.onnx opset 9, Softmax output, dynamic batch). It was refused before the opset
// upgrader and its probabilities were soft-maxed a second time. Every CAM method must explain it
// with a non-degenerate map (or say why not), and the upgraded graph must compute what the
// original does.
import { deepStrictEqual, ok } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { explain } from '../../src/engine/explain';
import { LAYER_CAM_METHODS } from '../../src/engine/explainTypes';
import { parseModel, serializeModel } from '../../src/engine/onnx/io';
import { aiOnnxOpset, upgradeOpset } from '../../src/engine/onnx/opsetUpgrade';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray } from '../helpers/models';

const MODEL = resolve(__dirname, '../../../test/fixtures/wild/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const dir = mkdtempSync(join(tmpdir(), 'camlens-wild-'));
const sessions = new SessionCache();
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

async function run(bytes: Uint8Array, input: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 48, 192]) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('a paddle2onnx export (PaddleOCR direction classifier, opset 9)', () => {
  it('upgraded to opset 13, it computes what the original computes (onnxruntime, both)', async () => {
    const bytes = readFileSync(MODEL);
    const model = parseModel(bytes, MODEL);
    deepStrictEqual(aiOnnxOpset(model), 9);
    const up = upgradeOpset(model, 13);
    const input = randomArray(3 * 48 * 192, 11, 1);
    const a = await run(bytes, input);
    const b = await run(serializeModel(up.model), input);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
    ok(worst <= 1e-6, `max relative difference ${worst}`);
    ok(up.changes.length > 0, 'some nodes needed rewriting');
  });

  it('every CAM method explains it; its Softmax output is read as probabilities, not soft-maxed again', async (t) => {
    // A dark "text line" on a light strip, as the classifier sees text.
    const strip = join(dir, 'strip.png');
    const raw = Buffer.alloc(192 * 48 * 3, 230);
    for (let y = 18; y < 30; y++) for (let x = 20; x < 150; x++) raw.fill(30, (y * 192 + x) * 3, (y * 192 + x) * 3 + 3);
    await sharp(raw, { raw: { width: 192, height: 48, channels: 3 } })
      .png()
      .toFile(strip);
    const config = join(dir, 'cls.camlens.json');
    writeFileSync(config, JSON.stringify({ input: { size: [48, 192], mean: 0.5, std: 0.5 } }));
    const rows: string[] = [];
    for (const method of LAYER_CAM_METHODS) {
      const r = await explain({ modelPath: MODEL, input: strip, configPath: config, method, classIndex: 0, overlay: false }, { sessions });
      const map = r.explanations[0].cam.data;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of map) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const informative = Number.isFinite(lo) && Number.isFinite(hi) && hi - lo > 1e-3;
      rows.push(
        `${method}: ${informative ? 'map ok' : 'degenerate map'}${r.warnings.length ? ` (warning: ${r.warnings[0].code})` : ''}, ${r.timings_ms.total.toFixed(0)} ms`,
      );
      // Never a silent wrong answer: a degenerate map must come with a warning.
      ok(informative || r.warnings.length > 0, `${method}: a degenerate map without a warning`);
      deepStrictEqual(r.scoreKind, 'probabilities', `${method}: the output is a Softmax`);
      const p = r.predictions;
      ok(Math.abs(p[0].prob - p[0].score) < 1e-6 && Math.abs(p[0].prob + p[1].prob - 1) < 1e-4, `${method}: probabilities as the model gives them`);
    }
    for (const row of rows) t.diagnostic(row);
  });
});
