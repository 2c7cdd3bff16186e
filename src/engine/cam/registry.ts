// The layer-CAM method table: ids as the CLI and the panel spell them → class and what each
// needs. The pipeline reads it (pipeline/ and batch/ never test a method's id): whether to run
// the gradient model or a forward run with taps, which channel runs make `channelScores`, and
// whether one stacked run serves a batch of images.
import { AblationCam } from './ablationcam';
import type { BaseCam } from './base';
import { EigenCam } from './eigencam';
import { DeepFeatureFactorization } from './dff';
import { EigenGradCam } from './eigengradcam';
import { FinerCam } from './finercam';
import { FullGrad } from './fullgrad';
import { Fem } from './fem';
import { GradCam } from './gradcam';
import { GradCamElementWise } from './gradcamElementwise';
import { GradCamPlusPlus } from './gradcamPlusPlus';
import { HiResCam } from './hirescam';
import { KpcaCam } from './kpcacam';
import { LayerCam } from './layercam';
import { RefineCam } from './refinecam';
import { ScoreCam } from './scorecam';
import { SobelCam } from './sobelcam';
import { XGradCam } from './xgradcam';
import { ShapleyCam } from './shapleycam';
import { GuidedBackprop, GuidedGradCam } from './guided';
import type { AttributionKind } from './attribution';
import type { AttributionToMap } from '../attribution/toMap';
import type { RuleSetName } from '../autodiff/rules/variants';
import type { MethodOptionKey } from './methodOptions';
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
  /** The map comes from the picture the model saw, not from a layer (SobelCAM): the pipeline hands it over as `CamInput.picture`. */
  readsPicture?: boolean;
  /**
   * Factorises the layer's activations into concepts and scores each with the model's head
   * (DFF): the pipeline makes `CamInput.concepts` (pipeline/conceptRuns.ts).
   */
  concepts?: boolean;
  create: () => BaseCam;
  /**
   * Which values the maps come from: 'any' (default) the layers given (or the suggested one), one
   * map each; 'several' the same, but the method combines two or more (with one it is its base
   * method: a warning); 'biases' every op output that adds a bias per channel, and the input
   * (FullGrad; --layer is ignored, with a warning).
   */
  layers?: 'any' | 'several' | 'biases';
  /**
   * What is differentiated: 'class' (default) the class score; 'finer' FinerCAM's contrast of the
   * class against similar classes (targets/finer.ts), which needs the logits of a first run.
   */
  target?: 'class' | 'finer';
  /** A method built on another one's map, with the ids it takes (FinerCAM's base_method). */
  base?: { default: LayerCamMethod; create: (base: BaseCam) => BaseCam };
  /** 2: the gradient run also gives H·A, the Hessian-vector product with the activations, at each layer (ShapleyCAM). Default 1. */
  order?: 1 | 2;
  /** The scalar differentiated: the class score (default) or ReST = logit − cross-entropy (ShapleyCAM's recommended target). */
  scoreTarget?: 'logit' | 'rest';
  /** Input-space methods: the rule set the input gradient is built with (autodiff/rules/variants.ts)... */
  ruleVariant?: RuleSetName;
  /** ...and how the attribution (S.attr.npy) is made of it; the method's map is then the attribution's (cam/attribution.ts). */
  attribution?: AttributionKind;
  /** The method-specific options it reads (methodOptions.ts specs them): the panel shows these, and sends only these. */
  options?: readonly MethodOptionKey[];
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
  // One run per image with targets of their own (biases, a contrast of classes, several layers): not stacked.
  fullgrad: { ...entry('fullgrad', 'FullGrad', true, 'none', false, () => new FullGrad()), batchable: false, layers: 'biases' },
  finercam: {
    ...entry('finercam', 'FinerCAM', true, 'none', true, () => new FinerCam()),
    batchable: false,
    target: 'finer',
    base: { default: 'gradcam', create: (base) => new FinerCam(base) },
    options: ['finerClasses', 'finerAlpha'],
  },
  refinecam: { ...entry('refinecam', 'RefineCAM', true, 'none', true, () => new RefineCam()), batchable: false, layers: 'several' },
  kpcacam: { ...entry('kpcacam', 'KPCA_CAM', false, 'none', false, () => new KpcaCam()), options: ['kernel', 'components'] },
  fem: entry('fem', 'FEM', false, 'none', true, () => new Fem()),
  sobelcam: { ...entry('sobelcam', 'sobel_cam', false, 'none', false, () => new SobelCam()), readsPicture: true, batchable: false },
  dff: {
    ...entry('dff', 'DeepFeatureFactorization', false, 'none', false, () => new DeepFeatureFactorization()),
    concepts: true,
    batchable: false,
    options: ['concepts'],
  },
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

/**
 * The method's map maker; for a method built on another (`base`), over `baseId` (default its
 * own default), which must be a gradient method without channel runs or a base of its own.
 */
export function createCamOn(info: LayerCamInfo, baseId: string | undefined): BaseCam {
  if (!info.base) {
    if (baseId !== undefined) throw new CamLensError('BAD_ARGUMENT', `${info.id} is not built on another method; leave out --finer-base.`);
    return info.create();
  }
  const base = layerCam(baseId ?? info.base.default);
  if (!base.needsGradients || base.channelRuns !== 'none' || base.base || base.layers || base.target) {
    const valid = LAYER_CAM_METHODS.filter((id) => {
      const m = LAYER_CAMS[id];
      return m.needsGradients && m.channelRuns === 'none' && !m.base && !m.layers && !m.target;
    });
    throw new CamLensError('BAD_ARGUMENT', `${info.id} cannot be built on ${base.id}; valid bases: ${valid.join(', ')}.`);
  }
  return info.base.create(base.create());
}

/** Whether one stacked run serves N images for `method` (the attention methods: no). */
export const isBatchable = (method: CamMethodName): boolean => isLayerCamMethod(method) && LAYER_CAMS[method].batchable;

export type { AttributionToMap };

export interface InputSpaceInfo {
  id: InputSpaceMethod;
  /** What the pipeline does with it: explain() hands every 'input-space' method to engine/attribution. */
  kind: 'input-space';
  /** Captum's class name (RISE: the paper's). */
  referenceName: string;
  /** Needs d score / d input (the gradient run with the graph input as its only wrt) rather than forward runs. */
  needsGradients: boolean;
  toMap: AttributionToMap;
  /** The method-specific options it reads (methodOptions.ts specs them). */
  options?: readonly MethodOptionKey[];
}

const inputSpace = (id: InputSpaceMethod, referenceName: string, needsGradients: boolean, toMap: AttributionToMap): InputSpaceInfo => ({
  id,
  kind: 'input-space',
  referenceName,
  needsGradients,
  toMap,
});

/** SmoothGrad / VarGrad: the noise, and Integrated Gradients' options when it is the method averaged. */
const NOISE_TUNNEL_OPTIONS: readonly MethodOptionKey[] = ['noiseBase', 'noiseSamples', 'noiseSigma', 'igSteps', 'baseline'];

export const INPUT_SPACE_INFO: Readonly<Record<InputSpaceMethod, InputSpaceInfo>> = {
  saliency: inputSpace('saliency', 'Saliency', true, 'abs-sum'),
  'input-x-gradient': inputSpace('input-x-gradient', 'InputXGradient', true, 'abs-sum'),
  'integrated-gradients': { ...inputSpace('integrated-gradients', 'IntegratedGradients', true, 'abs-sum'), options: ['igSteps', 'baseline'] },
  smoothgrad: { ...inputSpace('smoothgrad', 'NoiseTunnel(smoothgrad)', true, 'abs-sum'), options: NOISE_TUNNEL_OPTIONS },
  vargrad: { ...inputSpace('vargrad', 'NoiseTunnel(vargrad)', true, 'abs-sum'), options: NOISE_TUNNEL_OPTIONS },
  occlusion: { ...inputSpace('occlusion', 'Occlusion', false, 'positive-mean'), options: ['window', 'stride', 'baseline'] },
  rise: { ...inputSpace('rise', 'RISE', false, 'mean'), options: ['masks'] },
};

/** The registry entry of an input-space method, or undefined for any other method. */
export const inputSpaceMethod = (id: string): InputSpaceInfo | undefined =>
  (INPUT_SPACE_METHODS as readonly string[]).includes(id) ? INPUT_SPACE_INFO[id as InputSpaceMethod] : undefined;

/** The method-specific options `method` reads (none for the attention methods). */
export function methodOptionKeys(method: CamMethodName): readonly MethodOptionKey[] {
  return (isLayerCamMethod(method) ? LAYER_CAMS[method].options : inputSpaceMethod(method)?.options) ?? [];
}
