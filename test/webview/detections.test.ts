// The panel's detections (issue 16): the `setBox` intent is checked like every other, a revived
// panel keeps its box, and the `result` view carries the detections with boxes in the pixels of
// the picture the panel shows, and which one was explained.
import { deepEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { explain } from '../../src/engine/explain';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainView } from '../../src/host/panel/explainView';
import { parseFromWebview, persistedExplainState } from '../../src/panel/protocol';
import { randomArray } from '../helpers/models';
import { YOLO_LIKE, yoloLike } from '../helpers/yolo';

const sessions = new SessionCache();
const dir = mkdtempSync(join(tmpdir(), 'camlens-panel-boxes-'));
after(async () => {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('panel detections', () => {
  it('setBox: a detection index or null, nothing else', () => {
    deepEqual(parseFromWebview({ type: 'setBox', box: 2 }), { type: 'setBox', box: 2 });
    deepEqual(parseFromWebview({ type: 'setBox', box: null }), { type: 'setBox', box: null });
    for (const bad of [{ type: 'setBox' }, { type: 'setBox', box: -1 }, { type: 'setBox', box: 1.5 }, { type: 'setBox', box: '1' }])
      equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
    deepEqual(persistedExplainState({ host: { modelPath: 'm.onnx', images: ['a.png'], box: 3 } }), { modelPath: 'm.onnx', images: ['a.png'], box: 3 });
    deepEqual(persistedExplainState({ host: { modelPath: 'm.onnx', images: ['a.png'], box: -3 } }), { modelPath: 'm.onnx', images: ['a.png'] });
  });

  const yolo = join(dir, 'yolo.onnx');
  writeFileSync(yolo, serializeModel(yoloLike({ size: 64 })));
  const params = { modelPath: yolo, layers: [YOLO_LIKE.neckP3], conf: 0.3, overlay: false as const, provider: { provider: 'cpu' as const } };

  it('the view lists the detections and the one explained (a .npy: the model-size picture)', async () => {
    const input = join(dir, 'y.npy');
    writeNpy(
      input,
      randomArray(3 * 64 * 64, 5, 1).map((v) => v + 0.5),
      [1, 3, 64, 64],
    );
    const best = await explain({ ...params, input }, { sessions });
    ok(best.detections!.length >= 2, `${best.detections!.length} detections`);
    const v = explainView(best, 1)!;
    equal(v.detection, 0);
    deepEqual(
      v.detections!.map((d) => [d.box, d.class, d.label, d.score]),
      best.detections!.map((d) => [d.box, d.class, d.label, d.score]),
    );
    const second = explainView(await explain({ ...params, input, box: 1 }, { sessions }), 2)!;
    equal(second.detection, 1);
    equal(second.classIndex, best.detections![1].class);
  });

  it('an image file: boxes in the original picture the panel shows', async () => {
    const input = join(dir, 'wide.png');
    const raw = Buffer.from(randomArray(96 * 64 * 3, 9, 1).map((v) => Math.max(0, Math.min(255, Math.round(128 + 100 * v)))));
    await sharp(raw, { raw: { width: 96, height: 64, channels: 3 } })
      .png()
      .toFile(input);
    const r = await explain({ ...params, input, conf: 0.05 }, { sessions });
    const v = explainView(r, 1)!;
    equal(v.image?.width, 96);
    ok(v.detections!.length > 0);
    deepEqual(
      v.detections!.map((d) => d.box),
      r.detections!.map((d) => d.box),
    );
    ok(v.detections!.every((d) => d.box[2] <= 96 + 1e-3 && d.box[3] <= 64 + 1e-3));
  });
});
