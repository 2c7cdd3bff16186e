// GradCAM++: α = G² / (2G² + (Σ_hw A_c)·G³ + 1e-6), 0 where G = 0; w_c = Σ_hw relu(G_c)·α_c.
import { BaseCam, type CamInput } from './base';

const EPS = 1e-6;

export class GradCamPlusPlus extends BaseCam {
  readonly id = 'gradcam++';
  readonly referenceName = 'GradCAMPlusPlus';
  readonly needsGradients = true;

  override weights(input: CamInput): Float32Array {
    return this.perChannel(input, (a, g, o, hw) => {
      let sumA = 0;
      for (let p = o; p < o + hw; p++) sumA += a[p];
      let w = 0;
      for (let p = o; p < o + hw; p++) {
        const gp = g![p];
        if (gp <= 0) continue; // relu(G) = 0, and α = 0 where G = 0
        const g2 = gp * gp;
        w += gp * (g2 / (2 * g2 + sumA * g2 * gp + EPS));
      }
      return w;
    });
  }
}
