// Method id → CAM method object.
import type { BaseCam } from '../cam/base';
import { EigenCam } from '../cam/eigencam';
import { EigenGradCam } from '../cam/eigengradcam';
import { GradCam } from '../cam/gradcam';
import { GradCamElementWise } from '../cam/gradcamElementwise';
import { GradCamPlusPlus } from '../cam/gradcamPlusPlus';
import { HiResCam } from '../cam/hirescam';
import { LayerCam } from '../cam/layercam';
import { XGradCam } from '../cam/xgradcam';
import { CamLensError } from '../errors';

const METHODS: Record<string, () => BaseCam> = {
  gradcam: () => new GradCam(),
  hirescam: () => new HiResCam(),
  'gradcam-elementwise': () => new GradCamElementWise(),
  'gradcam++': () => new GradCamPlusPlus(),
  xgradcam: () => new XGradCam(),
  layercam: () => new LayerCam(),
  eigencam: () => new EigenCam(),
  eigengradcam: () => new EigenGradCam(),
};

export function camMethod(id: string): BaseCam {
  const make = METHODS[id];
  if (!make) throw new CamLensError('BAD_ARGUMENT', `Unknown or not yet available CAM method "${id}"; available: ${Object.keys(METHODS).join(', ')}.`);
  return make();
}
