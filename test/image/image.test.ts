import { deepStrictEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CamLensError } from '../../src/engine/errors';
import { colormapTable } from '../../src/engine/image/colormap';
import { parseModelConfig, IMAGENET_DEFAULTS } from '../../src/engine/image/config';
import { decodeImage, decodeImageBuffer } from '../../src/engine/image/decode';
import { overlayPng } from '../../src/engine/image/overlay';
import { inputSize, prepareImage, rgbToTensor } from '../../src/engine/image/preprocess';
import { decodeNpy, encodeNpy } from '../../src/engine/npy';
import { fixtures, loadNpy } from '../helpers/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'camlens-image-'));
const badArgument = (pattern: RegExp) => (e: unknown) => e instanceof CamLensError && e.code === 'BAD_ARGUMENT' && pattern.test(e.message);

describe('image pipeline', () => {
  it('decodes PNG/JPEG/WebP/TIFF/GIF/AVIF, grayscale, alpha and 16-bit to 8-bit RGB', async () => {
    const raw = Buffer.alloc(8 * 6 * 3, 0);
    for (let i = 0; i < raw.length; i += 3) raw[i] = 200;
    const base = sharp(raw, { raw: { width: 8, height: 6, channels: 3 } });
    for (const format of ['png', 'jpeg', 'webp', 'tiff', 'gif', 'avif'] as const) {
      const buf = await base.clone().toFormat(format).toBuffer();
      const img = await decodeImageBuffer(buf, `x.${format}`);
      deepStrictEqual([img.width, img.height, img.data.length], [8, 6, 144], format);
      ok(img.data[0] > 150 && img.data[1] < 60, `${format}: red survives (${img.data[0]},${img.data[1]})`);
    }
    const gray = await decodeImageBuffer(await base.clone().grayscale().png().toBuffer(), 'gray.png');
    equal(gray.data[0], gray.data[1]);
    const sixteen = await decodeImageBuffer(await base.clone().toColourspace('rgb16').png().toBuffer(), 'deep.png');
    ok(sixteen.data[0] > 190 && sixteen.data[0] <= 201, `16-bit scaled to 8-bit (${sixteen.data[0]})`);
    const rgba = await decodeImageBuffer(await base.clone().ensureAlpha(0.5).png().toBuffer(), 'alpha.png');
    equal(rgba.data.length, 144);
  });

  it('applies EXIF orientation', async () => {
    const raw = Buffer.alloc(4 * 2 * 3, 255);
    const rotated = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImageBuffer(rotated, 'exif.jpg');
    deepStrictEqual([img.width, img.height], [2, 4]);
  });

  it('refuses undecodable files, missing files and decompression bombs with clear errors', async () => {
    const junk = join(dir, 'junk.png');
    writeFileSync(junk, 'not an image at all');
    await rejects(decodeImage(junk), badArgument(/junk\.png could not be decoded/));
    await rejects(decodeImage(join(dir, 'missing.jpg')), badArgument(/no such file/));
    const big = await sharp({ create: { width: 400, height: 300, channels: 3, background: 'black' } })
      .png()
      .toBuffer();
    await rejects(decodeImageBuffer(big, 'big.png', 1000), badArgument(/more than 1,000 pixels/));
  });

  it('normalises as (pixel/scale − mean)/std in NCHW or NHWC, RGB or BGR', () => {
    const rgb = { data: Uint8Array.of(255, 0, 51, 0, 255, 102), width: 2, height: 1 };
    const nchw = rgbToTensor(rgb, { ...IMAGENET_DEFAULTS });
    deepStrictEqual(nchw.dims, [1, 3, 1, 2]);
    ok(Math.abs(nchw.tensor[0] - (1 - 0.485) / 0.229) < 1e-6);
    const bgr = rgbToTensor(rgb, { ...IMAGENET_DEFAULTS, channels: 'BGR', layout: 'NHWC', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 });
    deepStrictEqual(bgr.dims, [1, 1, 2, 3]);
    deepStrictEqual(Array.from(bgr.tensor), [51, 0, 255, 102, 255, 0]);
  });

  it('normalises every 8-bit value exactly as the per-pixel formula, rounded once to float32', () => {
    const data = new Uint8Array(256 * 3);
    for (let v = 0; v < 256; v++) data.set([v, 255 - v, (v * 7) % 256], v * 3);
    const config = { ...IMAGENET_DEFAULTS, channels: 'BGR' as const };
    const { tensor } = rgbToTensor({ data, width: 256, height: 1 }, config);
    for (let c = 0; c < 3; c++) {
      const source = 2 - c; // BGR: the first plane is blue
      for (let i = 0; i < 256; i++) {
        const v = data[i * 3 + source];
        equal(tensor[c * 256 + i], Math.fround((v / config.scale - config.mean[c]) / config.std[c]));
      }
    }
  });

  it('makes 1-channel (luma) and 4-channel (alpha, or a fill) inputs in either layout', () => {
    const rgb = { data: Uint8Array.of(255, 0, 51, 0, 255, 102), width: 2, height: 1, alpha: Uint8Array.of(10, 200) };
    const plain = { ...IMAGENET_DEFAULTS, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number], scale: 1 };
    const gray = rgbToTensor(rgb, plain, 1);
    deepStrictEqual(gray.dims, [1, 1, 1, 2]);
    ok(Math.abs(gray.tensor[0] - (0.299 * 255 + 0.114 * 51)) < 1e-4 && Math.abs(gray.tensor[1] - (0.587 * 255 + 0.114 * 102)) < 1e-4);
    deepStrictEqual(Array.from(rgbToTensor(rgb, { ...plain, layout: 'NHWC' }, 4).tensor), [255, 0, 51, 10, 0, 255, 102, 200]);
    deepStrictEqual(Array.from(rgbToTensor(rgb, { ...plain, alpha: 'fill', alphaFill: 7 }, 4).tensor), [255, 0, 0, 255, 51, 102, 7, 7]);
  });

  it('parses the config contract and rejects bad values', () => {
    const c = parseModelConfig(
      {
        input: { size: [64, 48], resize: 'shorter-side-then-center-crop', scale: 1, mean: 0.5, std: [1, 2, 3], channels: 'BGR', layout: 'NHWC' },
        labels: ['a', 'b'],
        extra: true,
      },
      'cfg.json',
      dir,
    );
    deepStrictEqual(c.input.size, [64, 48]);
    deepStrictEqual(c.input.mean, [0.5, 0.5, 0.5]);
    deepStrictEqual(c.labels, ['a', 'b']);
    throws(() => parseModelConfig({ input: { resize: 'squash' } }, 'cfg.json', dir), badArgument(/input\.resize/));
    throws(() => parseModelConfig({ input: { std: [1, 0, 1] } }, 'cfg.json', dir), badArgument(/must not contain 0/));
    deepStrictEqual(inputSize(IMAGENET_DEFAULTS, ['batch', 3, 224, 200]), [224, 200]);
    throws(() => inputSize(IMAGENET_DEFAULTS, ['batch', 3, 'h', 'w']), badArgument(/does not fix the image size/));
  });

  it("matches the fixtures' OpenCV preprocessing for a 224x224 photo", async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const ref = loadNpy(join(root, 'refs/resnet18_layer4_224/input.npy'));
    const mine = await prepareImage(join(root, 'images/dog.jpg'), IMAGENET_DEFAULTS, [224, 224]);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(ref.data[i] - mine.tensor[i]));
    t.diagnostic(`max |ours − OpenCV| = ${worst.toFixed(4)} (JPEG decoders differ in the last bit: 1/255/0.225 = 0.0174)`);
    ok(worst < 0.2, `preprocessing close to the reference (${worst})`);
  });

  it('writes .npy that round-trips, and colormaps with the expected end colours', async () => {
    const data = Float32Array.of(0, 0.5, 1, -2, 3, 4);
    const back = decodeNpy(encodeNpy(data, [2, 3]));
    deepStrictEqual(back.shape, [2, 3]);
    deepStrictEqual(Array.from(back.data), Array.from(data));
    // Read in place from a file's own buffer; copied out of a shared one (a view would keep all of it).
    const file = encodeNpy(data, [2, 3]);
    const own = new Uint8Array(file.byteLength);
    own.set(file);
    const inPlace = decodeNpy(own);
    equal(inPlace.data.buffer, own.buffer);
    deepStrictEqual(Array.from(inPlace.data), Array.from(data));
    const shared = new Uint8Array(file.byteLength + 64);
    shared.set(file, 64);
    const copied = decodeNpy(shared.subarray(64));
    ok(copied.data.buffer !== shared.buffer && copied.data.buffer.byteLength === data.byteLength);
    deepStrictEqual(Array.from(copied.data), Array.from(data));
    const near = (a: ArrayLike<number>, b: number[], tol: number) => b.every((v, i) => Math.abs(a[i] - v) <= tol);
    ok(near(colormapTable('jet').subarray(0, 3), [0, 0, 128], 2), 'jet starts dark blue');
    ok(near(colormapTable('jet').subarray(765, 768), [128, 0, 0], 2), 'jet ends dark red');
    ok(near(colormapTable('viridis').subarray(0, 3), [68, 1, 84], 3), 'viridis starts purple');
    ok(near(colormapTable('viridis').subarray(765, 768), [253, 231, 37], 3), 'viridis ends yellow');
    ok(near(colormapTable('inferno').subarray(765, 768), [252, 255, 164], 4), 'inferno ends pale yellow');
    ok(near(colormapTable('turbo').subarray(0, 3), [48, 18, 59], 40), 'turbo starts dark');
    ok(colormapTable('turbo')[128 * 3 + 1] > 200, 'turbo is green-yellow in the middle');
    const png = await overlayPng({ data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 }, new Float32Array(16).fill(1), 'jet', 0.5);
    const meta = await sharp(png).metadata();
    deepStrictEqual([meta.format, meta.width, meta.height], ['png', 4, 4]);
  });
});
void resolve;
