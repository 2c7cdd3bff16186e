// What an explanation takes and gives: the pipeline's contract, shared by the engine, the worker
// protocol (which re-exports it), the CLI and the panel. Plain data only, but for ExplainContext:
// what the engine's caller lends an explanation (the worker's sessions, its cancellation).
import type { ProviderAttempt, ProviderOptions } from './runtime/providers';
import type { SessionCache } from './runtime/sessions';
import type { PlainTensor } from './runtime/tapRunner';
import type { ColormapName } from './image/colormap';
import type { Detection } from './detection/detections';
import type { Box, YoloLayout } from './detection/yolo';
import type { ImageGeometry } from './image/geometry';
import type { ExplainedTarget, TargetSpec } from './targets/spec';
import type { ClassRegion, DenseLayout } from './targets/dense';
import type { SequenceLayout } from './targets/ctc';
import type { KpcaKernel } from './cam/kernelPca';

export type { Box, ClassRegion, DenseLayout, Detection, ExplainedTarget, SequenceLayout, TargetSpec, YoloLayout };

/** Sequence (CTC) outputs [T, N, C] / [N, T, C]: what is explained. */
export interface SequenceTargetParams {
  /** The label sequence scored (symbol indices); default: the greedy-decoded one. */
  labels?: number[];
  /** Explain one time step: the score of its best symbol (or of `classIndex`); default: the whole sequence. */
  step?: number;
  /** The blank symbol (default 0). */
  blank?: number;
  /** Default: from the shape (the axis that is a batch of 1). */
  layout?: SequenceLayout;
}

/** What a sequence output read: the best path, its greedy decoding, and the decoding as text when labels are known. */
export interface SequenceReading {
  layout: SequenceLayout;
  path: number[];
  decoded: number[];
  text?: string;
}

/** The layer-CAM methods: one class each in engine/cam, whose registry says what each needs. */
export const LAYER_CAM_METHODS = [
  'gradcam',
  'hirescam',
  'gradcam-elementwise',
  'gradcam++',
  'xgradcam',
  'layercam',
  'eigencam',
  'eigengradcam',
  'scorecam',
  'ablationcam',
  'fullgrad',
  'finercam',
  'refinecam',
  'kpcacam',
  'fem',
  'sobelcam',
  'dff',
  'shapleycam',
  'guided-backprop',
  'guided-gradcam',
] as const;
export type LayerCamMethod = (typeof LAYER_CAM_METHODS)[number];

/** The attention methods (engine/transformer): the rollout map alone, or Grad-CAM guided by it. */
export const ATTENTION_METHODS = ['attention-rollout', 'attention-gradcam'] as const;
export type AttentionMethod = (typeof ATTENTION_METHODS)[number];

/**
 * The input-space attributions (engine/attribution): d score / d input or perturbations of the
 * input, one value per input element ([C, H, W]) rather than a map at a layer.
 */
export const INPUT_SPACE_METHODS = ['saliency', 'input-x-gradient', 'integrated-gradients', 'smoothgrad', 'vargrad', 'occlusion', 'rise'] as const;
export type InputSpaceMethod = (typeof INPUT_SPACE_METHODS)[number];

/** The gradient methods SmoothGrad / VarGrad average over noisy copies of the input (`--base`). */
export const NOISE_TUNNEL_BASES = ['saliency', 'input-x-gradient', 'integrated-gradients'] as const;
export type NoiseTunnelBase = (typeof NOISE_TUNNEL_BASES)[number];

/** Integrated Gradients / Occlusion reference input: named kinds, or a file (an image or a preprocessed .npy). */
export const ATTRIBUTION_BASELINES = ['black', 'blur', 'noise'] as const;
export type AttributionBaseline = (typeof ATTRIBUTION_BASELINES)[number] | { file: string };

/** Every method `explain` takes, as the CLI and the panel spell it. */
export type CamMethodName = LayerCamMethod | AttentionMethod | InputSpaceMethod;
export const CAM_METHODS: readonly CamMethodName[] = [...LAYER_CAM_METHODS, ...ATTENTION_METHODS, ...INPUT_SPACE_METHODS];

export type { ColormapName } from './image/colormap';

export interface ExplainParams {
  modelPath: string;
  /** An image file, or a .npy holding the preprocessed input tensor. */
  input: string;
  method?: CamMethodName;
  /** CAM layers (value names); default: the suggested layer. */
  layers?: string[];
  /** Target class; default: top-1. Detectors: the best detection of this class (with `boxXyxy`: the one overlapping it best). */
  classIndex?: number;
  /**
   * Any scalar of any value as the target: one element, the largest, or the sum (engine/targets).
   * Overrides classIndex/topk and the detector's boxes.
   */
  target?: TargetSpec;
  /** Detectors (raw YOLO heads): the N-th detection (best first) is the target; default 0. */
  box?: number;
  /** Detectors: the detection of class `classIndex` that overlaps this box (original image pixels) best. */
  boxXyxy?: Box;
  /** Detectors: confidence threshold (default 0.25) and class-wise NMS IoU threshold (default 0.45). */
  conf?: number;
  iou?: number;
  /** Detectors: the output layout when the shape alone does not tell (default: from the shape). */
  detector?: YoloLayout;
  /** One map per each of the top-k classes (overrides classIndex). */
  topk?: number;
  /** For multi-output models: the output that holds the scores. */
  output?: string;
  /** Softmax probability as the target instead of the raw logit. */
  softmaxTarget?: boolean;
  /**
   * Segmentation outputs [N, K, h, w]: the target is the class channel summed over this mask
   * image (non-zero = inside); the whole image when absent.
   */
  regionMask?: string;
  /**
   * Dense outputs: `predicted` makes each class's region the pixels predicted as it (argmax over
   * the classes), inside `regionMask` when given; `all` (default): all of `regionMask`.
   */
  region?: 'all' | 'predicted';
  /** Dense outputs: where the classes are when the shape does not tell (default: from the shape). */
  denseLayout?: DenseLayout;
  /**
   * Similarity to a concept: the target is the cosine similarity of `embeddingValue` (default: the
   * score output) to this reference: a .npy vector, or an image whose embedding by the same model is used.
   */
  embedding?: string;
  embeddingValue?: string;
  /** Sequence (CTC) outputs: the target is a label sequence's log-likelihood, or one time step. */
  sequence?: SequenceTargetParams;
  /** Detectors: explain every detection (one map each). */
  allBoxes?: boolean;
  scales?: number[];
  scaleWeights?: number[];
  eigenSmooth?: boolean;
  augSmooth?: boolean;
  /** kpcacam: the kernel (default sigmoid) and how many components are summed into the map (default 1). */
  kernel?: KpcaKernel;
  components?: number;
  /** dff: how many concepts the activations are factorised into (default 5). */
  concepts?: number;
  /** Score-CAM / Ablation-CAM batch size. */
  batchSize?: number;
  /**
   * Score-CAM: run only the N channels of largest activation variance (Faster Score-CAM); the
   * others get no weight. Approximate (S.json's notes say so); default: every channel, exact.
   */
  scorecamChannels?: number;
  configPath?: string;
  labelsPath?: string;
  colormap?: ColormapName;
  alpha?: number;
  /**
   * Encode each map's overlay PNG (default true). The panel draws overlays itself (its colormap
   * and opacity change without a round trip) and asks for none: blending and encoding are most
   * of an explanation's cost after the model run. Video explanations always carry their pictures.
   */
  overlay?: boolean;
  /**
   * Return the pictures the maps are drawn on (default true): `image`, `original.picture` and a
   * clip's `frames`. A caller that only writes files (the CLI) says false: they are the largest
   * part of the answer (a photo's original is megabytes) and would be copied over IPC for nothing.
   */
  pictures?: boolean;
  /**
   * The `inputIdentity` of an earlier answer whose pictures the caller keeps (the panel): when this
   * request's input is still that one, the answer leaves its pictures out, as with `pictures: false`.
   * The worker decides, from the stat it takes anyway for its input cache (pipeline/inputCache.ts),
   * so the caller stats nothing and a file replaced in place (new inode or ctime) is never taken
   * for the old one.
   */
  picturesHeld?: string;
  /**
   * 'layer' (the panel): a map that is its layer's map upsampled (Explanation.mapAtLayer) travels
   * at the layer's size: the answer leaves out `cam` and `camImage`, and the receiver rebuilds them
   * from `camRaw` (engine/cam/layerMap.ts) where it draws them. A ResNet-50 512² map is 1 MB at the
   * input's size, 1 KB at the layer's, and a photo's `camImage` tens of MB. Default 'input'.
   */
  mapsAt?: 'input' | 'layer';
  /** Return the layer's activation and gradient tensors too. */
  saveTensors?: boolean;
  provider?: ProviderOptions;
  /** finercam: the comparison classes (default: the 3 whose logits are closest to the target's). */
  finerClasses?: number[];
  /** finercam: how strongly the comparison classes' logits are subtracted (default 1). */
  finerAlpha?: number;
  /** finercam: the method whose map is made of the contrast target's gradients (default gradcam). */
  finerBase?: LayerCamMethod;
  /** attention-rollout / attention-gradcam: how heads are fused (default mean). */
  headFusion?: 'mean' | 'max' | 'min';
  /** attention-rollout / attention-gradcam: fraction of the lowest attentions dropped per layer (default 0). */
  discardRatio?: number;
  /**
   * Video models ([B, C, T, H, W] input): frames sampled uniformly from the clip when the model's
   * T is not fixed (default: all frames, up to 64). `input` is then a folder of frames, an
   * animated GIF/WebP, a .txt list of image paths (one a line) or image paths joined by commas.
   */
  frames?: number;
  /** Input-space methods (engine/attribution; defaults there): Integrated Gradients' path steps. */
  igSteps?: number;
  /** Integrated Gradients and Occlusion: the reference input (default black). */
  baseline?: AttributionBaseline;
  /** Occlusion: the square patch's side and its step, in model-input pixels. */
  window?: number;
  stride?: number;
  /** RISE: the number of random masks. */
  masks?: number;
  /** SmoothGrad / VarGrad: the gradient method averaged, the noisy copies, and σ as a fraction of the input's range. */
  noiseBase?: NoiseTunnelBase;
  noiseSamples?: number;
  noiseSigma?: number;
  /** RISE masks and noise (SmoothGrad, VarGrad, the noise baseline): the seed of every draw (default 0). */
  seed?: number;
  /**
   * Also each CAM layer's own final map (Explanation.layerCams), from the same model run: what
   * explaining each layer alone would give (the layer sweep). Not with aug-smooth, multi-scale
   * fusion or attention-gradcam.
   */
  layerMaps?: boolean;
}

export interface Prediction {
  index: number;
  label: string;
  score: number;
  prob: number;
}

/**
 * What the output's scores are: 'logits' (prob = their softmax) or 'probabilities' (a Softmax
 * or Sigmoid output, or rows in [0, 1] summing to 1: prob = score, never soft-maxed again).
 */
export type ScoreKind = 'logits' | 'probabilities';

/** A result that is probably meaningless, and why (pipeline/warnings.ts). */
export interface ExplainWarning {
  code: string;
  message: string;
  /** A batch's warnings name the method they are about (each method has its own S.json). */
  method?: CamMethodName;
}

export interface MapData {
  data: Float32Array;
  height: number;
  width: number;
}

export interface Explanation {
  /** The class explained (a detection's class; -1 for an element of a value that is not class scores). */
  classIndex: number;
  label: string;
  /** The scalar explained: its value, element index and score. */
  target?: ExplainedTarget;
  /** Detectors: the detection explained, as its place in ExplainResult.detections (0 = the best). */
  detection?: number;
  /** The final map in [0,1] at the model's input resolution. */
  cam: MapData;
  /**
   * Image inputs: `cam` mapped back through the preprocessing onto the original image (its size
   * and aspect); NaN where a centre crop cut the image away (the model never saw it).
   */
  camImage?: MapData;
  /** First layer's map at layer resolution after ReLU, before normalisation/upsampling. */
  camRaw: MapData;
  /**
   * Set when `cam` is `camRaw` upsampled to this size by layerMapAt (one layer, combined as
   * pytorch-grad-cam does, nothing fused after it) and `camImage` that map on the original: both
   * can be rebuilt from `camRaw` (engine/cam/layerMap.ts), so a `mapsAt: 'layer'` answer leaves them out.
   */
  mapAtLayer?: { height: number; width: number };
  /** The heatmap over the original image (a .npy input: the preprocessed one); absent when the request said `overlay: false`. */
  overlayPng?: Uint8Array;
  /**
   * Input-space methods (guided backprop, guided Grad-CAM, engine/attribution/): the attribution
   * [C, H, W] at the model's input size, planar whatever the model's layout (S.attr.npy); `cam` is
   * then its map (engine/attribution/toMap.ts).
   */
  attribution?: Attribution;
  /** With saveTensors: the first layer's activation and gradient in the model's layout. */
  activation?: PlainTensor;
  gradient?: PlainTensor;
  /** dff: every concept of the first layer (S.cam.npy is the one of them that best explains the class). */
  concepts?: ConceptExplanation;
  /**
   * Video models only. Then `cam.data` holds T maps [T, H, W] frame-major (T = input frames) and
   * `camRaw.data` T' maps [T', h, w] at the layer's own time resolution (T' = length / (h·w);
   * T' < T after temporal striding); the maps are normalised over the whole clip, so a quiet
   * frame stays dim. `overlayPng` is the per-frame overlay strip (T frames left to right).
   */
  video?: VideoExplanation;
  /** Facts about this attribution (Integrated Gradients: the completeness gap and its terms). */
  attributionStats?: Record<string, number>;
  /** With `layerMaps`: each layer's final map at the model's input size, and its map's size at the layer. */
  layerCams?: Array<{ layer: string; cam: MapData; rawHeight: number; rawWidth: number }>;
}

export interface ConceptExplanation {
  layer: string;
  /** K maps [K, H, W] at the input size, each min-max normalised (pytorch-grad-cam's DFF explanations). */
  maps: MapData;
  count: number;
  /** Per concept, its best classes under the model's head (softmax probability), best first. */
  topClasses: { index: number; label: string; prob: number }[][];
  /** The concept shown as `cam`: the one giving this explanation's class the highest probability. */
  chosen: number;
}

/** An input-space attribution: [C, H, W] channel-major at the model's input size (S.attr.npy). */
export interface Attribution {
  data: Float32Array;
  dims: [number, number, number];
}

export interface VideoExplanation {
  frames: number;
  /** Mean energy of the final map per frame (T values, clip order), divided by their sum. */
  temporalWeights: number[];
  /** One overlay PNG per frame (what a frame slider shows). */
  frameOverlaysPng: Uint8Array[];
  /** The overlay as an animated GIF (all frames, looping). */
  animatedGif: Uint8Array;
}

export interface ExplainResult {
  model: string;
  input: string;
  method: CamMethodName;
  layers: string[];
  /** Class models: the top classes. Detectors: the best detections as (class, score). Others: empty. */
  predictions: Prediction[];
  explanations: Explanation[];
  /** Detectors: every detection after NMS, best first. */
  detections?: Detection[];
  /** Dense outputs with `region: 'predicted'`: the classes predicted, the largest region first. */
  regions?: ClassRegion[];
  /** Sequence outputs: the best path and its decoding. */
  sequence?: SequenceReading;
  /** The preprocessed-size RGB image the model saw (video: the first frame); absent when the request said `pictures: false`. */
  image?: { data: Uint8Array; width: number; height: number };
  /**
   * Image inputs: the decoded original picture the overlay is drawn on (absent when the request
   * said `pictures: false`), and how preprocessing mapped it to `image`.
   */
  original?: { picture?: { data: Uint8Array; width: number; height: number }; geometry: ImageGeometry };
  scoreKind: ScoreKind;
  /** Probably meaningless results, with their likely causes (empty when none). */
  warnings: ExplainWarning[];
  /** Video models: every preprocessed frame (RGB), in clip order; `image` is frames[0]. Absent when the request said `pictures: false`. */
  frames?: { data: Uint8Array; width: number; height: number }[];
  /**
   * What the pictures were made from (the file's identity on disk, the model input and the
   * preprocessing), for a later request's `picturesHeld`; absent for inputs that are not kept (clips).
   */
  inputIdentity?: string;
  ep: string;
  fallbacks: readonly ProviderAttempt[];
  /** `session`: waiting for onnxruntime sessions to be built (cold start), apart from `run`. */
  timings_ms: { load: number; preprocess: number; session: number; run: number; cam: number; total: number };
  /** Extra facts (e.g. Score-CAM channels skipped). */
  notes: Record<string, number | string>;
}

/** What the caller lends an explanation: the session cache, a cancellation signal, a progress sink. */
export interface ExplainContext {
  sessions: SessionCache;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

/** An explanation as a `mapsAt: 'layer'` answer carries it: `cam` absent when `mapAtLayer` (rebuild it with withFullMaps). */
export type AnswerExplanation = Omit<Explanation, 'cam'> & { cam?: MapData };

/** The worker's answer to `explain`: an ExplainResult whose layer-sized maps may travel at the layer's size. */
export type ExplainAnswer = Omit<ExplainResult, 'explanations'> & { explanations: AnswerExplanation[] };
