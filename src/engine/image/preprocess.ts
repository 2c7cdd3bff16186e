// Image → model input tensor, per the model's PreprocessConfig.
import { CamLensError } from '../errors';
import type { ShapeDim } from '../onnx/shapes/types';
import type { PreprocessConfig } from './config';
import { decodeImage, resizeRgb, type RgbImage } from './decode';
import { imageGeometry, type ImageGeometry } from './geometry';

export interface PreparedImage {
  /** The model input, [1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC). */
  tensor: Float32Array;
  dims: number[];
  /** The resized RGB image the tensor was made from. */
  rgb: RgbImage;
  /** The decoded image (what overlays are drawn on) and how the resize mapped it to `rgb`. */
  picture: RgbImage;
  geometry: ImageGeometry;
}

/** [H, W] from the config, else from the model input's static dims. */
export function inputSize(config: PreprocessConfig, inputShape: readonly ShapeDim[] | undefined, inputName = 'input'): [number, number] {
  if (config.size) return config.size;
  const shape = inputShape ?? [];
  const [h, w] = config.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  if (shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number') {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `The model input "${inputName}" has shape [${shape.map((d) => d ?? '?').join(', ')}], which does not fix the image size; set "input.size" in a <model>.camlens.json config.`,
    );
  }
  return [h, w];
}

export function rgbToTensor(rgb: RgbImage, config: PreprocessConfig): { tensor: Float32Array; dims: number[] } {
  const { width: w, height: h, data } = rgb;
  const out = new Float32Array(3 * h * w);
  const order = config.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    const scale = 1 / (config.scale * config.std[c]);
    const shift = config.mean[c] / config.std[c];
    for (let i = 0; i < h * w; i++) {
      const v = data[i * 3 + src] * scale - shift;
      if (config.layout === 'NCHW') out[c * h * w + i] = v;
      else out[i * 3 + c] = v;
    }
  }
  return { tensor: out, dims: config.layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3] };
}

export async function prepareImage(file: string, config: PreprocessConfig, size: [number, number]): Promise<PreparedImage> {
  const decoded = await decodeImage(file);
  const rgb = await resizeRgb(decoded, size[1], size[0], config.resize, config.pad);
  const geometry = imageGeometry(decoded, { width: size[1], height: size[0] }, config.resize, config.pad);
  return { ...rgbToTensor(rgb, config), rgb, picture: decoded, geometry };
}
