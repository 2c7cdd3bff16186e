// Guided backprop and guided Grad-CAM: their attribution is the input gradient under the guided
// rule set (autodiff/rules/variants.ts), made in the pipeline (cam/attribution.ts); the layer map
// they carry is Grad-CAM's, which guided Grad-CAM multiplies into that gradient.
import type { LayerCamMethod } from '../explainTypes';
import { GradCam } from './gradcam';

export class GuidedBackprop extends GradCam {
  override readonly id: LayerCamMethod = 'guided-backprop';
  override readonly referenceName: string = 'GuidedBackpropReLUModel';
}

export class GuidedGradCam extends GradCam {
  override readonly id: LayerCamMethod = 'guided-gradcam';
  override readonly referenceName: string = 'GradCAM x GuidedBackpropReLUModel';
}
