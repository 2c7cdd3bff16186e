// Messages between the CamLens webviews and the extension host. Type-only: both sides import it;
// the host validates every message it receives (parseFromWebview) before using it.
import type { CamMethodName, LeakCheckReport, ModelSummary, Prediction, TapReadout, TelemetrySample, TelemetrySnapshot } from '../src/worker/protocol';

export type SessionRow = TelemetrySnapshot['sessions'][number];

/** What the Metrics section shows of an `evaluate` result. */
export interface MetricsView {
  requestId: number;
  method: string;
  layers: string[];
  classIndex: number;
  label: string;
  input: string;
  ep: string;
  metrics: Record<string, number>;
  curves: { deletion?: number[]; insertion?: number[]; random_deletion?: number[]; random_insertion?: number[] };
  groundTruth: string | null;
  ms: number;
}

/** A leak-check report without its measured series (the panel shows the verdicts). */
export type LeakReportView = Omit<LeakCheckReport, 'scenarios'> & { scenarios: Array<Omit<LeakCheckReport['scenarios'][number], 'series'>> };

export type ViewMode = 'overlay' | 'side-by-side' | 'heatmap';
export type Colormap = 'jet' | 'turbo' | 'viridis' | 'inferno';

/** What the panel remembers (webview state; the serializer restores the panel from it). */
export interface CamPanelState {
  modelPath: string;
  images: string[];
  imageIndex: number;
  method: CamMethodName;
  layer?: string;
  classIndex?: number;
  augSmooth: boolean;
  multiScale: boolean;
  colormap: Colormap;
  alpha: number;
  mode: ViewMode;
  zoom: number;
}

export interface ExplainView {
  requestId: number;
  method: CamMethodName;
  layers: string[];
  classIndex: number;
  label: string;
  predictions: Prediction[];
  image: { data: Uint8Array; width: number; height: number };
  cam: { data: Float32Array; width: number; height: number };
  camRaw: { width: number; height: number };
  ep: string;
  timings: Record<string, number>;
  notes: Record<string, number | string>;
  /** Video models: `cam.data` is then [T, h, w] frame-major and `image` is frame 0. */
  video?: VideoView;
}

/** A clip's frames and temporal weights, for the panel's frame slider and strip. */
export interface VideoView {
  count: number;
  /** Every preprocessed frame's RGB, frame-major [T, H, W, 3] (H, W: `image`'s). */
  frames: Uint8Array;
  /** Mean map energy per frame, normalised to sum to 1. */
  temporalWeights: number[];
}

export type HostToWebview =
  | { type: 'init'; state: CamPanelState; methods: readonly CamMethodName[]; layerChoices: Array<{ value: string; label: string }>; imageNames: string[]; trusted: boolean }
  | { type: 'layerChoices'; layerChoices: Array<{ value: string; label: string }>; layer?: string }
  | { type: 'busy'; requestId: number; what: string }
  | { type: 'progress'; requestId: number; done: number; total: number; message?: string }
  | { type: 'result'; view: ExplainView }
  | { type: 'error'; requestId: number; message: string; code?: string }
  | { type: 'cancelled'; requestId: number }
  | { type: 'notice'; text: string; level: 'info' | 'warning' }
  | { type: 'tapStats'; taps: TapReadout[]; note: string }
  | { type: 'summary'; summary: ModelSummary; suggestion: string | null; layerCount: number; ops: Array<[string, number]> }
  | { type: 'summaryError'; message: string }
  | { type: 'telemetry'; samples: TelemetrySample[]; reset: boolean; intervalMs?: number }
  | { type: 'telemetryStopped'; reason: string }
  | { type: 'sessions'; sessions: SessionRow[]; pid: number; sample: TelemetrySample }
  | { type: 'leakReport'; report: LeakReportView | null; running?: string }
  | { type: 'memoryNote'; text: string }
  | { type: 'metricsBusy'; requestId: number; what: string }
  | { type: 'metricsProgress'; requestId: number; done: number; total: number; message?: string }
  | { type: 'metrics'; view: MetricsView }
  | { type: 'metricsError'; requestId: number; message: string; cancelled: boolean };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'explain'; method?: CamMethodName; layer?: string; classIndex?: number | null; imageIndex?: number; augSmooth?: boolean; multiScale?: boolean }
  | { type: 'cancel' }
  | { type: 'chooseLayerInTree' }
  | { type: 'saveOverlay' }
  | { type: 'saveNpy' }
  /** Video models: the animated overlay (GIF). */
  | { type: 'saveGif' }
  | { type: 'savePng'; png: Uint8Array; name: string }
  | { type: 'ui'; colormap: Colormap; alpha: number; mode: ViewMode; zoom: number }
  | { type: 'openTree' }
  | { type: 'explainModel' }
  | { type: 'releaseAll' }
  | { type: 'leakCheck' }
  | { type: 'heapSnapshot' }
  | { type: 'computeMetrics' }
  | { type: 'cancelMetrics' };
