import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { IMAGENET_DEFAULTS, parseModelConfig, type ResizeMode } from '../../src/engine/image/config';
import { resizeRgb, type RgbImage } from '../../src/engine/image/decode';
import {
  imageGeometry,
  inputPixelCentres,
  inputToOriginalBox,
  inputToOriginalPoint,
  mapToOriginal,
  originalToInputBox,
  originalToInputPoint,
  type Box,
} from '../../src/engine/image/geometry';

const MODES: ResizeMode[] = ['stretch', 'shorter-side-then-center-crop', 'letterbox'];

/** A grey picture with a white rectangle over `box` (pixel edges). */
function picture(width: number, height: number, box: Box): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(40);
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) data.fill(250, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { data, width, height };
}

/** The bounding box of the pixels brighter than 145 (half-way between the grey and the white). */
function brightBox(img: RgbImage): Box {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      if (img.data[(y * img.width + x) * 3] > 145) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
  return [x0, y0, x1, y1];
}

const near = (got: readonly number[], want: readonly number[], tol: number, what: string) =>
  ok(
    got.every((v, i) => Math.abs(v - want[i]) <= tol),
    `${what}: got [${got.map((v) => v.toFixed(2))}], want [${want.map((v) => v.toFixed(2))}] ± ${tol}`,
  );

describe('image geometry', () => {
  it('round-trips points between the input and the original for every mode and aspect', () => {
    for (const mode of MODES) {
      for (const [w0, h0, W, H] of [
        [640, 480, 224, 224],
        [480, 640, 224, 224],
        [1000, 300, 640, 640],
        [101, 99, 32, 48],
        [224, 224, 224, 224],
      ]) {
        const g = imageGeometry({ width: w0, height: h0 }, { width: W, height: H }, mode);
        for (const [x, y] of [
          [0, 0],
          [W, H],
          [W / 3, H / 7],
          [12.5, 3.25],
        ]) {
          const [ox, oy] = inputToOriginalPoint(g, x, y);
          near(originalToInputPoint(g, ox, oy), [x, y], 1e-9, `${mode} ${w0}x${h0}→${W}x${H}`);
        }
      }
    }
  });

  it('describes each mode: stretch scales each axis, the crop keeps the middle, letterbox pads centred', () => {
    const stretch = imageGeometry({ width: 640, height: 480 }, { width: 320, height: 320 }, 'stretch');
    deepEqual([stretch.scaleX, stretch.scaleY, stretch.offsetX, stretch.offsetY], [0.5, 2 / 3, 0, 0]);
    // 640×480 → 320×320 cover: scale 2/3, resized 427×320, 107 columns cut, ⌈107/2⌉ = 54 on the left (sharp's CalculateCrop).
    const crop = imageGeometry({ width: 640, height: 480 }, { width: 320, height: 320 }, 'shorter-side-then-center-crop');
    deepEqual([crop.resized.width, crop.resized.height, crop.offsetX, crop.offsetY], [427, 320, -54, 0]);
    // 640×480 → 320×320 letterbox: resized 320×240, 80 rows of padding, 40 above and 40 below.
    const box = imageGeometry({ width: 640, height: 480 }, { width: 320, height: 320 }, 'letterbox');
    deepEqual([box.resized.width, box.resized.height, box.offsetX, box.offsetY, box.pad], [320, 240, 0, 40, 114]);
    deepEqual(box.content, [0, 40, 320, 280]);
    // An odd padding puts the smaller half first (ultralytics: top = round(dh − 0.1)).
    const odd = imageGeometry({ width: 100, height: 61 }, { width: 100, height: 100 }, 'letterbox');
    deepEqual([odd.offsetY, 100 - odd.content[3]], [19, 20]);
    deepEqual(inputToOriginalBox(box, [0, 0, 320, 320]), [0, 0, 640, 480]);
    deepEqual(originalToInputBox(box, [-10, -10, 700, 700]), [0, 40, 320, 280]);
  });

  it('keeps the centre-crop sampling positions the ground-truth rasteriser used', () => {
    // 200×100 → 50×50 cover: scale 0.5, resized 100×50, left offset 25.
    const { sx, sy } = inputPixelCentres(imageGeometry({ width: 200, height: 100 }, { width: 50, height: 50 }, 'shorter-side-then-center-crop'));
    equal(sx[0], 51);
    equal(sy[0], 1);
  });

  for (const mode of MODES) {
    it(`${mode}: an object in a synthetic photo lands where the geometry says, and its map comes back over it`, async () => {
      for (const [w0, h0, W, H] of [
        [160, 120, 64, 64],
        [90, 200, 48, 40],
      ]) {
        const object: Box = [Math.round(w0 * 0.45), Math.round(h0 * 0.4), Math.round(w0 * 0.7), Math.round(h0 * 0.65)];
        const photo = picture(w0, h0, object);
        const resized = await resizeRgb(photo, W, H, mode);
        deepEqual([resized.width, resized.height], [W, H]);
        const g = imageGeometry(photo, { width: W, height: H }, mode);
        const expected = originalToInputBox(g, object);
        near(brightBox(resized), expected, 1.01, `${mode} ${w0}x${h0}→${W}x${H} object in the input`);
        if (mode === 'letterbox') {
          const [cx0, cy0, cx1, cy1] = g.content;
          const padded = cy0 > 0 ? [0, cy1] : [cx0 - 1, cx1];
          // The first and last padding pixels are exactly the letterbox grey.
          const at = (x: number, y: number) => Array.from(resized.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
          if (cy0 > 0) deepEqual([at(0, padded[0]), at(W - 1, H - 1)], [Array(3).fill(114), Array(3).fill(114)]);
          if (cx0 > 0) deepEqual([at(padded[0], 0), at(W - 1, H - 1)], [Array(3).fill(114), Array(3).fill(114)]);
        }
        // A map that is 1 exactly on the object's input pixels comes back as 1 on its original pixels.
        const map = new Float32Array(W * H);
        const [ex0, ey0, ex1, ey1] = expected.map(Math.round);
        for (let y = ey0; y < ey1; y++) for (let x = ex0; x < ex1; x++) map[y * W + x] = 1;
        const back = mapToOriginal(g, map);
        equal(back.length, w0 * h0);
        const asPicture = new Uint8Array(w0 * h0 * 3);
        back.forEach((v, i) => asPicture.fill(v >= 0.5 ? 255 : 0, i * 3, i * 3 + 3));
        near(brightBox({ data: asPicture, width: w0, height: h0 }), object, 1 / Math.min(g.scaleX, g.scaleY) + 1, `${mode} map back on the object`);
        const outside = back.filter((v) => Number.isNaN(v)).length;
        if (mode === 'shorter-side-then-center-crop') ok(outside > 0, 'the cropped-away margins have no value');
        else equal(outside, 0, `${mode}: every original pixel has a value`);
      }
    });
  }

  it('maps an image already at the input size onto itself (a copy), in every mode', () => {
    const map = Float32Array.from({ length: 12 * 8 }, (_, i) => Math.sin(i));
    for (const mode of ['stretch', 'shorter-side-then-center-crop', 'letterbox'] as const) {
      const g = imageGeometry({ width: 12, height: 8 }, { width: 12, height: 8 }, mode);
      const back = mapToOriginal(g, map);
      deepEqual(back, map, mode);
      ok(back !== map, `${mode}: a copy, not the map itself`);
    }
    // One pixel wider: resampled, not copied.
    const g = imageGeometry({ width: 13, height: 8 }, { width: 12, height: 8 }, 'stretch');
    equal(mapToOriginal(g, map).length, 13 * 8);
  });

  it('is the resize the preprocessing does: a custom letterbox grey from the config', async () => {
    const c = parseModelConfig({ input: { resize: 'letterbox', pad: 0, scale: 255, mean: 0, std: 1 } }, 'cfg.json', '.');
    deepEqual([c.input.resize, c.input.pad], ['letterbox', 0]);
    const resized = await resizeRgb(picture(40, 20, [0, 0, 0, 0]), 20, 20, c.input.resize, c.input.pad);
    deepEqual(Array.from(resized.data.subarray(0, 3)), [0, 0, 0]);
    deepEqual(Array.from(resized.data.subarray(10 * 20 * 3, 10 * 20 * 3 + 3)), [40, 40, 40]);
    const bad = (e: unknown) => e instanceof CamLensError && /input\.pad/.test(e.message);
    throws(() => parseModelConfig({ input: { pad: 300 } }, 'cfg.json', '.'), bad);
    equal(IMAGENET_DEFAULTS.resize, 'stretch');
  });
});
