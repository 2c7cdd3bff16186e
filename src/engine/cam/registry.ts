// The layer-CAM method table: ids as the CLI and the panel spell them → class and what each
// needs. The pipeline reads it (pipeline/ and batch/ never test a method's id): whether to run
// the gradient model or a forward run with taps, which channel runs make `channelScores`, and
// whether one stacked run serves a batch of images.
import { AblationCam } from './ablationcam';
import type { BaseCam } from './base';
import { EigenCam } from './eigencam';
import { EigenGradCam } from './eigengradcam';
import { GradCam } from './gradcam';
import { GradCamElementWise } from './gradcamElementwise';
import { GradCamPlusPlus } from './gradcamPlusPlus';
import { HiResCam } from './hirescam';
import { LayerCam } from './layercam';
import { ScoreCam } from './scorecam';
import { XGradCam } from './xgradcam';
import { ShapleyCam } from './shapleycam';
import { GuidedBackprop, GuidedGradCam } from './guided';
import type { AttributionKind } from './attribution';
import type { RuleSetName } from '../autodiff/rules/variants';
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
  create: () => BaseCam;
  /** 2: the gradient run also gives H·A, the Hessian-vector product with the activations, at each layer (ShapleyCAM). Default 1. */
  order?: 1 | 2;
  /** The scalar differentiated: the class score (default) or ReST = logit − cross-entropy (ShapleyCAM's recommended target). */
  scoreTarget?: 'logit' | 'rest';
  /** Input-space methods: the rule set the input gradient is built with (autodiff/rules/variants.ts)... */
  ruleVariant?: RuleSetName;
  /** ...and how the attribution (S.attr.npy) is made of it; the method's map is then the attribution's (cam/attribution.ts). */
  attribution?: AttributionKind;
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
  // The batch's stacked run builds first-order, standard-rule gradients only: these go through explain() per image.
  shapleycam: { ...entry('shapleycam', 'ShapleyCAM', true, 'none', true, () => new ShapleyCam()), batchable: false, order: 2, scoreTarget: 'rest' },
  'guided-backprop': {
    ...entry('guided-backprop', 'GuidedBackpropReLUModel', true, 'none', true, () => new GuidedBackprop()),
    batchable: false,
    ruleVariant: 'guided',
    attribution: 'input-gradient',
  },
  'guided-gradcam': {
    ...entry('guided-gradcam', 'GradCAM x GuidedBackpropReLUModel', true, 'none', true, () => new GuidedGradCam()),
    batchable: false,
    ruleVariant: 'guided',
    attribution: 'input-gradient-times-cam',
  },
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
