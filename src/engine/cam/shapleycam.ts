// ShapleyCAM (Cai et al. 2025, pytorch-grad-cam's ShapleyCAM): w_c = mean over positions of
// (G − ½·H·A)_c, the gradient corrected by the second-order term of the Shapley value of each
// activation. H·A is the Hessian-vector product of the target score at the layer with the
// activation itself, from the second-order gradient run (autodiff/hessian.ts). Its default
// target is ReST (logit − cross-entropy); with a plain logit above a linear head H·A = 0 and the
// map is Grad-CAM's.
import { CamLensError } from '../errors';
import { BaseCam, type CamInput } from './base';
import { checkTensor, sameShape } from './tensor';

export class ShapleyCam extends BaseCam {
  readonly id = 'shapleycam';
  readonly referenceName = 'ShapleyCAM';
  readonly needsGradients = true;

  override weights(input: CamInput): Float32Array {
    const hvp = input.hessianVectorProducts!.data;
    return this.perChannel(input, (_a, g, o, hw) => {
      let s = 0;
      for (let p = o; p < o + hw; p++) s += g![p] - 0.5 * hvp[p];
      return s / hw;
    });
  }

  protected override validate(input: CamInput): void {
    super.validate(input);
    const hvp = input.hessianVectorProducts;
    if (!hvp) throw new CamLensError('BAD_ARGUMENT', 'ShapleyCAM needs the Hessian-vector product H·A at the layer (a second-order gradient run).');
    checkTensor(hvp, 4, 'Hessian-vector products');
    if (!sameShape(hvp.shape, input.activations.shape)) {
      throw new CamLensError(
        'BAD_ARGUMENT',
        `Hessian-vector products have shape [${hvp.shape.join(', ')}] but activations [${input.activations.shape.join(', ')}].`,
      );
    }
  }
}
