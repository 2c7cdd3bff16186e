// Raw YOLO heads: decode + class-wise NMS against a straightforward reference written here, the
// layouts recognised, and `explain` on a YOLOv8-like DSL model: the N-th detection's class score
// is the target (its index and score reported), and its Grad-CAM agrees with finite differences.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { chooseDetection, detect } from '../../src/engine/detection/detections';
import { decodeYolo, yoloLayoutOf, type Box } from '../../src/engine/detection/yolo';
import { imageGeometry, inputToOriginalBox } from '../../src/engine/image/geometry';
import { encodeRgbPng } from '../../src/engine/image/png';
import { CamLensError } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { analyseModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { extractModel } from '../../src/engine/surgery/extract';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { randomArray, rng } from '../helpers/models';
import { YOLO_LIKE, yoloLike } from '../helpers/yolo';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

/** The reference: every anchor × best class, sorted by score, pairwise IoU, per class. */
function referenceDetections(out: Float32Array, k: number, a: number, conf: number, iou: number) {
  const cands: { box: number[]; cls: number; score: number; anchor: number }[] = [];
  for (let j = 0; j < a; j++) {
    const s = Array.from({ length: k }, (_, c) => out[(4 + c) * a + j]);
    const score = Math.max(...s);
    if (score <= conf) continue;
    const [cx, cy, w, h] = [0, 1, 2, 3].map((r) => out[r * a + j]);
    cands.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], cls: s.indexOf(score), score, anchor: j });
  }
  cands.sort((p, q) => q.score - p.score || p.anchor - q.anchor);
  const area = (b: number[]) => (b[2] - b[0]) * (b[3] - b[1]);
  const overlap = (p: number[], q: number[]) => {
    const w = Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0]));
    const h = Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
    return (w * h) / (area(p) + area(q) - w * h);
  };
  const suppressed = new Set<number>();
  const kept = [];
  for (let i = 0; i < cands.length; i++) {
    if (suppressed.has(i)) continue;
    kept.push(cands[i]);
    for (let j = i + 1; j < cands.length; j++) if (cands[j].cls === cands[i].cls && overlap(cands[i].box, cands[j].box) > iou) suppressed.add(j);
  }
  return kept;
}

/** A synthetic v8 head: clustered boxes so that NMS has work to do. */
function syntheticHead(k: number, a: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array((4 + k) * a);
  for (let j = 0; j < a; j++) {
    const cluster = j % 5;
    out[j] = 20 + cluster * 30 + r() * 8;
    out[a + j] = 40 + cluster * 10 + r() * 8;
    out[2 * a + j] = 10 + r() * 20;
    out[3 * a + j] = 10 + r() * 20;
    for (let c = 0; c < k; c++) out[(4 + c) * a + j] = r();
  }
  return out;
}

describe('YOLO decode and NMS', () => {
  it('recognises [1, 4+K, A] as v8 and [1, A, 5+K] as v5, and nothing else', () => {
    equal(yoloLayoutOf([1, 84, 8400]), 'yolov8');
    equal(yoloLayoutOf([1, 25200, 85]), 'yolov5');
    equal(yoloLayoutOf([1, 512, 1]), undefined);
    equal(yoloLayoutOf([1, 1000]), undefined);
    equal(yoloLayoutOf([1, 'n', 85]), undefined);
    equal(yoloLayoutOf([2, 84, 8400]), undefined);
  });

  for (const [conf, iou] of [
    [0.25, 0.45],
    [0.5, 0.3],
    [0.1, 0.7],
  ]) {
    it(`keeps what the reference keeps (conf ${conf}, iou ${iou})`, () => {
      const k = 4;
      const a = 300;
      const out = syntheticHead(k, a, 7 + conf * 10);
      const dets = detect(out, [1, 4 + k, a], 'yolov8', { conf, iou, toOriginal: (b) => b, labels: ['a', 'b', 'c', 'd'] });
      const ref = referenceDetections(out, k, a, conf, iou);
      const candidates = decodeYolo(out, [1, 4 + k, a], 'yolov8', conf).length;
      ok(ref.length > 5 && ref.length < candidates, `${ref.length} of ${candidates} candidates kept: the case should exercise NMS`);
      deepEqual(
        dets.map((d) => [d.anchor, d.class, d.score]),
        ref.map((d) => [d.anchor, d.cls, d.score]),
      );
      dets.forEach((d, i) => {
        deepEqual(d.box, ref[i].box);
        deepEqual(d.index, [0, 4 + d.class, d.anchor]);
        equal(d.label, 'abcd'[d.class]);
      });
    });
  }

  it('v5: objectness × class score must pass conf; the index is the class score of the anchor', () => {
    // anchors × (cx, cy, w, h, obj, 2 classes)
    const rows = [
      [50, 50, 20, 20, 0.9, 0.8, 0.1], // 0.72, class 0
      [52, 50, 20, 20, 0.9, 0.7, 0.2], // 0.63, class 0, overlaps anchor 0: suppressed
      [52, 50, 20, 20, 0.5, 0.1, 0.9], // 0.45, class 1: another class, kept
      [10, 10, 4, 4, 0.2, 1.0, 0.0], // objectness under conf
      [90, 90, 4, 4, 0.4, 0.5, 0.5], // 0.2 under conf
      [0, 0, 1, 1, 0, 0, 0],
    ];
    const dets = detect(Float32Array.from(rows.flat()), [1, 6, 7], 'yolov5', { toOriginal: (b) => b });
    deepEqual(
      dets.map((d) => [d.anchor, d.class, d.index]),
      [
        [0, 0, [0, 0, 5]],
        [2, 1, [0, 2, 6]],
      ],
    );
    ok(Math.abs(dets[0].score - 0.72) < 1e-6);
    deepEqual(dets[0].box, [40, 40, 60, 60]);
  });

  it('maps boxes to original pixels and picks one by rank or by overlap with a box of a class', () => {
    const out = syntheticHead(3, 100, 3);
    const half = (b: Box): Box => [b[0] / 2, b[1] / 2, b[2] / 2, b[3] / 2];
    const dets = detect(out, [1, 7, 100], 'yolov8', { toOriginal: half });
    deepEqual(dets[0].box, half(dets[0].inputBox));
    equal(chooseDetection(dets, { box: 2 }, 0.25), dets[2]);
    const target = dets.find((d) => d.class === 1)!;
    equal(chooseDetection(dets, { boxXyxy: target.box, class: 1 }, 0.25), target);
    throws(
      () => chooseDetection(dets, { box: dets.length }, 0.25),
      (e: unknown) => e instanceof CamLensError && /found \d+ boxes/.test(e.message),
    );
    throws(() => chooseDetection([], undefined, 0.25), /no box scoring above --conf 0.25/);
    equal(decodeYolo(out, [1, 7, 100], 'yolov8', 1).length, 0);
  });
});

describe('explaining a YOLOv8-like model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-yolo-'));
  const proto = yoloLike({ size: 64, classes: 3 });
  const modelPath = join(dir, 'yolo.onnx');
  writeFileSync(modelPath, serializeModel(proto));
  const inputPath = join(dir, 'x.npy');
  const x = randomArray(3 * 64 * 64, 5, 1).map((v) => v + 0.5);
  writeNpy(inputPath, x, [1, 3, 64, 64]);
  const layer = YOLO_LIKE.neckP3;

  it('has the head ultralytics exports: [1, 4+K, A] with A = 8·8 + 4·4 anchors', async () => {
    const s = await ort.InferenceSession.create(serializeModel(proto));
    const r = await s.run({ [YOLO_LIKE.input]: new ort.Tensor('float32', x, [1, 3, 64, 64]) });
    deepEqual(r[YOLO_LIKE.output].dims, [1, 7, 80]);
    await s.release();
  });

  it('lists the detections and explains the top one by default, --box N the N-th', async () => {
    const top = await explain({ modelPath, input: inputPath, layers: [layer], conf: 0.3 }, { sessions });
    const dets = top.detections!;
    ok(dets.length >= 3, `${dets.length} detections`);
    deepEqual(top.explanations[0].target?.index, dets[0].index);
    equal(top.explanations[0].classIndex, dets[0].class);
    equal(top.predictions[0].score, dets[0].score);
    const second = await explain({ modelPath, input: inputPath, layers: [layer], conf: 0.3, box: 1 }, { sessions });
    const t = second.explanations[0].target!;
    deepEqual(t.index, dets[1].index);
    equal(t.value, YOLO_LIKE.output);
    ok(Math.abs(t.score - dets[1].score) < 1e-6, `${t.score} vs ${dets[1].score}`);
    ok(second.explanations[0].cam.data.some((v) => v > 0));
    // Another box, another map.
    ok(second.explanations[0].camRaw.data.some((v, i) => Math.abs(v - top.explanations[0].camRaw.data[i]) > 1e-6));
    const byBox = await explain({ modelPath, input: inputPath, layers: [layer], conf: 0.3, boxXyxy: dets[2].box, classIndex: dets[2].class }, { sessions });
    deepEqual(byBox.explanations[0].target?.index, dets[2].index);
    await rejects(
      explain({ modelPath, input: inputPath, layers: [layer], conf: 0.3, box: dets.length }, { sessions }),
      (e: unknown) => e instanceof CamLensError && e.code === 'BAD_ARGUMENT',
    );
  });

  it('letterboxed image input: boxes come back in the original image pixels', async () => {
    const photoDir = mkdtempSync(join(tmpdir(), 'camlens-yolo-photo-'));
    const photoModel = join(photoDir, 'yolo.onnx');
    writeFileSync(photoModel, serializeModel(proto));
    const config = { input: { resize: 'letterbox', scale: 255, mean: [0, 0, 0], std: [1, 1, 1] } };
    writeFileSync(join(photoDir, 'yolo.camlens.json'), JSON.stringify(config));
    const [W, H] = [160, 96];
    const r = rng(3);
    const photo = join(photoDir, 'photo.png');
    writeFileSync(
      photo,
      encodeRgbPng(
        Uint8Array.from({ length: W * H * 3 }, () => Math.floor(r() * 256)),
        W,
        H,
      ),
    );
    const res = await explain({ modelPath: photoModel, input: photo, layers: [layer], conf: 0.2 }, { sessions });
    const g = imageGeometry({ width: W, height: H }, { width: 64, height: 64 }, 'letterbox');
    ok(g.offsetY > 0, 'the letterbox pads top and bottom');
    ok(res.detections!.length > 0);
    for (const d of res.detections!) {
      deepEqual(d.box, inputToOriginalBox(g, d.inputBox));
      ok(d.box[0] >= 0 && d.box[2] <= W && d.box[1] >= 0 && d.box[3] <= H);
    }
  });

  it("Grad-CAM of a box's class score equals the map from finite-difference channel weights", async () => {
    const r = await explain({ modelPath, input: inputPath, layers: [layer], conf: 0.3, box: 1, saveTensors: true }, { sessions });
    const target = r.explanations[0].target!;
    const act = r.explanations[0].activation!;
    const [, c, h, w] = act.dims;
    // The model from the layer on (it reads the input too: the PAN path meets the backbone's P4).
    const model = analyseModel(proto, modelPath);
    const tail = await ort.InferenceSession.create(serializeModel(extractModel(proto, model.graph, [layer], [YOLO_LIKE.output], model.shapes)));
    const flat = target.index[1] * 80 + target.index[2];
    const score = async (a: Float32Array) =>
      (
        (await tail.run({ [YOLO_LIKE.input]: new ort.Tensor('float32', x, [1, 3, 64, 64]), [layer]: new ort.Tensor('float32', a, act.dims) }))[YOLO_LIKE.output]
          .data as Float32Array
      )[flat];
    ok(Math.abs((await score(act.data as Float32Array)) - target.score) < 1e-5);
    // Grad-CAM's channel weight = mean gradient over the channel = d score / d(shift of the whole channel) / (h·w).
    const step = 1e-2;
    const weights = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const plus = Float32Array.from(act.data as Float32Array);
      const minus = Float32Array.from(act.data as Float32Array);
      for (let p = 0; p < h * w; p++) {
        plus[ch * h * w + p] += step;
        minus[ch * h * w + p] -= step;
      }
      weights[ch] = ((await score(plus)) - (await score(minus))) / (2 * step) / (h * w);
    }
    await tail.release();
    const fdMap = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += weights[ch] * (act.data as Float32Array)[ch * h * w + p];
      fdMap[p] = Math.max(0, s);
    }
    const raw = r.explanations[0].camRaw.data;
    equal(raw.length, h * w);
    const scale = Math.max(...fdMap);
    ok(scale > 0, 'the finite-difference map is not all zero');
    for (let p = 0; p < h * w; p++) ok(Math.abs(raw[p] - fdMap[p]) <= 2e-3 * scale, `pixel ${p}: ${raw[p]} vs ${fdMap[p]}`);
  });
});
