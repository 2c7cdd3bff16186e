// GradCAM: w_c = mean over positions of G_c.
import type { LayerCamMethod } from '../explainTypes';
import { BaseCam, type CamInput } from './base';

export class GradCam extends BaseCam {
  // Widened: the guided methods (guided.ts) are Grad-CAM under other ids.
  readonly id: LayerCamMethod = 'gradcam';
  readonly referenceName: string = 'GradCAM';
  readonly needsGradients = true;

  override weights(input: CamInput): Float32Array {
    return this.perChannel(input, (_a, g, o, hw) => {
      let s = 0;
      for (let p = o; p < o + hw; p++) s += g![p];
      return s / hw;
    });
  }
}
