// Clip input for video models ([B, C, T, H, W]): frames from a folder of images, an animated
// GIF/WebP, a .txt list of image paths, or paths joined by commas; T frames sampled uniformly
// (pytorchvideo's UniformTemporalSubsample: indices = floor(linspace(0, n − 1, T))), each
// decoded, resized and normalised like a still image, stacked as [1, C, T, H, W].
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CamLensError } from '../errors';
import type { PreprocessConfig } from '../image/config';
import { DEFAULT_MAX_PIXELS, decodeImage, resizeRgb, type RgbImage } from '../image/decode';
import { rgbToTensor } from '../image/preprocess';
import { readNpy } from '../npy';
import { FILE_LIMITS, readUserText } from '../userFiles';
import { FRAME_EXTENSIONS, isAnimationFile, isFrameFile } from './clipFiles';
/** Frames used when neither the model nor the caller fixes T. */
export const DEFAULT_MAX_FRAMES = 64;

export type FrameSource = { kind: 'files'; files: string[]; description: string } | { kind: 'animation'; file: string; frames: number };

const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;

/** What the clip input names, without decoding any pixels. */
export async function frameSource(input: string): Promise<FrameSource> {
  const stat = fs.statSync(input, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    const files = fs
      .readdirSync(input)
      .filter(isFrameFile)
      .sort(natural)
      .map((f) => path.join(input, f));
    if (!files.length) throw new CamLensError('BAD_ARGUMENT', `${input}: the folder holds no image frames (${[...FRAME_EXTENSIONS].join(', ')}).`);
    return { kind: 'files', files, description: `folder ${input}` };
  }
  if (stat?.isFile()) {
    const ext = path.extname(input).toLowerCase();
    if (ext === '.txt') {
      const base = path.dirname(input);
      const files = readUserText(input, { what: 'frame list', maxBytes: FILE_LIMITS.list })
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => path.resolve(base, l));
      if (!files.length) throw new CamLensError('BAD_ARGUMENT', `${input}: the frame list is empty.`);
      return { kind: 'files', files, description: `list ${input}` };
    }
    if (isAnimationFile(input)) {
      const meta = await sharp(input, { limitInputPixels: DEFAULT_MAX_PIXELS })
        .metadata()
        .catch((e: Error) => {
          throw new CamLensError('BAD_ARGUMENT', `${input}: cannot decode the animation (${e.message}).`);
        });
      return { kind: 'animation', file: input, frames: meta.pages ?? 1 };
    }
    return { kind: 'files', files: [input], description: `image ${input}` };
  }
  if (input.includes(',')) {
    const files = input
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const missing = files.filter((f) => !fs.existsSync(f));
    if (missing.length) throw new CamLensError('BAD_ARGUMENT', `Frame list: ${missing.map((m) => `"${m}"`).join(', ')} not found.`);
    return { kind: 'files', files, description: `${files.length} listed images` };
  }
  throw new CamLensError(
    'BAD_ARGUMENT',
    `${input}: not found (a video model takes a folder of frames, an animated GIF/WebP, a .txt list of images, or images joined by commas).`,
  );
}

/** floor(linspace(0, n − 1, t)): t indices spread evenly over n frames (repeats when t > n). */
export function uniformIndices(n: number, t: number): number[] {
  if (t === 1) return [0];
  return Array.from({ length: t }, (_, i) => Math.floor((i * (n - 1)) / (t - 1) + 1e-9));
}

const countOf = (s: FrameSource) => (s.kind === 'files' ? s.files.length : s.frames);

/** Decodes the chosen frames as RGB (animation frames composited by libvips, all the same size). */
async function decodeFrames(source: FrameSource, indices: number[]): Promise<RgbImage[]> {
  if (source.kind === 'files') {
    const cache = new Map<number, Promise<RgbImage>>();
    return Promise.all(
      indices.map((i) => {
        if (!cache.has(i)) cache.set(i, decodeImage(source.files[i]));
        return cache.get(i)!;
      }),
    );
  }
  const unique = [...new Set(indices)];
  const decoded = new Map<number, RgbImage>();
  for (const page of unique) {
    const { data, info } = await sharp(source.file, { page, pages: 1, limitInputPixels: DEFAULT_MAX_PIXELS })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch((e: Error) => {
        throw new CamLensError('BAD_ARGUMENT', `${source.file}: cannot decode frame ${page} (${e.message}).`);
      });
    if (info.channels !== 3) throw new CamLensError('BAD_ARGUMENT', `${source.file}: frame ${page} has ${info.channels} channels after conversion to RGB.`);
    decoded.set(page, { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height });
  }
  return indices.map((i) => decoded.get(i)!);
}

export interface ClipInput {
  /** [1, C, T, H, W] (NCHW config) — the model's layout for video. */
  tensor: Float32Array;
  dims: number[];
  size: [number, number];
  /** The preprocessed frames, RGB at [H, W]. */
  frames: RgbImage[];
  /** Which source frames were used. */
  indices: number[];
  sourceFrames: number;
}

/**
 * Loads a clip for a [B, C, T, H, W] model input. `modelFrames` is the model's static T if any;
 * `wanted` the caller's choice (must equal a static T).
 */
export async function loadClip(
  input: string,
  config: PreprocessConfig,
  size: [number, number],
  modelFrames: number | undefined,
  wanted?: number,
): Promise<ClipInput> {
  if (config.layout !== 'NCHW')
    throw new CamLensError('BAD_ARGUMENT', `Video inputs are read as [B, C, T, H, W]; the config's layout "${config.layout}" is not supported for clips.`);
  if (modelFrames !== undefined && wanted !== undefined && wanted !== modelFrames) {
    throw new CamLensError('BAD_ARGUMENT', `--frames ${wanted}: the model's input fixes T = ${modelFrames} frames.`);
  }
  const source = await frameSource(input);
  const n = countOf(source);
  const T = modelFrames ?? wanted ?? Math.min(n, DEFAULT_MAX_FRAMES);
  const indices = uniformIndices(n, T);
  const decoded = await decodeFrames(source, indices);
  const [H, W] = size;
  const frames = await Promise.all(decoded.map((f) => resizeRgb(f, W, H, config.resize)));
  const hw = H * W;
  const tensor = new Float32Array(3 * T * hw);
  frames.forEach((f, t) => {
    const { tensor: x } = rgbToTensor(f, { ...config, layout: 'NCHW' });
    for (let c = 0; c < 3; c++) tensor.set(x.subarray(c * hw, (c + 1) * hw), (c * T + t) * hw);
  });
  return { tensor, dims: [1, 3, T, H, W], size, frames, indices, sourceFrames: n };
}

/**
 * A preprocessed clip straight from a .npy ([1, 3, T, H, W] or [3, T, H, W], float32), with the
 * normalisation undone to get frames for the overlays.
 */
export function clipFromNpy(file: string, config: PreprocessConfig, modelShape: readonly (number | string | null)[]): ClipInput {
  const npy = readNpy(file);
  const dims = npy.shape.length === 4 ? [1, ...npy.shape] : [...npy.shape];
  if (dims.length !== 5 || dims[0] !== 1 || dims[1] !== 3) {
    throw new CamLensError('BAD_ARGUMENT', `${file}: expected one preprocessed clip of shape [1, 3, T, H, W], got [${npy.shape.join(', ')}].`);
  }
  modelShape.forEach((d, i) => {
    if (i > 0 && typeof d === 'number' && d !== dims[i]) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `${file}: shape [${dims.join(', ')}] does not fit the model input [${modelShape.map((x) => x ?? '?').join(', ')}].`,
      );
    }
  });
  const [, , T, H, W] = dims;
  const hw = H * W;
  const order = config.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const frames: RgbImage[] = Array.from({ length: T }, (_, t) => {
    const rgb = new Uint8Array(hw * 3);
    for (let ch = 0; ch < 3; ch++) {
      const src = order[ch];
      for (let i = 0; i < hw; i++) {
        const x = npy.data[(src * T + t) * hw + i];
        rgb[i * 3 + ch] = Math.max(0, Math.min(255, Math.round((x * config.std[ch] + config.mean[ch]) * config.scale)));
      }
    }
    return { data: rgb, width: W, height: H };
  });
  return { tensor: npy.data, dims, size: [H, W], frames, indices: frames.map((_, i) => i), sourceFrames: T };
}
