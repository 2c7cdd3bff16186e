import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { findGroundTruth, rasteriseGroundTruth, sourceCoordinates } from '../../src/engine/metrics/groundTruth';
import { binarise, energyInMask, iou, localisation, parseThreshold, pointingGame, topKIntersection } from '../../src/engine/metrics/localisation';
import { aucUniform, averageRanks, otsuLevel, percentile, rng, spearman } from '../../src/engine/metrics/stats';

const close = (a: number, b: number, tol = 1e-9) => ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

// 4×4 maps; the object is the top-left 2×2 block.
const GT = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('localisation metrics on hand-made maps', () => {
  it('IoU of thresholded maps (fixed, top-k %, Otsu)', () => {
    const perfect = Float32Array.from(GT, (v) => v * 0.9 + 0.05);
    equal(iou(binarise(perfect, { kind: 'fixed', value: 0.5 }).mask, GT), 1);
    // Top 3 pixels = 3 of the object's 4: IoU 3/4.
    const graded = Float32Array.from([0.9, 0.8, 0, 0, 0.7, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    close(iou(binarise(graded, { kind: 'topk', percent: 18.75 }).mask, GT), 3 / 4);
    // A map that covers the object plus two more pixels: IoU 4/6.
    const wide = Float32Array.from([1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    close(iou(binarise(wide, { kind: 'fixed', value: 0.5 }).mask, GT), 4 / 6);
    equal(iou(new Uint8Array(4), new Uint8Array(4)), 0);
  });

  it('Otsu splits a bimodal map between its modes', () => {
    const map = new Float32Array(100);
    for (let i = 0; i < 100; i++) map[i] = i < 60 ? 0.1 + (i % 5) * 0.01 : 0.8 + (i % 5) * 0.01;
    const level = otsuLevel(map);
    ok(level >= Math.trunc(0.14 * 255) && level < Math.trunc(0.8 * 255), `level ${level}`);
    const { mask } = binarise(map, { kind: 'otsu' });
    equal(
      mask.reduce((a, b) => a + b, 0),
      40,
    );
    ok(mask.slice(60).every((v) => v === 1));
    // cv2 on [0,0,255,255]: threshold 0 (everything above the first level is foreground).
    equal(otsuLevel([0, 0, 1, 1]), 0);
  });

  it('pointing game, with and without tolerance', () => {
    const inside = new Float32Array(16);
    inside[5] = 1;
    const outside = new Float32Array(16);
    outside[10] = 1;
    equal(pointingGame(inside, GT, 4), 1);
    equal(pointingGame(outside, GT, 4), 0);
    equal(pointingGame(outside, GT, 4, 1.5), 1); // (2,2) is √2 from (1,1)
    equal(pointingGame(outside, GT, 4, 1), 0);
  });

  it('energy in mask and top-K intersection', () => {
    const map = Float32Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    close(energyInMask(map, GT), 0.5);
    const graded = Float32Array.from([0.9, 0.8, 0, 0, 0.1, 0.1, 0, 0, 0, 0, 0.7, 0.6, 0, 0, 0, 0]);
    close(topKIntersection(graded, GT, 4), 0.5); // top 4: 0.9, 0.8 in, 0.7, 0.6 out
    close(topKIntersection(graded, GT, 2), 1);
    const all = localisation(Float32Array.from(GT), GT, 4, { topK: 4 });
    deepEqual(all.scores, { iou: 1, pointing_game: 1, energy_in_mask: 1, topk_intersection: 1 });
    equal(all.threshold, 'fixed:0.5');
  });

  it('parses threshold specs and refuses nonsense', () => {
    deepEqual(parseThreshold('otsu'), { kind: 'otsu' });
    deepEqual(parseThreshold('topk:20'), { kind: 'topk', percent: 20 });
    deepEqual(parseThreshold('fixed:0.3'), { kind: 'fixed', value: 0.3 });
    throws(() => parseThreshold('fixed:3'), /fixed:<0..1>/);
    throws(() => parseThreshold('median'), /not understood/);
  });
});

describe('metric helpers', () => {
  it('AUC of a synthetic curve (trapezoid over [0,1])', () => {
    close(aucUniform([1, 0]), 0.5);
    close(aucUniform(Array.from({ length: 21 }, (_, i) => 1 - i / 20)), 0.5);
    // y = x²: trapezoid with 20 steps = 1/3 + 1/(6·20²)
    close(aucUniform(Array.from({ length: 21 }, (_, i) => (i / 20) ** 2)), 1 / 3 + 1 / 2400, 1e-12);
  });
  it('Spearman with ties, percentile, seeded rng', () => {
    deepEqual([...averageRanks([10, 20, 20, 30])], [1, 2.5, 2.5, 4]);
    close(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
    close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    close(percentile([1, 2, 3, 4, 5], 80), 4.2);
    const a = rng(7),
      b = rng(7);
    equal(a(), b());
  });
});

describe('ground truth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-gt-'));
  it('finds S.mask.png / S_mask.png beside the image and resamples it', async () => {
    const px = new Uint8Array(8 * 8 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) px.fill(255, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
    await sharp(px, { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toFile(join(dir, 'a_mask.png'));
    writeFileSync(join(dir, 'a.png'), '');
    const gt = findGroundTruth(join(dir, 'a.png'))!;
    equal(gt.kind, 'mask');
    const m = await rasteriseGroundTruth(gt, { width: 8, height: 8 }, [4, 4], 'stretch');
    deepEqual([...m], [...GT]);
  });
  it('reads CSV, VOC and COCO boxes', async () => {
    writeFileSync(join(dir, 'gt.csv'), 'file,x0,y0,x1,y1\nb.png,0,0,3,3\nc.png,1,1,2,2\n');
    const csv = findGroundTruth(join(dir, 'b.png'), join(dir, 'gt.csv'))!;
    deepEqual(csv.boxes, [[0, 0, 4, 4]]);
    deepEqual([...(await rasteriseGroundTruth(csv, { width: 8, height: 8 }, [4, 4], 'stretch'))], [...GT]);
    writeFileSync(join(dir, 'b.xml'), '<annotation><object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></object></annotation>');
    deepEqual(findGroundTruth(join(dir, 'b.png'), join(dir, 'b.xml'))!.boxes, [[0, 0, 4, 4]]);
    writeFileSync(join(dir, 'coco.json'), JSON.stringify({ images: [{ id: 3, file_name: 'b.png' }], annotations: [{ image_id: 3, bbox: [0, 0, 4, 4] }] }));
    deepEqual(findGroundTruth(join(dir, 'b.png'), join(dir, 'coco.json'))!.boxes, [[0, 0, 4, 4]]);
    equal(findGroundTruth(join(dir, 'zzz.png')), undefined);
  });
  it('reads box CSVs with a BOM, CRLF, quoted commas and newlines in file names, and several boxes per image', () => {
    writeFileSync(join(dir, 'quoted.csv'), '\uFEFFfile,x0,y0,x1,y1\r\n"d, e.png",0,0,1,1\r\n\r\n"two\nlines.png",2,2,3,3\r\n"d, e.png", 4 ,4,5,5\r\n');
    deepEqual(findGroundTruth(join(dir, 'd, e.png'), join(dir, 'quoted.csv'))!.boxes, [
      [0, 0, 2, 2],
      [4, 4, 6, 6],
    ]);
    deepEqual(findGroundTruth(join(dir, 'two\nlines.png'), join(dir, 'quoted.csv'))!.boxes, [[2, 2, 4, 4]]);
    // A first cell of plain "file" (the BOM is not part of it) is the header, not an image called "\uFEFFfile".
    equal(findGroundTruth(join(dir, 'file'), join(dir, 'quoted.csv')), undefined);
    writeFileSync(join(dir, 'open.csv'), 'file,x0,y0,x1,y1\n"b.png,0,0,3,3\n');
    throws(() => findGroundTruth(join(dir, 'b.png'), join(dir, 'open.csv')), /open\.csv is not valid CSV: Quote Not Closed/);
  });
  it('maps pixels through a centre crop', () => {
    // 200×100 → 50×50 cover: scale 0.5, resized 100×50, left offset 25.
    const { sx, sy } = sourceCoordinates(200, 100, 50, 50, 'shorter-side-then-center-crop');
    close(sx[0], 51);
    close(sy[0], 1);
  });
});
