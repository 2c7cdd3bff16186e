// What an explanation takes and gives: the pipeline's contract, shared by the engine, the worker
// protocol (which re-exports it), the CLI and the panel. Plain data only.
import type { ProviderAttempt, ProviderOptions } from './runtime/providers';
import type { PlainTensor } from './runtime/tapRunner';

export type CamMethodName =
  | 'gradcam' | 'hirescam' | 'gradcam-elementwise' | 'gradcam++' | 'xgradcam'
  | 'layercam' | 'eigencam' | 'eigengradcam' | 'scorecam' | 'ablationcam';

export const CAM_METHODS: readonly CamMethodName[] = [
  'gradcam', 'hirescam', 'gradcam-elementwise', 'gradcam++', 'xgradcam', 'layercam', 'eigencam', 'eigengradcam', 'scorecam', 'ablationcam',
];

export type ColormapChoice = 'jet' | 'turbo' | 'viridis' | 'inferno';

export interface ExplainParams {
  modelPath: string;
  /** An image file, or a .npy holding the preprocessed input tensor. */
  input: string;
  method?: CamMethodName;
  /** CAM layers (value names); default: the suggested layer. */
  layers?: string[];
  /** Target class; default: top-1. */
  classIndex?: number;
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
  scales?: number[];
  scaleWeights?: number[];
  eigenSmooth?: boolean;
  augSmooth?: boolean;
  /** Score-CAM / Ablation-CAM batch size. */
  batchSize?: number;
  configPath?: string;
  labelsPath?: string;
  colormap?: ColormapChoice;
  alpha?: number;
  /** Return the layer's activation and gradient tensors too. */
  saveTensors?: boolean;
  provider?: ProviderOptions;
}

export interface Prediction {
  index: number;
  label: string;
  score: number;
  prob: number;
}

export interface MapData {
  data: Float32Array;
  height: number;
  width: number;
}

export interface Explanation {
  classIndex: number;
  label: string;
  /** The final map in [0,1] at the model's input resolution. */
  cam: MapData;
  /** First layer's map at layer resolution after ReLU, before normalisation/upsampling. */
  camRaw: MapData;
  overlayPng: Uint8Array;
  /** With saveTensors: the first layer's activation and gradient in the model's layout. */
  activation?: PlainTensor;
  gradient?: PlainTensor;
}

export interface ExplainResult {
  model: string;
  input: string;
  method: CamMethodName;
  layers: string[];
  predictions: Prediction[];
  explanations: Explanation[];
  /** The preprocessed-size RGB image the overlay is drawn on. */
  image: { data: Uint8Array; width: number; height: number };
  ep: string;
  fallbacks: readonly ProviderAttempt[];
  timings_ms: { load: number; preprocess: number; run: number; cam: number; total: number };
  /** Extra facts (e.g. Score-CAM channels skipped). */
  notes: Record<string, number | string>;
}
