// GradCAMElementWise: lowres = Σ_c relu(G_c ⊙ A_c).
import { BaseCam } from './base';

export class GradCamElementWise extends BaseCam {
  readonly id = 'gradcam-elementwise';
  readonly referenceName = 'GradCAMElementWise';
  readonly needsGradients = true;

  protected override elementTerm(a: number, g: number): number {
    const v = g * a;
    return v > 0 ? v : 0;
  }
}
