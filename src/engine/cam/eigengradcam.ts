// EigenGradCAM: EigenCAM on G ⊙ A.
import type { CamInput } from './base';
import { EigenCam } from './eigencam';

export class EigenGradCam extends EigenCam {
  override readonly id = 'eigengradcam';
  override readonly referenceName = 'EigenGradCAM';
  override readonly needsGradients = true;

  protected override projected(input: CamInput): Float32Array {
    const a = input.activations.data;
    const g = input.gradients!.data;
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = g[i] * a[i];
    return out;
  }
}
