// XGradCAM: w_c = Σ_hw (G_c ⊙ A_c) / (Σ_hw A_c + 1e-7).
import { BaseCam, type CamInput } from './base';

const EPS = 1e-7;

export class XGradCam extends BaseCam {
  readonly id = 'xgradcam';
  readonly referenceName = 'XGradCAM';
  readonly needsGradients = true;

  override weights(input: CamInput): Float32Array {
    return this.perChannel(input, (a, g, o, hw) => {
      let sumA = 0;
      let sumGA = 0;
      for (let p = o; p < o + hw; p++) {
        sumA += a[p];
        sumGA += g![p] * a[p];
      }
      return sumGA / (sumA + EPS);
    });
  }
}
