// Decoding images with sharp: PNG, JPEG, WebP, TIFF, GIF (first frame), AVIF; grayscale,
// alpha and 16-bit inputs become 8-bit sRGB; EXIF orientation is applied. Plain 8-bit RGB(A)
// PNGs take a faster path with the same pixels (pngFast.ts).
import sharp from 'sharp';
import { CamLensError } from '../errors';
import type { ResizeMode } from './config';
import { imageGeometry, LETTERBOX_PAD } from './geometry';
import { decodeSimplePng } from './pngFast';
import { FILE_LIMITS, readUserFileAsync } from '../userFiles';

// libvips' operation cache keeps recent results (up to 50 MB / 100 operations) for reuse; every
// image CamLens sees is new, so the cache only grows the worker's memory (leak-check rss slope).
sharp.cache(false);
// libvips' threads per decode. `camlens batch` with several workers sets 1: each worker already
// decodes several images at once beside another worker's runs, and splitting a small picture
// over threads only added wake-ups (ResNet-50 224² at batch 1: 1-2 s less CPU over 480 images,
// +1-6 % images/s; issue 17's note). Unset: libvips' default, one per core.
const decodeThreads = Number(process.env.CAMLENS_DECODE_THREADS);
if (Number.isInteger(decodeThreads) && decodeThreads >= 1) sharp.concurrency(decodeThreads);

/** Larger images are refused (decompression bombs); ~100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface RgbImage {
  /** Interleaved RGB, 8 bits per channel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
  /** The alpha plane (width·height, 8 bits), when decoded for a 4-channel model; 255 for opaque images. */
  alpha?: Uint8Array;
}

export async function decodeImage(file: string, maxPixels = DEFAULT_MAX_PIXELS, options: { alpha?: boolean } = {}): Promise<RgbImage> {
  return decodeImageBuffer(await readUserFileAsync(file, { what: 'image', maxBytes: FILE_LIMITS.image }), file, maxPixels, options);
}

export async function decodeImageBuffer(input: Uint8Array, name: string, maxPixels = DEFAULT_MAX_PIXELS, options: { alpha?: boolean } = {}): Promise<RgbImage> {
  const simple = decodeSimplePng(input, maxPixels, Boolean(options.alpha));
  if (simple) return simple;
  try {
    const image = sharp(input, { limitInputPixels: maxPixels, failOn: 'error', pages: 1 })
      .rotate() // apply EXIF orientation
      .toColourspace('srgb');
    const { data, info } = await (options.alpha ? image.ensureAlpha() : image.removeAlpha()).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (options.alpha && info.channels === 4) return splitAlpha(bytes, info.width, info.height);
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return { data: bytes, width: info.width, height: info.height };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (/pixel limit/i.test(message)) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `Image ${name} has more than ${maxPixels.toLocaleString('en')} pixels; refusing to decode it (raise the limit if this is intended).`,
      );
    }
    throw new CamLensError('BAD_ARGUMENT', `Image ${name} could not be decoded: ${message.replace(/^Input buffer contains /, '')}.`);
  }
}

/** Interleaved RGBA → RGB plus an alpha plane. */
function splitAlpha(rgba: Uint8Array, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    data[i * 3] = rgba[i * 4];
    data[i * 3 + 1] = rgba[i * 4 + 1];
    data[i * 3 + 2] = rgba[i * 4 + 2];
    alpha[i] = rgba[i * 4 + 3];
  }
  return { data, width, height, alpha };
}

/**
 * Resize with bilinear interpolation (no antialias beyond sharp's default for linear), by the
 * geometry geometry.ts describes for `mode` (letterbox: resize to fit, then pad centred); the
 * alpha plane, if any, goes along (letterbox padding is opaque).
 */
export async function resizeRgb(image: RgbImage, width: number, height: number, mode: ResizeMode, pad = LETTERBOX_PAD): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const rgba = image.alpha ? new Uint8Array(image.width * image.height * 4) : undefined;
  if (rgba && image.alpha) {
    for (let i = 0; i < image.alpha.length; i++) {
      rgba.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = image.alpha[i];
    }
  }
  const channels = rgba ? 4 : 3;
  const s = sharp(rgba ?? image.data, { raw: { width: image.width, height: image.height, channels } });
  let resized: ReturnType<typeof sharp>;
  if (mode === 'stretch') resized = s.resize(width, height, { fit: 'fill', kernel: 'linear' });
  else if (mode === 'shorter-side-then-center-crop') resized = s.resize(width, height, { fit: 'cover', position: 'centre', kernel: 'linear' });
  else {
    // Two steps with the sizes from imageGeometry, so the padding is exactly where the geometry says.
    const g = imageGeometry(image, { width, height }, mode, pad);
    const [left, top, right, bottom] = g.content;
    const inner = await s.resize(g.resized.width, g.resized.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    resized = sharp(inner, { raw: { width: g.resized.width, height: g.resized.height, channels } }).extend({
      left,
      top,
      right: width - right,
      bottom: height - bottom,
      background: { r: pad, g: pad, b: pad, alpha: 1 },
    });
  }
  const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return rgba ? splitAlpha(bytes, info.width, info.height) : { data: bytes, width: info.width, height: info.height };
}
