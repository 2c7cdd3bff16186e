// The fast PNG path (image/pngFast.ts) gives sharp's pixels byte for byte for the PNGs it takes,
// every row filter included, and leaves every other PNG, and every odd one, to sharp.
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { decodeImageBuffer, type RgbImage } from '../../src/engine/image/decode';
import { crc32Js, encodeRgbPng } from '../../src/engine/image/png';
import { decodeSimplePng } from '../../src/engine/image/pngFast';
import { FIXTURES_DIR, SKIP_REASON } from '../helpers/fixtures';

const LIMIT = 100_000_000;

/** sharp's decode, as decodeImageBuffer asks for it. */
async function bySharp(file: Uint8Array, alpha: boolean): Promise<RgbImage> {
  const image = sharp(file, { failOn: 'error', pages: 1 }).rotate().toColourspace('srgb');
  const { data, info } = await (alpha ? image.ensureAlpha() : image.removeAlpha()).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (!alpha) return { data: new Uint8Array(data), width: info.width, height: info.height };
  const n = info.width * info.height;
  const rgb = new Uint8Array(n * 3);
  const plane = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    rgb.set(data.subarray(i * 4, i * 4 + 3), i * 3);
    plane[i] = data[i * 4 + 3];
  }
  return { data: rgb, width: info.width, height: info.height, alpha: plane };
}

async function sameAsSharp(file: Uint8Array, what: string): Promise<void> {
  for (const alpha of [false, true]) {
    const fast = decodeSimplePng(file, LIMIT, alpha);
    ok(fast, `${what}: the fast path takes it`);
    const ref = await bySharp(file, alpha);
    deepStrictEqual([fast.width, fast.height], [ref.width, ref.height], what);
    ok(Buffer.from(fast.data).equals(Buffer.from(ref.data)), `${what} (alpha ${alpha}): the pixels differ from sharp's`);
    if (alpha) ok(Buffer.from(fast.alpha!).equals(Buffer.from(ref.alpha!)), `${what}: the alpha plane differs`);
  }
}

/** Pixels with edges, gradients and noise: every filter has something to predict. */
function pixels(width: number, height: number, channels: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const smooth = (x * 3 + y * 5 + c * 40) & 255;
        data[(y * width + x) * channels + c] = (x + y) % 17 === 0 ? s >>> 24 : c === 3 ? 128 + ((x * y) & 127) : smooth;
      }
  return data;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Js(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/** A PNG whose rows use the filters given (row y: filters[y % n]), deflated by zlib, split into IDATs of `split` bytes. */
function handmade(width: number, height: number, channels: 3 | 4, filters: number[], extra: Buffer[] = [], split = 1 << 30): Buffer {
  const px = pixels(width, height, channels, width * 31 + height);
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = px[y * stride + x];
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][f];
      raw[y * (stride + 1) + 1 + x] = (cur - predicted) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 6;
  const z = zlib.deflateSync(raw);
  const idats: Buffer[] = [];
  for (let at = 0; at < z.length; at += split) idats.push(chunk('IDAT', z.subarray(at, at + split)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    ...idats,
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('the fast PNG path', () => {
  it("gives sharp's pixels for every row filter, RGB and RGBA, odd sizes, split IDATs and text chunks", async () => {
    for (const channels of [3, 4] as const)
      for (const [w, h] of [
        [1, 1],
        [7, 5],
        [64, 48],
        [333, 97],
      ])
        for (const filters of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]) {
          const text = chunk('tEXt', Buffer.from('Comment\0made by the test', 'latin1'));
          await sameAsSharp(handmade(w, h, channels, filters, [text], 100), `${w}x${h}x${channels} filters ${filters.join('')}`);
        }
    // Colour-space tags libvips reads but does not apply: sRGB, gamma 1.0 and 0.45455, chromaticities.
    const u32 = (...v: number[]) =>
      Buffer.from(new Uint32Array(v.map((x) => ((x & 255) << 24) | (((x >> 8) & 255) << 16) | (((x >> 16) & 255) << 8) | (x >>> 24))).buffer);
    for (const [what, tags] of [
      ['sRGB', [chunk('sRGB', Buffer.from([0]))]],
      ['gAMA 1.0', [chunk('gAMA', u32(100000))]],
      ['gAMA 0.45455 + cHRM', [chunk('gAMA', u32(45455)), chunk('cHRM', u32(31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))]],
    ] as Array<[string, Buffer[]]>)
      for (const channels of [3, 4] as const) {
        await sameAsSharp(handmade(31, 9, channels, [0, 1, 2, 3, 4], tags), `${what}, ${channels} channels`);
      }
  });

  it("gives sharp's pixels for sharp's own PNGs (every compression level, adaptive filtering) and CamLens' overlay PNGs", async () => {
    for (const channels of [3, 4] as const) {
      const raw = Buffer.from(pixels(123, 77, channels, 9));
      for (const compressionLevel of [0, 1, 6, 9])
        for (const adaptiveFiltering of [false, true]) {
          const png = await sharp(raw, { raw: { width: 123, height: 77, channels } })
            .png({ compressionLevel, adaptiveFiltering })
            .toBuffer();
          await sameAsSharp(png, `sharp png ${channels}ch level ${compressionLevel} adaptive ${adaptiveFiltering}`);
        }
    }
    await sameAsSharp(encodeRgbPng(pixels(50, 30, 3, 3), 50, 30), 'encodeRgbPng');
    const demo = resolve(__dirname, '../../../demo/images');
    for (const f of readdirSync(demo).filter((n) => n.endsWith('.png'))) {
      const file = readFileSync(join(demo, f));
      if (decodeSimplePng(file, LIMIT, false)) await sameAsSharp(file, f);
    }
  });

  it('matches sharp on the fixture photos it takes', { skip: FIXTURES_DIR ? false : SKIP_REASON }, async (t) => {
    const dir = join(FIXTURES_DIR!, 'images');
    let taken = 0;
    for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.png'))) {
      const file = readFileSync(join(dir, f));
      if (!decodeSimplePng(file, LIMIT, false)) continue;
      taken++;
      await sameAsSharp(file, f);
    }
    t.diagnostic(`${taken} fixture PNG(s) taken by the fast path`);
  });

  it('leaves to sharp what it does not take: palette, 16-bit, grey, interlaced, colour profiles, EXIF, odd files', async () => {
    const raw = Buffer.from(pixels(40, 30, 3, 5));
    const base = () => sharp(raw, { raw: { width: 40, height: 30, channels: 3 } });
    const cases: Array<[string, Buffer]> = [
      ['palette', await base().png({ palette: true }).toBuffer()],
      ['16-bit', await base().toColourspace('rgb16').png().toBuffer()],
      ['grey', await base().toColourspace('b-w').png().toBuffer()],
      ['interlaced', await base().png({ progressive: true }).toBuffer()],
      ['ICC profile', await base().withIccProfile('p3').png().toBuffer()],
      ['EXIF orientation', await base().withMetadata({ orientation: 6 }).png().toBuffer()],
    ];
    const good = handmade(20, 10, 3, [4]);
    const badCrc = Buffer.from(good);
    badCrc[good.length - 20] ^= 1; // inside the IDAT (or its CRC)
    cases.push(['a bad CRC', badCrc]);
    cases.push(['bytes after IEND', Buffer.concat([good, Buffer.from('junk')])]);
    cases.push(['truncated', good.subarray(0, good.length - 30)]);
    const parts = handmade(20, 10, 3, [2], [], 40);
    const firstIdatEnd = 8 + 25 + 12 + 40;
    cases.push([
      'IDATs split by another chunk',
      Buffer.concat([parts.subarray(0, firstIdatEnd), chunk('tEXt', Buffer.from('a\0b')), parts.subarray(firstIdatEnd)]),
    ]);
    ok(decodeSimplePng(parts, LIMIT, false), 'the same file with its IDATs together is taken');
    cases.push(['an unknown chunk', handmade(20, 10, 3, [1], [chunk('caBX', Buffer.from('x'))])]);
    for (const [what, file] of cases) equal(decodeSimplePng(file, LIMIT, false), undefined, what);
    equal(decodeSimplePng(good, 199, false), undefined, 'over the pixel limit');
    const large = await sharp(Buffer.alloc(2049 * 2048 * 3, 90), { raw: { width: 2049, height: 2048, channels: 3 } })
      .png({ compressionLevel: 1 })
      .toBuffer();
    equal(decodeSimplePng(large, LIMIT, false), undefined, 'over 2048² (sharp decodes off the event loop)');
    // What sharp then says is what decodeImageBuffer says, as before.
    await rejects(decodeImageBuffer(badCrc, 'bad.png'), /could not be decoded/);
    await rejects(decodeImageBuffer(good, 'big.png', 199), /more than 199 pixels/);
    const rotated = await decodeImageBuffer(cases[5][1], 'exif.png');
    deepStrictEqual([rotated.width, rotated.height], [30, 40], 'EXIF orientation still applied (by sharp)');
  });
});
