// The layer-CAM method table: ids as the CLI and the panel spell them → class and what each
// needs. The pipeline reads it (pipeline/ and batch/ never test a method's id): whether to run
// the gradient model or a forward run with taps, which channel runs make `channelScores`, and
// whether one stacked run serves a batch of images.
import { AblationCam } from './ablationcam';
import type { BaseCam } from './base';
import { EigenCam } from './eigencam';
import { DeepFeatureFactorization } from './dff';
import { EigenGradCam } from './eigengradcam';
import { Fem } from './fem';
import { GradCam } from './gradcam';
import { GradCamElementWise } from './gradcamElementwise';
import { GradCamPlusPlus } from './gradcamPlusPlus';
import { HiResCam } from './hirescam';
import { KpcaCam } from './kpcacam';
import { LayerCam } from './layercam';
import { ScoreCam } from './scorecam';
import { SobelCam } from './sobelcam';
import { XGradCam } from './xgradcam';
import { CamLensError, closestNames } from '../errors';
import { LAYER_CAM_METHODS, type CamMethodName, type LayerCamMethod } from '../explainTypes';

/** Extra model runs that produce a method's `channelScores` (pipeline/channelScores.ts). */
export type ChannelRuns = 'none' | 'masked-inputs' | 'ablations';

export interface LayerCamInfo {
  id: LayerCamMethod;
  /** pytorch-grad-cam's class name. */
  referenceName: string;
  /** Needs d score / d activation at the layer: the gradient run instead of a forward run with taps. */
  needsGradients: boolean;
  /** Model runs per channel of the layer: none, masked inputs (Score-CAM), ablated tails (Ablation-CAM). */
  channelRuns: ChannelRuns;
  /**
   * One stacked run of N images gives every row's map (batch export). Methods with channel runs
   * are not: their runs are per image and per channel already.
   */
  batchable: boolean;
  /** Has per-channel weights (so eigen_smooth applies to w·A). */
  hasWeights: boolean;
  /** The map comes from the picture the model saw, not from a layer (SobelCAM): the pipeline hands it over as `CamInput.picture`. */
  readsPicture?: boolean;
  /**
   * Factorises the layer's activations into concepts and scores each with the model's head
   * (DFF): the pipeline makes `CamInput.concepts` (pipeline/conceptRuns.ts).
   */
  concepts?: boolean;
  create: () => BaseCam;
}

const entry = (
  id: LayerCamMethod,
  referenceName: string,
  needsGradients: boolean,
  channelRuns: ChannelRuns,
  hasWeights: boolean,
  create: () => BaseCam,
): LayerCamInfo => ({ id, referenceName, needsGradients, channelRuns, batchable: channelRuns === 'none', hasWeights, create });

export const LAYER_CAMS: Readonly<Record<LayerCamMethod, LayerCamInfo>> = {
  gradcam: entry('gradcam', 'GradCAM', true, 'none', true, () => new GradCam()),
  hirescam: entry('hirescam', 'HiResCAM', true, 'none', false, () => new HiResCam()),
  'gradcam-elementwise': entry('gradcam-elementwise', 'GradCAMElementWise', true, 'none', false, () => new GradCamElementWise()),
  'gradcam++': entry('gradcam++', 'GradCAMPlusPlus', true, 'none', true, () => new GradCamPlusPlus()),
  xgradcam: entry('xgradcam', 'XGradCAM', true, 'none', true, () => new XGradCam()),
  layercam: entry('layercam', 'LayerCAM', true, 'none', false, () => new LayerCam()),
  eigencam: entry('eigencam', 'EigenCAM', false, 'none', false, () => new EigenCam()),
  eigengradcam: entry('eigengradcam', 'EigenGradCAM', true, 'none', false, () => new EigenGradCam()),
  scorecam: entry('scorecam', 'ScoreCAM', false, 'masked-inputs', true, () => new ScoreCam()),
  ablationcam: entry('ablationcam', 'AblationCAM', false, 'ablations', true, () => new AblationCam()),
  kpcacam: entry('kpcacam', 'KPCA_CAM', false, 'none', false, () => new KpcaCam()),
  fem: entry('fem', 'FEM', false, 'none', true, () => new Fem()),
  sobelcam: { ...entry('sobelcam', 'sobel_cam', false, 'none', false, () => new SobelCam()), readsPicture: true, batchable: false },
  dff: { ...entry('dff', 'DeepFeatureFactorization', false, 'none', false, () => new DeepFeatureFactorization()), concepts: true, batchable: false },
};

export const isLayerCamMethod = (s: string): s is LayerCamMethod => (LAYER_CAM_METHODS as readonly string[]).includes(s);

/** The method for an id, or a BAD_ARGUMENT error listing the valid ids and the closest one. */
export function layerCam(id: string): LayerCamInfo {
  if (isLayerCamMethod(id)) return LAYER_CAMS[id];
  throw new CamLensError(
    'BAD_ARGUMENT',
    `unknown CAM method '${id}' (did you mean ${closestNames(id, LAYER_CAM_METHODS, 1)[0]}?); ` + `valid: ${LAYER_CAM_METHODS.join(', ')}`,
  );
}

export const createCam = (id: string): BaseCam => layerCam(id).create();

/** Whether one stacked run serves N images for `method` (the attention methods: no). */
export const isBatchable = (method: CamMethodName): boolean => isLayerCamMethod(method) && LAYER_CAMS[method].batchable;
