// The messages of the batched explain request (worker method `explainBatch`), the rows the
// batch runner writes, and the job and outcome of a run (runner, merge and summaryFiles share
// them). Types (and two guards on them): the extension host imports them through the protocol.
import type {
  Attribution,
  CamMethodName,
  ConceptExplanation,
  ExplainedTarget,
  ExplainParams,
  ExplainWarning,
  MapData,
  Prediction,
  ScoreKind,
} from '../explainTypes';
import type { ImageGeometry } from '../image/geometry';
import type { ReportedDetection } from '../detection/detections';

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
  /**
   * Where each input's files go: `outputPrefixes[i][m]` is the path (without extension) of input
   * i's files for `methods[m]`. When given, the worker writes the map files itself (outputs.ts
   * writeMapFiles) and answers with written maps (WrittenBatchMap): the maps and pictures never
   * cross IPC (at batch 16 on ResNet-50 224², serialising them and joining the chunks on the
   * other side cost ~7 ms per image, a third of the model's own time). S.json stays the caller's.
   */
  outputPrefixes?: string[][];
}

export interface BatchMap {
  method: CamMethodName;
  classIndex: number;
  label: string;
  cam: MapData;
  /** Image files: the map on the original image (S.cam_image.npy); the overlay is drawn on that picture. */
  camImage?: MapData;
  camRaw: MapData;
  overlayPng: Uint8Array;
  /** Input-space methods: the attribution [C, H, W] (S.attr.npy). */
  attribution?: Attribution;
  /** dff: every concept of the first layer (S.concepts.npy, and S.json's `concepts`); `cam` is the chosen one's. */
  concepts?: ConceptExplanation;
  /** Filled by the metrics hook when metrics were requested. */
  metrics?: Record<string, number>;
  /** The scalar explained (an element of a value, a detection's score, a similarity...), when not a plain class. */
  target?: ExplainedTarget;
  /** Detectors: the detection this map explains (its place in the item's `detections`). */
  detection?: number;
  /**
   * Video models: `cam` is [T, H, W] and `camRaw` [T', h, w] frame-major (height/width are one
   * frame's), `overlayPng` is the per-frame overlay strip; these are the rest of the clip's pictures.
   */
  video?: BatchVideo;
}

/** A map whose files the worker already wrote (ExplainBatchParams.outputPrefixes): what S.json and the summary rows need of it. */
export type WrittenBatchMap = Omit<BatchMap, 'cam' | 'camImage' | 'camRaw' | 'overlayPng' | 'attribution' | 'video' | 'concepts'> & {
  written: true;
  video?: Omit<BatchVideo, 'animatedGif'>;
  concepts?: Omit<ConceptExplanation, 'maps'>;
};

/** A batch item's map: with its data (written by the batch runner), or already on disk. */
export type AnyBatchMap = BatchMap | WrittenBatchMap;

export const isWritten = (m: AnyBatchMap): m is WrittenBatchMap => 'written' in m;

/** The map with its data: a request without outputPrefixes answers with these. */
export function withData(m: AnyBatchMap): BatchMap {
  if (isWritten(m)) throw new Error(`the ${m.method} map was written to disk by the worker; its data did not come back`);
  return m;
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
  /** The worker's writing of this image's map files (ExplainBatchParams.outputPrefixes). */
  write?: number;
}

export type BatchItem =
  | {
      input: string;
      ok: true;
      layers: string[];
      predictions: Prediction[];
      /** One per method (and per class, for top-k); written ones when the request gave outputPrefixes. */
      maps: AnyBatchMap[];
      timings_ms: BatchItemTimings;
      notes?: Record<string, number | string>;
      scoreKind?: ScoreKind;
      /** Probably meaningless maps, with their likely causes (S.json `warnings`, stderr). */
      warnings?: ExplainWarning[];
      /** Image files: how preprocessing mapped the original onto the model input. */
      geometry?: ImageGeometry;
      /** Methods that failed on this image while others did not (their rows are errors). */
      methodErrors?: Array<{ method: CamMethodName; code: string; message: string }>;
      /** Detectors: every detection after NMS, best first (boxes in original pixels). */
      detections?: ReportedDetection[];
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
  /**
   * Detectors: the row is one detection (an image has a row per detection explained, --box all):
   * its place in S.json's `detections` (0 = the best), score and box in original image pixels.
   * Its class is target_class/target_label.
   */
  box?: number;
  box_score?: number;
  box_x0?: number;
  box_y0?: number;
  box_x1?: number;
  box_y1?: number;
  error: string | null;
}

export type BatchTarget = { kind: 'top1' } | { kind: 'class'; index: number } | { kind: 'ground-truth' };

export interface BatchJob {
  modelPath: string;
  /** Folders (recursive), globs or files. */
  inputs: string[];
  outDir: string;
  methods: CamMethodName[];
  /** Explain options shared by every image (layers, colormap, provider...). */
  params?: Omit<BatchBaseParams, 'modelPath'>;
  target?: BatchTarget;
  /** CSV `file,label`: the ground_truth column, and the target when target is 'ground-truth'. */
  groundTruthCsv?: string;
  /** Class names, to read label names in the ground-truth CSV. */
  labels?: string[];
  /** Images per model run (default by model size). */
  batchSize?: number;
  /** Images decoded at once in the worker. */
  jobs?: number;
  /** Batches in flight (default 2: one runs while the other is decoded/written). */
  inflight?: number;
  shard?: { index: number; count: number };
  resume?: boolean;
  exclude?: string[];
  metrics?: string[];
  /** Write report.html (default true). */
  report?: boolean;
  /**
   * The model takes clips ([B, C, T, H, W]; clipInputs.takesClips): inputs are listed as clips
   * (folders of frames, animations, .npy) instead of one input per image file.
   */
  clips?: boolean;
}

export interface BatchProgress {
  done: number;
  total: number;
  failed: number;
  resumed: number;
  imagesPerSecond: number;
  etaSeconds: number | undefined;
}

export interface BatchOutcome {
  outDir: string;
  total: number;
  /** Images explained in this run (ok or error), not counting resumed ones. */
  done: number;
  failed: number;
  resumed: number;
  cancelled: boolean;
  elapsedMs: number;
  imagesPerSecond: number;
  /**
   * Images per second between the completions that took the run to 10 % and to 90 % of its
   * images (runner.ts: steadyWindow): the rate without the start-up (model load, backward graph,
   * session creation) or the drain at the end, comparable with a warm forward-only throughput.
   */
  steadyImagesPerSecond?: number;
  batchSize: number;
  batched: boolean;
  /** Rows written (image × method, × detection for a detector). The rows themselves are in the files, never in memory. */
  rowCount: number;
  /**
   * The rows, read back from summary.json at each access (tests, small runs; a getter, not
   * enumerable): the outcome holds none, so a 100,000-image run costs what a 100-image one does.
   */
  readonly rows: SummaryRow[];
  /** journal: summary.jsonl, the rows in finishing order (absent for a merge). */
  files: { summaryCsv: string; summaryJson: string; report?: string; journal?: string };
}

export type BatchBackend = (params: ExplainBatchParams, signal: AbortSignal) => Promise<ExplainBatchResult>;
