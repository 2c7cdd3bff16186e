// LayerCAM: lowres = Σ_c relu(G_c) ⊙ A_c.
import { BaseCam } from './base';

export class LayerCam extends BaseCam {
  readonly id = 'layercam';
  readonly referenceName = 'LayerCAM';
  readonly needsGradients = true;

  protected override elementTerm(a: number, g: number): number {
    return g > 0 ? g * a : 0;
  }
}
