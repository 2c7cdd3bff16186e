import { equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { crc32Js, encodeRgbPng } from '../../src/engine/image/png';

const pattern = (w: number, h: number) => Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + (i >> 7)) & 255);

describe('RGB PNG writer', () => {
  it('decodes (libvips) to exactly the pixels written, one row to many deflate blocks', async () => {
    // 1x1; odd widths; 300x300 is 270 KB of rows: several 64 KB stored blocks.
    for (const [w, h] of [
      [1, 1],
      [7, 3],
      [224, 224],
      [300, 300],
    ]) {
      const rgb = pattern(w, h);
      const png = encodeRgbPng(rgb, w, h);
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      equal(`${info.width}x${info.height}x${info.channels}`, `${w}x${h}x3`);
      ok(Buffer.from(rgb).equals(data), `${w}x${h} pixels`);
      // zlib itself checks the stream (block lengths, Adler-32): rows of filter byte 0 + pixels.
      const idatLength = png.readUInt32BE(33);
      equal(png.toString('latin1', 37, 41), 'IDAT');
      const rows = zlib.inflateSync(png.subarray(41, 41 + idatLength));
      equal(rows.length, h * (w * 3 + 1));
      equal(crc32Js(png.subarray(37, 41 + idatLength)), png.readUInt32BE(41 + idatLength), 'IDAT CRC');
    }
  });

  it('computes CRC-32 in JavaScript as zlib does (runtimes without zlib.crc32)', () => {
    equal(crc32Js(Buffer.from('123456789')), 0xcbf43926); // the standard check value
    const data = pattern(101, 13);
    const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (native) equal(crc32Js(data), native(data));
  });

  it('refuses a buffer that does not fill the image', () => {
    throws(() => encodeRgbPng(new Uint8Array(10), 2, 2), /10 bytes for 2x2/);
  });
});
