// GradCAM: w_c = mean over positions of G_c.
import { BaseCam, type CamInput } from './base';

export class GradCam extends BaseCam {
  readonly id = 'gradcam';
  readonly referenceName = 'GradCAM';
  readonly needsGradients = true;

  override weights(input: CamInput): Float32Array {
    return this.perChannel(input, (_a, g, o, hw) => {
      let s = 0;
      for (let p = o; p < o + hw; p++) s += g![p];
      return s / hw;
    });
  }
}
