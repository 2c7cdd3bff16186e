// The explained input: an image file (decoded and preprocessed per the model's config) or a
// preprocessed tensor from a .npy file, plus the RGB picture the overlay is drawn on.
import * as path from 'node:path';
import type { ModelConfig } from '../image/config';
import type { RgbImage } from '../image/decode';
import type { ImageGeometry } from '../image/geometry';
import { channelCount, fixedInputSize, inputSize, prepareImage } from '../image/preprocess';
import { CamLensError } from '../errors';
import type { ExplainParams, ExplainResult } from '../explainTypes';
import type { LoadedModel } from '../model';
import { readNpy } from '../npy';
import { clipFromNpy, loadClip } from '../video/frames';

/** Its pictures (rgb, original, frames) are read-only: explanations of one file share them (inputCache.ts). */
export interface ModelInput {
  name: string;
  tensor: Float32Array;
  /** [1, C, H, W] or [1, H, W, C]. */
  dims: number[];
  /** [H, W] of the model input. */
  size: [number, number];
  rgb: RgbImage;
  /** Image files: the decoded picture and how preprocessing mapped it to `rgb` (absent for .npy and clips). */
  original?: { picture: RgbImage; geometry: ImageGeometry };
  /** Video models ([1, C, T, H, W] input): every preprocessed frame; `rgb` is the first. */
  frames?: RgbImage[];
  /** What the pictures were made from, when the input cache knows it (pipeline/inputCache.ts; ExplainResult.inputIdentity). */
  identity?: string;
  /** The model leaves H and W open and no `input.size` is set: the image runs at its own size (pipeline/warnings.ts: inputWarnings). */
  sizeFromImage?: boolean;
}

/**
 * The pictures of `input` an ExplainResult carries (image, original, frames) and their identity.
 * Without pictures (`pictures: false`, or `picturesHeld` naming this input's) only the original's
 * geometry, which S.json reports: a caller that writes files asks for none, and the panel holds
 * them already; they would cross IPC for nothing (a photo's original is megabytes).
 */
export function resultPictures(
  input: ModelInput,
  params: Pick<ExplainParams, 'pictures' | 'picturesHeld'>,
): Pick<ExplainResult, 'image' | 'original' | 'frames' | 'inputIdentity'> {
  const identity = input.identity !== undefined ? { inputIdentity: input.identity } : {};
  const held = params.picturesHeld !== undefined && params.picturesHeld === input.identity;
  if (params.pictures === false || held) return { ...identity, ...(input.original ? { original: { geometry: input.original.geometry } } : {}) };
  return { ...identity, image: input.rgb, ...(input.original ? { original: input.original } : {}), ...(input.frames ? { frames: input.frames } : {}) };
}

export async function loadModelInput(file: string, model: LoadedModel, config: ModelConfig, options: { frames?: number } = {}): Promise<ModelInput> {
  const name = model.graph.inputs[0];
  if (model.graph.inputs.length !== 1) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `The model has ${model.graph.inputs.length} inputs (${model.graph.inputs.join(', ')}); CamLens explains single-input image models.`,
    );
  }
  const shape = model.shapes.get(name)?.shape;
  if (shape?.length === 5 && path.extname(file).toLowerCase() === '.npy') {
    const clip = clipFromNpy(file, config.input, shape);
    return { name, tensor: clip.tensor, dims: clip.dims, size: clip.size, rgb: clip.frames[0], frames: clip.frames };
  }
  if (shape?.length === 5) {
    // [B, C, T, H, W]: a clip (folder of frames, animated GIF/WebP, list of images).
    const [h, w, t] = [shape[3], shape[4], shape[2]];
    const size: [number, number] | undefined = config.input.size ?? (typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined);
    if (!size)
      throw new CamLensError(
        'BAD_ARGUMENT',
        `The video input "${name}" [${shape.map((d) => d ?? '?').join(', ')}] does not fix the frame size; set "input.size" in a <model>.camlens.json config.`,
      );
    const clip = await loadClip(file, config.input, size, typeof t === 'number' ? t : undefined, options.frames);
    return { name, tensor: clip.tensor, dims: clip.dims, size, rgb: clip.frames[0], frames: clip.frames };
  }
  if (path.extname(file).toLowerCase() === '.npy') return fromNpy(file, name, shape, config);
  if (shape && shape.length !== 4 && !config.input.size) inputSize(config.input, shape, name); // names the shape it cannot use
  const fixed = fixedInputSize(config.input, shape);
  const prepared = await prepareImage(file, config.input, fixed, channelCount(config.input, shape));
  const size: [number, number] = [prepared.rgb.height, prepared.rgb.width];
  return {
    name,
    tensor: prepared.tensor,
    dims: prepared.dims,
    size,
    rgb: prepared.rgb,
    original: { picture: prepared.picture, geometry: prepared.geometry },
    ...(fixed ? {} : { sizeFromImage: true }),
  };
}

function fromNpy(file: string, name: string, shape: ReadonlyArray<number | string | null> | undefined, config: ModelConfig): ModelInput {
  const npy = readNpy(file);
  const dims = npy.shape.length === 3 ? [1, ...npy.shape] : npy.shape;
  if (dims.length !== 4 || dims[0] !== 1) {
    throw new CamLensError('BAD_ARGUMENT', `${file}: expected one preprocessed input of shape [1, C, H, W] (or [C, H, W]), got [${npy.shape.join(', ')}].`);
  }
  if (shape && shape.length === 4) {
    shape.forEach((d, i) => {
      if (i > 0 && typeof d === 'number' && d !== dims[i]) {
        throw new CamLensError(
          'BAD_ARGUMENT',
          `${file}: shape [${dims.join(', ')}] does not fit the model input "${name}" [${shape.map((x) => x ?? '?').join(', ')}].`,
        );
      }
    });
  }
  const nchw = config.input.layout === 'NCHW';
  const [h, w, c] = nchw ? [dims[2], dims[3], dims[1]] : [dims[1], dims[2], dims[3]];
  if (c !== 3 && c !== 1 && c !== 4) throw new CamLensError('BAD_ARGUMENT', `${file}: ${c} channels; expected 1, 3 or 4 (layout ${config.input.layout}).`);
  // Undo the normalisation to get a picture for the overlay: pixel = (x·std + mean)·scale.
  const rgb = new Uint8Array(h * w * 3);
  const order = config.input.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const { mean, std, scale } = config.input;
  const x = npy.data;
  const n = h * w;
  for (let ch = 0; ch < 3; ch++) {
    const src = Math.min(order[ch], c - 1);
    const a = std[ch] * scale;
    const b = mean[ch] * scale + 0.5;
    // Planes are contiguous in NCHW; interleaved (stride c) in NHWC. Plain counters, no
    // destructuring in the loop: this runs on every .npy explanation (about 2x faster).
    const stride = nchw ? 1 : c;
    let j = nchw ? src * n : src;
    for (let o = ch, end = 3 * n; o < end; o += 3, j += stride) {
      const v = x[j] * a + b;
      rgb[o] = v <= 0 ? 0 : v >= 255 ? 255 : v; // a Uint8Array store truncates: (x·a + b + 0.5) | 0
    }
  }
  return { name, tensor: npy.data, dims, size: [h, w], rgb: { data: rgb, width: w, height: h } };
}
