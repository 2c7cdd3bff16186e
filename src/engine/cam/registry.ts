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
import { CamLensError, closestNames } from '../errors';
import { INPUT_SPACE_METHODS, LAYER_CAM_METHODS, type CamMethodName, type InputSpaceMethod, type LayerCamMethod } from '../explainTypes';

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

/**
 * How an input-space attribution [C, H, W] becomes the [H, W] map (engine/attribution/toMap.ts):
 * 'abs-sum' |a| summed over channels (gradients: their sign flips with the input's colour, the
 * magnitude is the evidence); 'positive-mean' the channel mean, ReLU (occlusion: only score drops
 * are evidence for the class); 'mean' the channel mean as is (RISE: an expected score, offset-free).
 */
export type AttributionToMap = 'abs-sum' | 'positive-mean' | 'mean';

export interface InputSpaceInfo {
  id: InputSpaceMethod;
  /** What the pipeline does with it: explain() hands every 'input-space' method to engine/attribution. */
  kind: 'input-space';
  /** Captum's class name (RISE: the paper's). */
  referenceName: string;
  /** Needs d score / d input (the gradient run with the graph input as its only wrt) rather than forward runs. */
  needsGradients: boolean;
  toMap: AttributionToMap;
}

const inputSpace = (id: InputSpaceMethod, referenceName: string, needsGradients: boolean, toMap: AttributionToMap): InputSpaceInfo => ({
  id,
  kind: 'input-space',
  referenceName,
  needsGradients,
  toMap,
});

export const INPUT_SPACE_INFO: Readonly<Record<InputSpaceMethod, InputSpaceInfo>> = {
  saliency: inputSpace('saliency', 'Saliency', true, 'abs-sum'),
  'input-x-gradient': inputSpace('input-x-gradient', 'InputXGradient', true, 'abs-sum'),
  'integrated-gradients': inputSpace('integrated-gradients', 'IntegratedGradients', true, 'abs-sum'),
  smoothgrad: inputSpace('smoothgrad', 'NoiseTunnel(smoothgrad)', true, 'abs-sum'),
  vargrad: inputSpace('vargrad', 'NoiseTunnel(vargrad)', true, 'abs-sum'),
  occlusion: inputSpace('occlusion', 'Occlusion', false, 'positive-mean'),
  rise: inputSpace('rise', 'RISE', false, 'mean'),
};

/** The registry entry of an input-space method, or undefined for any other method. */
export const inputSpaceMethod = (id: string): InputSpaceInfo | undefined =>
  (INPUT_SPACE_METHODS as readonly string[]).includes(id) ? INPUT_SPACE_INFO[id as InputSpaceMethod] : undefined;
