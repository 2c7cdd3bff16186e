// Which layout a CAM layer's activation has, from its shape and the input size: NCHW maps,
// NHWC maps (Swin, TensorFlow exports), token sequences [N, T, C] (ViT), 5-D video [N, C, T, H, W].
import { toFeatureMaps, type ActivationLayout, type TokenGrid } from '../cam/layout';
import type { FeatureMaps } from '../cam/tensor';
import { CamLensError } from '../errors';
import type { LoadedModel } from '../model';
import type { PlainTensor } from '../runtime/tapRunner';
import { tokenGridAt } from '../transformer/tokenGeometry';

const plausible = (h: number, w: number, H: number, W: number) => h >= 1 && w >= 1 && h <= H && w <= W && Math.abs(Math.log(h / w / (H / W))) < 0.35;

export function detectLayout(layer: string, dims: readonly number[], inputSize: readonly [number, number], flagged?: ActivationLayout): ActivationLayout {
  if (flagged) return flagged;
  const [H, W] = inputSize;
  if (dims.length === 3) return 'tokens';
  if (dims.length === 5) return 'NCTHW';
  if (dims.length === 4) {
    const nchw = plausible(dims[2], dims[3], H, W) && (dims[2] > 1 || dims[3] > 1);
    const nhwc = plausible(dims[1], dims[2], H, W) && (dims[1] > 1 || dims[2] > 1);
    if (nchw || !nhwc) {
      if (dims[2] * dims[3] <= 1 && !nhwc) {
        throw new CamLensError(
          'BAD_ARGUMENT',
          `Layer "${layer}" has shape [${dims.join(', ')}]: no spatial extent left (it is after global pooling). Choose an earlier layer (see \`camlens layers\`).`,
        );
      }
      return 'NCHW';
    }
    return 'NHWC';
  }
  throw new CamLensError(
    'BAD_ARGUMENT',
    `Layer "${layer}" has shape [${dims.join(', ')}], which is neither a feature map (4-D/5-D) nor a token sequence [N, T, C]; choose another layer.`,
  );
}

/** A token layer's grid on an input of `inputSize` (from the model's geometry, never from the token count alone); undefined for maps. */
export function layerTokenGrid(
  model: LoadedModel,
  layer: string,
  layout: ActivationLayout,
  dims: readonly number[],
  inputSize: readonly [number, number],
): TokenGrid | undefined {
  return layout === 'tokens' ? tokenGridAt(model, layer, dims[1], inputSize) : undefined;
}

/** A CAM layer's tensor as the [N, C, h, w] maps the CAM methods read (any other dtype is the user's layer choice). */
export function layerFeatureMaps(t: PlainTensor, layout: ActivationLayout, grid?: TokenGrid): FeatureMaps {
  if (!(t.data instanceof Float32Array)) throw new CamLensError('BAD_ARGUMENT', `CAM layers must be float32; got ${t.dtype}.`);
  return toFeatureMaps({ data: t.data, shape: t.dims }, layout, grid && { grid: [grid.h, grid.w], extraTokens: grid.extraTokens });
}
