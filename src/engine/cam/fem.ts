// FEM (Feature Explanation Method, Fuad et al. 2020): no gradients. A channel's weight is the
// fraction of its positions above its own mean + k standard deviations (population std, k = 2
// as in pytorch-grad-cam): channels with a few strong, localised peaks count most.
import { BaseCam, type CamInput } from './base';

export const FEM_K = 2;

export class Fem extends BaseCam {
  readonly id = 'fem';
  readonly referenceName = 'FEM';
  readonly needsGradients = false;

  override weights(input: CamInput): Float32Array {
    return this.perChannel(input, (a, _g, o, hw) => {
      let mean = 0;
      for (let p = o; p < o + hw; p++) mean += a[p];
      mean /= hw;
      let variance = 0;
      for (let p = o; p < o + hw; p++) variance += (a[p] - mean) ** 2;
      // numpy computes the threshold in float32; compare against the same rounded value.
      const threshold = Math.fround(mean + FEM_K * Math.sqrt(variance / hw));
      let above = 0;
      for (let p = o; p < o + hw; p++) if (a[p] > threshold) above++;
      return above / hw;
    });
  }
}
