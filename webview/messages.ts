// Messages between the CamLens webviews and the extension host. Type-only: both sides import it;
// the host validates every message it receives (parseFromWebview) before using it.
import type { CamMethodName, ModelSummary, Prediction, TapReadout } from '../src/worker/protocol';

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
  | { type: 'summaryError'; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'explain'; method?: CamMethodName; layer?: string; classIndex?: number | null; imageIndex?: number; augSmooth?: boolean; multiScale?: boolean }
  | { type: 'cancel' }
  | { type: 'chooseLayerInTree' }
  | { type: 'saveOverlay' }
  | { type: 'saveNpy' }
  | { type: 'savePng'; png: Uint8Array; name: string }
  | { type: 'ui'; colormap: Colormap; alpha: number; mode: ViewMode; zoom: number }
  | { type: 'openTree' }
  | { type: 'explainModel' };
