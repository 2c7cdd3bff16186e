// Input-space attributions: a [C, H, W] tensor at the model's input size (S.attr.npy) and the
// [H, W] map shown and saved as S.cam.npy for it. Guided backprop is d score / d input under the
// guided rule set; guided Grad-CAM multiplies it, channel by channel, by the upsampled Grad-CAM
// map, as pytorch-grad-cam's cam.py composes them (`cv2.merge([cam] * 3) * gb`).
import { CamLensError } from '../errors';
import type { Attribution } from '../explainTypes';
import { encodeNpy } from '../npy';
import type { PlainTensor } from '../runtime/tapRunner';
import { attributionToMap } from '../attribution/toMap';

export type { Attribution };

/** How an input gradient becomes the attribution: as is, or times the layer CAM's final map. */
export type AttributionKind = 'input-gradient' | 'input-gradient-times-cam';

/**
 * Row `row` of an input gradient [N, C, H, W] (or [N, H, W, C] for `layout` NHWC) as a [C, H, W]
 * attribution; with `cam` ([H·W], the final map at the input size) each channel is multiplied by it.
 */
export function attributionOf(gradient: PlainTensor, layout: 'NCHW' | 'NHWC', row: number, cam?: Float32Array): Attribution {
  if (gradient.dims.length !== 4) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `Input-space attributions need an image input [N, C, H, W]; the input gradient has shape [${gradient.dims.join(', ')}].`,
    );
  }
  if (!(gradient.data instanceof Float32Array)) throw new Error(`attributionOf: a ${gradient.dtype} input gradient (float32 expected)`);
  const values = gradient.data;
  const [c, h, w] = layout === 'NCHW' ? gradient.dims.slice(1) : [gradient.dims[3], gradient.dims[1], gradient.dims[2]];
  const hw = h * w;
  if (cam && cam.length !== hw) throw new Error(`attributionOf: a map of ${cam.length} pixels for an input of ${h}×${w}`);
  const data = new Float32Array(c * hw);
  const base = row * c * hw;
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < hw; p++) {
      const g = layout === 'NCHW' ? values[base + ch * hw + p] : values[base + p * c + ch];
      data[ch * hw + p] = cam ? g * cam[p] : g;
    }
  }
  return { data, dims: [c, h, w] };
}

/**
 * The [H·W] map of an attribution: Σ_c |a_c| per pixel, min-max normalised to [0, 1] (the
 * magnitude over colour channels, as saliency maps are shown).
 */
export function attributionMap(a: Attribution): Float32Array {
  const [c, h, w] = a.dims;
  return attributionToMap(a.data, c, h, w, 'abs-sum').final;
}

/** S.attr.npy: float32 [C, H, W]. */
export const attributionNpy = (a: Attribution): Buffer => encodeNpy(a.data, a.dims);
