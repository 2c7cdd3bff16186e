// KPCA-CAM: kernel PCA of the activations (kernelPca.ts) instead of EigenCAM's linear PCA; no
// gradients. pytorch-grad-cam's defaults: the sigmoid kernel, one component.
import { BaseCam, type CamInput, type CamOptions } from './base';
import { kernelPcaProjection } from './kernelPca';
import { METHOD_OPTION_SPECS } from './methodOptions';

export class KpcaCam extends BaseCam {
  readonly id = 'kpcacam';
  readonly referenceName = 'KPCA_CAM';
  readonly needsGradients = false;

  protected override camImage(input: CamInput, _weights: Float32Array | undefined, options: CamOptions): Float32Array {
    const [n, c, h, w] = input.activations.shape;
    const hw = h * w;
    const out = new Float32Array(n * hw);
    const kpca = { kernel: options.kernel ?? METHOD_OPTION_SPECS.kernel.default, components: options.components ?? METHOD_OPTION_SPECS.components.default };
    for (let b = 0; b < n; b++) kernelPcaProjection(input.activations.data, b * c * hw, c, hw, out, b * hw, kpca);
    return out;
  }
}
