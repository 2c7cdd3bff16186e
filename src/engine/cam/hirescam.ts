// HiResCAM: lowres = Σ_c G_c ⊙ A_c (the gradient is not pooled).
import { BaseCam } from './base';

export class HiResCam extends BaseCam {
  readonly id = 'hirescam';
  readonly referenceName = 'HiResCAM';
  readonly needsGradients = true;

  protected override elementTerm(a: number, g: number): number {
    return g * a;
  }
}
