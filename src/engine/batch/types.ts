// The messages of the batched explain request (worker method `explainBatch`) and the rows the
// batch runner writes. Pure types: the extension host imports them through the protocol.
import type { CamMethodName, ExplainParams, MapData, Prediction } from '../explainTypes';

/** Everything of ExplainParams except the per-image parts (and `overlay`: a batch always writes them). */
export type BatchBaseParams = Omit<ExplainParams, 'input' | 'method' | 'classIndex' | 'overlay'>;

export interface ExplainBatchParams extends BatchBaseParams {
  inputs: string[];
  /** Every method is computed from the same model run (gradient methods and EigenCAM). */
  methods: CamMethodName[];
  /**
   * Per-input target class (same length as `inputs`); null = the model's top-1. Absent: every
   * input uses `classIndex`, or top-1 when that is absent too.
   */
  classes?: Array<number | null>;
  classIndex?: number;
  /** Images decoded/preprocessed at once (default 4). */
  jobs?: number;
  /** Metric names for the batch metrics hook (see metricsHook.ts). */
  metrics?: string[];
}

export interface BatchMap {
  method: CamMethodName;
  classIndex: number;
  label: string;
  cam: MapData;
  camRaw: MapData;
  overlayPng: Uint8Array;
  /** Filled by the metrics hook when metrics were requested. */
  metrics?: Record<string, number>;
  /**
   * Video models: `cam` is [T, H, W] and `camRaw` [T', h, w] frame-major (height/width are one
   * frame's), `overlayPng` is the per-frame overlay strip; these are the rest of the clip's pictures.
   */
  video?: BatchVideo;
}

export interface BatchVideo {
  frames: number;
  /** Mean map energy per frame, normalised to sum to 1 (engine/video/temporal.ts). */
  temporalWeights: number[];
  animatedGif: Uint8Array;
}

export interface BatchItemTimings {
  /** Decode + resize + normalise of this image. */
  preprocess: number;
  /** This image's share of the batched model run. */
  run: number;
  cam: number;
  overlay: number;
  metrics?: number;
}

export type BatchItem =
  | {
      input: string;
      ok: true;
      layers: string[];
      predictions: Prediction[];
      /** One per method (and per class, for top-k). */
      maps: BatchMap[];
      timings_ms: BatchItemTimings;
      notes?: Record<string, number | string>;
    }
  | { input: string; ok: false; error: { code: string; message: string } };

export interface ExplainBatchResult {
  items: BatchItem[];
  ep: string;
  /** true when the images shared model runs; false when each was explained on its own. */
  batched: boolean;
  /** How many images went into each model run. */
  runSizes: number[];
  timings_ms: { load: number; preprocess: number; run: number; cam: number; overlay: number; total: number };
}

/** One row of summary.csv / summary.json: one image × one method. */
export interface SummaryRow {
  /** Input path relative to the input root (forward slashes). */
  path: string;
  method: CamMethodName;
  status: 'ok' | 'error' | 'resumed';
  predicted_class: number | null;
  predicted_label: string | null;
  predicted_prob: number | null;
  target_class: number | null;
  target_label: string | null;
  /** Ground-truth class from the --ground-truth CSV, when given. */
  ground_truth: number | null;
  layer: string | null;
  ep: string | null;
  preprocess_ms: number | null;
  run_ms: number | null;
  cam_ms: number | null;
  overlay_ms: number | null;
  write_ms: number | null;
  /** Output files' common prefix, relative to the output folder (no extension). */
  output: string | null;
  /** Metric name → value, when metrics were requested (columns `metric:<name>` in the CSV). */
  metrics?: Record<string, number>;
  /** Video models: frames in the clip's map (the row is a clip, its files S.strip.png and S.overlay.gif). */
  frames?: number;
  error: string | null;
}
