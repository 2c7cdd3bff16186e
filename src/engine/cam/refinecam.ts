// RefineCAM (pytorch-grad-cam's RefineCAM): the final Grad-CAM++ map of each layer given (each
// min-max normalised at the input size), multiplied together and min-max normalised again. An
// early layer's fine but noisy map is kept only where the later layers agree.
import { BaseCam, type CamInput, type CamLowres, type CamOptions, type CombinedMaps } from './base';
import { GradCamPlusPlus } from './gradcamPlusPlus';
import { finalCam, minMaxInPlace, reluMaps, type Size } from './postprocess';
import type { Maps } from './tensor';

export class RefineCam extends BaseCam {
  readonly id = 'refinecam';
  readonly referenceName = 'RefineCAM';
  readonly needsGradients = true;
  private readonly base = new GradCamPlusPlus();

  override lowres(input: CamInput, options: CamOptions = {}): CamLowres {
    return this.base.lowres(input, options);
  }

  override combine(lowres: readonly Maps[], size: Size): CombinedMaps {
    const product = finalCam(lowres[0], size).data;
    for (const layer of lowres.slice(1)) {
      const factor = finalCam(layer, size).data;
      for (let i = 0; i < product.length; i++) product[i] *= factor[i];
    }
    const [H, W] = size;
    const n = lowres[0].shape[0];
    for (let b = 0; b < n; b++) minMaxInPlace(product, b * H * W, H * W);
    return { final: { data: product, shape: [n, H, W] }, raw: reluMaps(lowres[0]) };
  }
}
