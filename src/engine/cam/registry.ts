// The method table: ids as the CLI and the panel spell them → class and what each needs.
import { AblationCam } from './ablationcam';
import type { BaseCam, CamMethodId } from './base';
import { EigenCam } from './eigencam';
import { EigenGradCam } from './eigengradcam';
import { GradCam } from './gradcam';
import { GradCamElementWise } from './gradcamElementwise';
import { GradCamPlusPlus } from './gradcamPlusPlus';
import { HiResCam } from './hirescam';
import { LayerCam } from './layercam';
import { ScoreCam } from './scorecam';
import { XGradCam } from './xgradcam';
import { CamLensError, closestNames } from '../errors';

export interface CamMethodInfo {
  id: CamMethodId;
  /** pytorch-grad-cam's class name. */
  referenceName: string;
  /** Needs d score / d activation at the layer (a backward graph). */
  needsGradients: boolean;
  /** Extra model runs the runtime must do to produce `channelScores`: none, masked inputs, ablated tails. */
  runs: 'none' | 'masked-inputs' | 'ablations';
  /** Has per-channel weights (so eigen_smooth applies to w·A). */
  hasWeights: boolean;
  create: () => BaseCam;
}

export const CAM_METHODS: Readonly<Record<CamMethodId, CamMethodInfo>> = {
  gradcam: { id: 'gradcam', referenceName: 'GradCAM', needsGradients: true, runs: 'none', hasWeights: true, create: () => new GradCam() },
  hirescam: { id: 'hirescam', referenceName: 'HiResCAM', needsGradients: true, runs: 'none', hasWeights: false, create: () => new HiResCam() },
  'gradcam-elementwise': { id: 'gradcam-elementwise', referenceName: 'GradCAMElementWise', needsGradients: true, runs: 'none', hasWeights: false, create: () => new GradCamElementWise() },
  'gradcam++': { id: 'gradcam++', referenceName: 'GradCAMPlusPlus', needsGradients: true, runs: 'none', hasWeights: true, create: () => new GradCamPlusPlus() },
  xgradcam: { id: 'xgradcam', referenceName: 'XGradCAM', needsGradients: true, runs: 'none', hasWeights: true, create: () => new XGradCam() },
  layercam: { id: 'layercam', referenceName: 'LayerCAM', needsGradients: true, runs: 'none', hasWeights: false, create: () => new LayerCam() },
  eigencam: { id: 'eigencam', referenceName: 'EigenCAM', needsGradients: false, runs: 'none', hasWeights: false, create: () => new EigenCam() },
  eigengradcam: { id: 'eigengradcam', referenceName: 'EigenGradCAM', needsGradients: true, runs: 'none', hasWeights: false, create: () => new EigenGradCam() },
  scorecam: { id: 'scorecam', referenceName: 'ScoreCAM', needsGradients: false, runs: 'masked-inputs', hasWeights: true, create: () => new ScoreCam() },
  ablationcam: { id: 'ablationcam', referenceName: 'AblationCAM', needsGradients: false, runs: 'ablations', hasWeights: true, create: () => new AblationCam() },
};

export const CAM_METHOD_IDS = Object.keys(CAM_METHODS) as CamMethodId[];

export const isCamMethodId = (s: string): s is CamMethodId => Object.prototype.hasOwnProperty.call(CAM_METHODS, s);

/** The method for an id, or a BAD_ARGUMENT error listing the valid ids and the closest one. */
export function camMethod(id: string): CamMethodInfo {
  if (isCamMethodId(id)) return CAM_METHODS[id];
  throw new CamLensError('BAD_ARGUMENT', `unknown CAM method '${id}' (did you mean ${closestNames(id, CAM_METHOD_IDS, 1)[0]}?); ` +
    `valid: ${CAM_METHOD_IDS.join(', ')}`);
}

export const createCam = (id: string): BaseCam => camMethod(id).create();
