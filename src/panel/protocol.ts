// Every message between the extension host and the CamLens webviews (the CAM panel and the model
// summary), and the validator of what a webview sends. Both sides import this module; it imports
// neither (only the worker protocol's types and the pure colormap list).
//
// One owner per piece of state: the host owns what the panel explains (ExplainState) and pushes
// it; the webview sends intents (setMethod, setLayer, …) and owns only how the result is shown
// (ViewSettings), which never travels to the host except inside a save intent.
import { COLORMAPS, type ColormapName } from '../engine/image/colormap';
import type { ImageGeometry } from '../engine/image/geometry';
import { mapFromLayer } from '../engine/cam/layerMap';
import {
  isMethodOptionKey,
  METHOD_OPTION_KEYS,
  methodOptionProblem,
  validMethodOptions,
  type MethodOptionKey,
  type MethodOptionValues,
} from '../engine/cam/methodOptions';
import {
  CAM_METHODS,
  type CamMethodName,
  type LeakCheckReport,
  type ModelSummary,
  type Prediction,
  type TapReadout,
  type TelemetrySample,
  type TelemetrySnapshot,
} from '../worker/protocol';

export type { CamMethodName, ColormapName, MethodOptionKey, MethodOptionValues, ModelSummary, Prediction, TapReadout, TelemetrySample };
// Pure helpers the webview shows results with (it imports engine/ through this module only).
export { LOWER_IS_BETTER } from '../engine/metrics/direction';
export { shortLayerName } from '../engine/shapeText';
// The method options' specs: the webview's Options inputs and this module's validation read the same table.
export { METHOD_OPTION_SPECS, methodOptionProblem, type MethodOptionSpec } from '../engine/cam/methodOptions';

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

export const VIEW_MODES = ['overlay', 'side-by-side', 'heatmap'] as const;
export type ViewMode = (typeof VIEW_MODES)[number];

/** What the panel explains. The host's; the webview shows it and keeps a copy for the serializer. */
export interface ExplainState {
  modelPath: string;
  images: string[];
  imageIndex: number;
  method: CamMethodName;
  layer?: string;
  classIndex?: number;
  /** Detectors: the detection explained, its place in the detections (0 = the best; the default). */
  box?: number;
  augSmooth: boolean;
  multiScale: boolean;
  /** Method-specific options the user set (absent: the method's default); a request carries those its method reads. */
  options?: MethodOptionValues;
}

/** How the panel shows a result. The webview's (kept in its state across reloads). */
export interface ViewSettings {
  colormap: ColormapName;
  alpha: number;
  mode: ViewMode;
  /** 0 = fit to the panel's width. */
  zoom: number;
}

/** The CAM webview's persisted state: the serializer revives the panel from `host`. */
export interface PersistedPanel {
  host?: ExplainState;
  view?: ViewSettings;
}

export interface LayerChoice {
  value: string;
  label: string;
}

export interface ExplainView {
  requestId: number;
  method: CamMethodName;
  layers: string[];
  classIndex: number;
  label: string;
  predictions: Prediction[];
  /**
   * The original picture (image files; a .npy or a clip: the model-size one) and the map at its
   * size. Absent when `samePicture`: the webview keeps the picture of the result it shows.
   */
  image?: { data: Uint8Array; width: number; height: number };
  /** The same image as the result shown before (another method, layer or class): its picture is not sent again. */
  samePicture?: true;
  /** Absent when the map came at the layer's size: the webview rebuilds it from `camRaw` and `mapAt`. */
  cam?: { data: Float32Array; width: number; height: number };
  /** The layer's map; its values only when `cam` is absent. */
  camRaw: { width: number; height: number; data?: Float32Array };
  /**
   * How `cam` is rebuilt from `camRaw` (engine/cam/layerMap.ts): upsampled to height × width
   * (the model input's size), then onto the original picture through `geometry` when given.
   */
  mapAt?: { height: number; width: number; geometry?: ImageGeometry };
  ep: string;
  timings: Record<string, number>;
  notes: Record<string, number | string>;
  /** Probably meaningless results and their likely causes: the panel shows them as a banner. */
  warnings: string[];
  /** Video models: `cam.data` is then [T, h, w] frame-major and `image` is frame 0. */
  video?: VideoView;
  /** Detectors: every detection (best first), boxes in `image`'s pixels, and the one explained. */
  detections?: DetectionView[];
  detection?: number;
  /** Segmentation outputs: the classes predicted somewhere, the largest region first (`classIndex`: the one explained). */
  regions?: RegionView[];
  /** dff: every concept of the first layer, for the panel's concepts strip. */
  concepts?: ConceptsView;
}

/** An ExplainView as the webview draws it: with its picture and `cam`, rebuilt from the layer's map when it came without. */
export type DrawnView = ExplainView & {
  image: { data: Uint8Array; width: number; height: number };
  cam: { data: Float32Array; width: number; height: number };
};

/**
 * `v` ready to draw: its picture (the `previous` view's when `v` says it is the same) and its map
 * at the picture's size (engine/cam/layerMap.ts: the values explain computed).
 */
export function withShownMap(v: ExplainView, previous?: DrawnView): DrawnView {
  const image = v.image ?? (v.samePicture ? previous?.image : undefined);
  if (!image) throw new Error('explain view: no picture, and none shown before');
  if (v.cam) return { ...v, image, cam: v.cam };
  if (!v.mapAt || !v.camRaw.data) throw new Error('explain view: no map, and no layer map to draw one from');
  return { ...v, image, cam: mapFromLayer({ data: v.camRaw.data, height: v.camRaw.height, width: v.camRaw.width }, v.mapAt, v.mapAt.geometry) };
}

/**
 * DFF's concepts as the panel shows them side by side: each concept's map over the picture the
 * model saw (the maps' size; the compare grid's picture too), its best classes, and the concept
 * `cam` shows (the one that gives the explained class the highest probability).
 */
export interface ConceptsView {
  layer: string;
  image: { data: Uint8Array; width: number; height: number };
  /** `count` maps [K, h, w], concept-major, each in [0, 1]. */
  maps: { data: Float32Array; width: number; height: number };
  count: number;
  /** Per concept, its best classes under the model's head (softmax probability), best first. */
  topClasses: Array<Array<{ index: number; label: string; prob: number }>>;
  chosen: number;
}

/** A class a segmentation model predicts, as the panel lists it: the pixels predicted as it. */
export interface RegionView {
  class: number;
  label: string;
  /** Pixels at the output's resolution, and their share of the output. */
  pixels: number;
  share: number;
}

/** One detection as the panel lists and draws it. */
export interface DetectionView {
  /** [x0, y0, x1, y1] in the shown picture's pixels. */
  box: [number, number, number, number];
  class: number;
  label: string;
  score: number;
}

/** A clip's frames and temporal weights, for the panel's frame slider and strip. */
export interface VideoView {
  count: number;
  /** Every preprocessed frame's RGB, frame-major [T, H, W, 3] (H, W: `image`'s). */
  frames: Uint8Array;
  /** Mean map energy per frame, normalised to sum to 1. */
  temporalWeights: number[];
}

/** The panel's two comparisons of one image: methods side by side, and one method over the layers. */
export const COMPARE_KINDS = ['compare', 'sweep'] as const;
export type CompareKind = (typeof COMPARE_KINDS)[number];

/** One method's cell of the compare grid. */
export interface CompareCell {
  method: CamMethodName;
  /** Its explanation alone (the first method to use a session also builds it). */
  ms: number;
  deletionAuc?: number;
  insertionAuc?: number;
  /** The map at the picture's size (absent when the method failed). */
  cam?: { data: Float32Array; width: number; height: number };
  layers: string[];
  warnings: string[];
  error?: string;
}

/** "Compare methods": one image, one class, a cell per method, and the random map's AUCs as the bar to clear. */
export interface CompareView {
  requestId: number;
  input: string;
  classIndex: number;
  label: string;
  /** The preprocessed picture the model saw (every map's size). */
  image: { data: Uint8Array; width: number; height: number };
  cells: CompareCell[];
  /** The random map's deletion/insertion AUC (at the first method's map resolution). */
  baseline?: { deletionAuc: number; insertionAuc: number };
  ep: string;
  ms: number;
}

/** "Layer sweep": one method at every block output, input side first. */
export interface SweepView {
  requestId: number;
  input: string;
  method: CamMethodName;
  classIndex: number;
  label: string;
  image: { data: Uint8Array; width: number; height: number };
  steps: Array<{ layer: string; cam: { data: Float32Array; width: number; height: number }; rawWidth: number; rawHeight: number; warnings: string[] }>;
  /** Block outputs found (more than the steps when they were thinned). */
  found: number;
  ep: string;
  ms: number;
}

export type HostToWebview =
  /** Everything the panel needs after (re)loading; `view` seeds ViewSettings the webview has not stored yet. */
  | {
      type: 'init';
      state: ExplainState;
      methods: readonly CamMethodName[];
      layerChoices: LayerChoice[];
      imageNames: string[];
      trusted: boolean;
      view: Pick<ViewSettings, 'colormap' | 'alpha'>;
      /** "Compare methods" starts with these checked (the defaults the registry has). */
      compareMethods?: readonly CamMethodName[];
      /** The method-specific options each method reads (the registry's): the Options area shows the chosen method's. */
      methodOptions?: Partial<Record<CamMethodName, readonly MethodOptionKey[]>>;
    }
  /** The host changed what is explained (an intent, a command, new taps). */
  | { type: 'state'; state: ExplainState; layerChoices: LayerChoice[]; imageNames: string[] }
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
  | { type: 'metricsError'; requestId: number; message: string; cancelled: boolean }
  | { type: 'compareBusy'; kind: CompareKind; requestId: number; what: string }
  | { type: 'compareProgress'; kind: CompareKind; requestId: number; done: number; total: number; message?: string }
  | { type: 'compare'; view: CompareView }
  | { type: 'sweep'; view: SweepView }
  | { type: 'compareError'; kind: CompareKind; requestId: number; message: string; cancelled: boolean };

/** Intents without a payload. */
const BARE = [
  'ready',
  'rerun',
  'cancel',
  'chooseLayerInTree',
  'saveNpy',
  'saveGif',
  'openTree',
  'explainModel',
  'releaseAll',
  'leakCheck',
  'heapSnapshot',
  'computeMetrics',
  'cancelMetrics',
  'layerSweep',
  'cancelCompare',
] as const;

export type WebviewToHost =
  | { type: (typeof BARE)[number] }
  | { type: 'setMethod'; method: CamMethodName }
  /** '' = the suggested layer. */
  | { type: 'setLayer'; layer: string }
  | { type: 'setImage'; imageIndex: number }
  /** null = the top prediction. */
  | { type: 'setClass'; classIndex: number | null }
  /** Detectors: explain detection `box` (its place in the result's detections); null = the best. */
  | { type: 'setBox'; box: number | null }
  /** Segmentation: explain the region predicted as this class (one of the shown result's regions). */
  | { type: 'setRegionClass'; classIndex: number }
  /** `methodOptions`: method-specific option values; null resets one to the method's default. */
  | { type: 'setOptions'; augSmooth?: boolean; multiScale?: boolean; methodOptions?: MethodOptionChanges }
  /** The overlay as shown: the colormap and the opacity of the overlay canvas at that moment. */
  | { type: 'saveOverlay'; colormap: ColormapName; alpha: number }
  /** A picture the webview composed (the report). */
  | { type: 'savePng'; png: Uint8Array; name: string }
  /** Compare these methods on the current image (in this order). */
  | { type: 'compareMethods'; methods: CamMethodName[] }
  /** The compare grid or the layer sweep as one PNG, with the colormap and opacity shown. */
  | { type: 'saveCompare'; kind: CompareKind; colormap: ColormapName; alpha: number };

/** Changes of method-specific options: a valid value, or null for the default. */
export type MethodOptionChanges = { [K in MethodOptionKey]?: MethodOptionValues[K] | null };

/**
 * Why `v` is not a valid `methodOptions` of a setOptions intent (a sentence naming the option,
 * what is allowed and what came), or undefined when it is one.
 */
export function methodOptionChangesProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `methodOptions: expected an object of option values, got ${JSON.stringify(v)}.`;
  for (const [k, value] of Object.entries(v)) {
    if (!isMethodOptionKey(k)) return `methodOptions: unknown option '${k}'; valid: ${METHOD_OPTION_KEYS.join(', ')}.`;
    if (value === null) continue;
    const problem = methodOptionProblem(k, value);
    if (problem) return problem;
  }
  return undefined;
}

/** `current` with `changes` applied (null: back to the default, so the key is dropped). */
export function withMethodOptions(current: MethodOptionValues | undefined, changes: MethodOptionChanges): MethodOptionValues {
  const next: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined) delete next[k];
    else next[k] = v;
  }
  return next as MethodOptionValues;
}

/** The options of `values` that `keys` (a method's declared options) name: what its request carries. */
export function methodOptionsFor(values: MethodOptionValues | undefined, keys: readonly MethodOptionKey[]): MethodOptionValues {
  return Object.fromEntries(keys.filter((k) => values?.[k] !== undefined).map((k) => [k, values![k]])) as MethodOptionValues;
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isUnit = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const isMethod = (v: unknown): v is CamMethodName => (CAM_METHODS as readonly unknown[]).includes(v);
const isColormap = (v: unknown): v is ColormapName => (COLORMAPS as readonly unknown[]).includes(v);
const isMode = (v: unknown): v is ViewMode => (VIEW_MODES as readonly unknown[]).includes(v);
const MAX_PNG_BYTES = 64 * 1024 * 1024;
/** More would be a wall of maps nobody reads, each a model run or hundreds. */
export const MAX_COMPARE_METHODS = 16;
const isKind = (v: unknown): v is CompareKind => (COMPARE_KINDS as readonly unknown[]).includes(v);

/** Every message from a webview is checked here; anything else is dropped (undefined). */
export function parseFromWebview(m: unknown): WebviewToHost | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const o = m as Record<string, unknown>;
  if ((BARE as readonly unknown[]).includes(o.type)) return { type: o.type as (typeof BARE)[number] };
  switch (o.type) {
    case 'setMethod':
      return isMethod(o.method) ? { type: 'setMethod', method: o.method } : undefined;
    case 'setLayer':
      return isStr(o.layer) ? { type: 'setLayer', layer: o.layer } : undefined;
    case 'setImage':
      return isIndex(o.imageIndex) ? { type: 'setImage', imageIndex: o.imageIndex } : undefined;
    case 'setClass':
      return o.classIndex === null || isIndex(o.classIndex) ? { type: 'setClass', classIndex: o.classIndex } : undefined;
    case 'setBox':
      return o.box === null || isIndex(o.box) ? { type: 'setBox', box: o.box } : undefined;
    case 'setRegionClass':
      return isIndex(o.classIndex) ? { type: 'setRegionClass', classIndex: o.classIndex } : undefined;
    case 'setOptions':
      if (o.augSmooth !== undefined && !isBool(o.augSmooth)) return undefined;
      if (o.multiScale !== undefined && !isBool(o.multiScale)) return undefined;
      if (o.methodOptions !== undefined && methodOptionChangesProblem(o.methodOptions) !== undefined) return undefined;
      return {
        type: 'setOptions',
        augSmooth: o.augSmooth,
        multiScale: o.multiScale,
        ...(o.methodOptions !== undefined ? { methodOptions: { ...(o.methodOptions as MethodOptionChanges) } } : {}),
      };
    case 'saveOverlay':
      return isColormap(o.colormap) && isUnit(o.alpha) ? { type: 'saveOverlay', colormap: o.colormap, alpha: o.alpha } : undefined;
    case 'compareMethods': {
      const ms = o.methods;
      if (!Array.isArray(ms) || !ms.length || ms.length > MAX_COMPARE_METHODS || !ms.every(isMethod) || new Set(ms).size !== ms.length) return undefined;
      return { type: 'compareMethods', methods: [...ms] };
    }
    case 'saveCompare':
      return isKind(o.kind) && isColormap(o.colormap) && isUnit(o.alpha)
        ? { type: 'saveCompare', kind: o.kind, colormap: o.colormap, alpha: o.alpha }
        : undefined;
    case 'savePng':
      if (!(o.png instanceof Uint8Array) || o.png.byteLength > MAX_PNG_BYTES || !isStr(o.name)) return undefined;
      return { type: 'savePng', png: o.png, name: o.name };
    default:
      return undefined;
  }
}

/** The ExplainState in a revived panel's saved webview state, or undefined when it is not one. */
export function persistedExplainState(saved: unknown): (Partial<ExplainState> & Pick<ExplainState, 'modelPath' | 'images'>) | undefined {
  const s = saved && typeof saved === 'object' ? (saved as PersistedPanel).host : undefined;
  if (!s || typeof s !== 'object' || !isStr(s.modelPath) || !Array.isArray(s.images) || !s.images.every(isStr)) return undefined;
  return {
    modelPath: s.modelPath,
    images: s.images,
    ...(isIndex(s.imageIndex) && s.imageIndex < s.images.length ? { imageIndex: s.imageIndex } : {}),
    ...(isMethod(s.method) ? { method: s.method } : {}),
    ...(isStr(s.layer) ? { layer: s.layer } : {}),
    ...(isIndex(s.classIndex) ? { classIndex: s.classIndex } : {}),
    ...(isIndex(s.box) ? { box: s.box } : {}),
    ...(isBool(s.augSmooth) ? { augSmooth: s.augSmooth } : {}),
    ...(isBool(s.multiScale) ? { multiScale: s.multiScale } : {}),
    ...(s.options !== undefined ? { options: validMethodOptions(s.options) } : {}),
  };
}

/** The webview's stored ViewSettings over `defaults`, each field checked (state from an older version may lack or differ in some). */
export function persistedViewSettings(saved: unknown, defaults: ViewSettings): ViewSettings {
  const v = saved && typeof saved === 'object' ? (saved as PersistedPanel).view : undefined;
  if (!v || typeof v !== 'object') return { ...defaults };
  return {
    colormap: isColormap(v.colormap) ? v.colormap : defaults.colormap,
    alpha: isUnit(v.alpha) ? v.alpha : defaults.alpha,
    mode: isMode(v.mode) ? v.mode : defaults.mode,
    zoom: typeof v.zoom === 'number' && v.zoom >= 0 && v.zoom <= 32 ? v.zoom : defaults.zoom,
  };
}
