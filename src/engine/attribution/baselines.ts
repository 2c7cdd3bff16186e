// The reference input of Integrated Gradients and Occlusion, planar [C, H, W] in the model's
// input space: 'black' is an all-black picture through the model's own preprocessing (so
// (0 − mean)/std, not zeros, for an ImageNet model); 'blur' the input blurred with RISE's σ (5 px
// at 224, scaled with the size; metrics/perturb.ts); 'noise' a picture of uniform random pixels
// (seeded), preprocessed; a file is an image (preprocessed like the input) or a preprocessed .npy.
import { METHOD_OPTION_SPECS } from '../cam/methodOptions';
import { CamLensError } from '../errors';
import type { AttributionBaseline } from '../explainTypes';
import type { ModelConfig } from '../image/config';
import { rgbToTensor } from '../image/preprocess';
import { blurPlanar, defaultBlurSigma, toPlanar } from '../metrics/perturb';
import { rng } from '../metrics/stats';
import type { LoadedModel } from '../model';
import { loadModelInput } from '../pipeline/input';
import type { AttributionContext } from './batching';

export const DEFAULT_BASELINE: AttributionBaseline = METHOD_OPTION_SPECS.baseline.default;

export const baselineName = (b: AttributionBaseline): string => (typeof b === 'string' ? b : b.file);

/** A picture of one 8-bit value per channel sample, through the model's preprocessing, planar. */
function pictureTensor(ctx: AttributionContext, config: ModelConfig, pixel: (i: number) => number): Float32Array {
  const n = ctx.h * ctx.w;
  const data = Uint8Array.from({ length: n * 3 }, (_, i) => pixel(i));
  const t = rgbToTensor({ data, width: ctx.w, height: ctx.h }, config.input, ctx.c);
  return toPlanar({ data: t.tensor, dims: t.dims, layout: config.input.layout });
}

export async function resolveBaseline(
  baseline: AttributionBaseline,
  ctx: AttributionContext,
  x: Float32Array,
  model: LoadedModel,
  config: ModelConfig,
  seed = 0,
): Promise<Float32Array> {
  if (baseline === 'black') return pictureTensor(ctx, config, () => 0);
  if (baseline === 'blur') return blurPlanar(x, ctx.c, ctx.h, ctx.w, defaultBlurSigma(ctx.h, ctx.w));
  if (baseline === 'noise') {
    const random = rng(seed);
    return pictureTensor(ctx, config, () => Math.floor(random() * 256));
  }
  const loaded = await loadModelInput(baseline.file, model, config);
  const expected = ctx.layout === 'NCHW' ? [1, ctx.c, ctx.h, ctx.w] : [1, ctx.h, ctx.w, ctx.c];
  if (loaded.dims.join() !== expected.join()) {
    throw new CamLensError(
      'BAD_ARGUMENT',
      `--baseline ${baseline.file}: shape [${loaded.dims.join(', ')}] after preprocessing; the input is [${expected.join(', ')}]. Give a picture or a .npy of the input's size.`,
    );
  }
  return toPlanar({ data: loaded.tensor, dims: loaded.dims, layout: ctx.layout });
}
