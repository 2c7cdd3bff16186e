// EigenCAM: the projection of the centred activations on their first principal component
// (no gradients, no weights). Sign convention: see eigen.ts.
import { BaseCam, type CamInput } from './base';
import { firstComponentProjection } from './eigen';

export class EigenCam extends BaseCam {
  readonly id: 'eigencam' | 'eigengradcam' = 'eigencam';
  readonly referenceName: string = 'EigenCAM';
  readonly needsGradients: boolean = false;

  /** The [N, C, h, w] values whose first component is the map. */
  protected projected(input: CamInput): Float32Array {
    return input.activations.data;
  }

  protected override camImage(input: CamInput): Float32Array {
    const [n, c, h, w] = input.activations.shape;
    const hw = h * w;
    const src = this.projected(input);
    const out = new Float32Array(n * hw);
    for (let b = 0; b < n; b++) firstComponentProjection(src, b * c * hw, c, hw, out, b * hw);
    return out;
  }
}
