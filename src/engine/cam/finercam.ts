// FinerCAM (pytorch-grad-cam's FinerCAM): a base method's map (Grad-CAM by default) of the
// gradients of a contrast target instead of the class logit (targets/finer.ts), so the map shows
// what tells the class apart from the classes most like it. The map itself is the base method's.
import { BaseCam, type CamInput, type CamLowres, type CamOptions } from './base';
import { GradCam } from './gradcam';

export class FinerCam extends BaseCam {
  readonly id = 'finercam';
  readonly referenceName = 'FinerCAM';
  readonly needsGradients = true;

  /** `base`: a gradient method whose map needs no channel runs (the registry's `finerBase`). */
  constructor(private readonly base: BaseCam = new GradCam()) {
    super();
  }

  /** The base method's map of the gradients the contrast target gave. */
  override lowres(input: CamInput, options: CamOptions = {}): CamLowres {
    return this.base.lowres(input, options);
  }
}
