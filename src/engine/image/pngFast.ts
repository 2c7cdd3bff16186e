// A fast path for the PNG files datasets are made of: 8-bit RGB or RGBA, not interlaced, with no
// chunk that could change the pixels (no colour profile, palette, transparency key or EXIF
// orientation; sRGB, gamma and chromaticity tags are fine: libvips reads them and applies none).
// Those decode here with zlib and the five row filters in a loop: 0.6–0.8 ms of CPU for a 224²
// image against 1.9 ms through sharp (libvips' pipeline set-up and threads), 2–3 % of a batch's
// CPU per image at ResNet-50 224² (issue 17). The pixels are the ones sharp
// gives, byte for byte (test/image/pngFast.test.ts). Anything else, and anything odd about the
// file (a bad CRC, a truncated stream, extra bytes, a size over the pixel limit or 2048²), returns
// undefined: sharp decodes it, or refuses it with its own words, as for every other format.
import * as zlib from 'node:zlib';
import { crc32 } from './png';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/**
 * Larger images go to sharp: this path decodes on the calling thread, and a 2048² image already
 * holds it for ~30 ms, where sharp decodes off the event loop (the worker stays responsive to
 * cancellation and pings).
 */
export const FAST_PATH_MAX_PIXELS = 2048 * 2048;
/** Chunks that never change the decoded pixels (libvips reads them into metadata at most; test/image/pngFast.test.ts). */
const HARMLESS = new Set(['pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'sRGB', 'gAMA', 'cHRM']);

/** Interleaved 8-bit RGB and, when asked for, the alpha plane: decode.ts's RgbImage (not imported: decode.ts imports this). */
export interface DecodedPng {
  data: Uint8Array;
  width: number;
  height: number;
  alpha?: Uint8Array;
}

/**
 * The image, or undefined when this is not a PNG the fast path takes (sharp decodes it then).
 * `alpha`: also the alpha plane (255 for an RGB file), as decodeImageBuffer returns it.
 */
export function decodeSimplePng(file: Uint8Array, maxPixels: number, alpha: boolean): DecodedPng | undefined {
  if (file.length < 8 + 25 + 12 || SIGNATURE.some((b, i) => file[i] !== b)) return undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  let at = 8;
  let ended = false;
  let first = true;
  let previous = '';
  while (at + 12 <= file.length) {
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > file.length) return undefined;
    const type = String.fromCharCode(file[at + 4], file[at + 5], file[at + 6], file[at + 7]);
    if (crc32(file.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) return undefined;
    const body = file.subarray(at + 8, at + 8 + length);
    if (first !== (type === 'IHDR')) return undefined;
    first = false;
    if (type === 'IHDR') {
      if (length !== 13) return undefined;
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, colour, compression, filter, interlace] = body.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || compression !== 0 || filter !== 0 || interlace !== 0) return undefined;
      channels = colour === 2 ? 3 : 4;
      if (width < 1 || height < 1 || width * height > Math.min(maxPixels, FAST_PATH_MAX_PIXELS)) return undefined;
    } else if (type === 'IDAT') {
      // The image data is one run of IDAT chunks (PNG spec 5.6); data split by other chunks is odd.
      if (idat.length && previous !== 'IDAT') return undefined;
      idat.push(body);
    } else if (type === 'IEND') {
      ended = end === file.length;
      break;
    } else if (!HARMLESS.has(type)) {
      return undefined;
    }
    previous = type;
    at = end;
  }
  if (!ended || !idat.length) return undefined;
  const stride = width * channels;
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), { maxOutputLength: height * (stride + 1) + 1 });
  } catch {
    return undefined;
  }
  if (raw.length !== height * (stride + 1)) return undefined;
  const pixels = unfilter(raw, width, height, channels);
  if (!pixels) return undefined;
  return channels === 3 ? rgbImage(pixels, width, height, alpha) : rgbaImage(pixels, width, height, alpha);
}

/** The rows with PNG's filters undone (filter type per row: none, sub, up, average, Paeth); undefined for an unknown type. */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number): Uint8Array | undefined {
  const stride = width * bpp;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const o = y * stride;
    const up = o - stride; // the row above in `out` (y > 0)
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + stride), o);
        break;
      case 1:
        for (let x = 0; x < bpp; x++) out[o + x] = raw[src + x];
        for (let x = bpp; x < stride; x++) out[o + x] = raw[src + x] + out[o + x - bpp];
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(src, src + stride), o);
        else for (let x = 0; x < stride; x++) out[o + x] = raw[src + x] + out[up + x];
        break;
      case 3:
        if (y === 0) {
          for (let x = 0; x < bpp; x++) out[o + x] = raw[src + x];
          for (let x = bpp; x < stride; x++) out[o + x] = raw[src + x] + (out[o + x - bpp] >> 1);
        } else {
          for (let x = 0; x < bpp; x++) out[o + x] = raw[src + x] + (out[up + x] >> 1);
          for (let x = bpp; x < stride; x++) out[o + x] = raw[src + x] + ((out[o + x - bpp] + out[up + x]) >> 1);
        }
        break;
      case 4:
        if (y === 0) {
          // Paeth with no row above picks the left neighbour: the same as sub.
          for (let x = 0; x < bpp; x++) out[o + x] = raw[src + x];
          for (let x = bpp; x < stride; x++) out[o + x] = raw[src + x] + out[o + x - bpp];
        } else {
          for (let x = 0; x < bpp; x++) out[o + x] = raw[src + x] + out[up + x];
          for (let x = bpp; x < stride; x++) {
            const a = out[o + x - bpp];
            const b = out[up + x];
            const c = out[up + x - bpp];
            const pa = Math.abs(b - c);
            const pb = Math.abs(a - c);
            const pc = Math.abs(a + b - 2 * c);
            out[o + x] = raw[src + x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          }
        }
        break;
      default:
        return undefined;
    }
  }
  return out;
}

function rgbImage(data: Uint8Array, width: number, height: number, alpha: boolean): DecodedPng {
  return alpha ? { data, width, height, alpha: new Uint8Array(width * height).fill(255) } : { data, width, height };
}

/** RGBA rows → RGB, and the alpha plane when asked for (sharp's removeAlpha drops it, ensureAlpha keeps it). */
function rgbaImage(rgba: Uint8Array, width: number, height: number, alpha: boolean): DecodedPng {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  const plane = alpha ? new Uint8Array(n) : undefined;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    data[i * 3] = rgba[j];
    data[i * 3 + 1] = rgba[j + 1];
    data[i * 3 + 2] = rgba[j + 2];
    if (plane) plane[i] = rgba[j + 3];
  }
  return plane ? { data, width, height, alpha: plane } : { data, width, height };
}
