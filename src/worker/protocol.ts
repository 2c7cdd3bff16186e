// Every message the extension host (or CLI) and the worker exchange. Both sides import only
// this module's types; tensors travel as typed arrays (fork with serialization: 'advanced').
import type { CamLensErrorCode } from '../engine/errors';
import type { CamLayerSuggestion, LayerInfo } from '../engine/layers';
import type { Counters, MemorySample } from '../engine/runtime/accounting';
import type { ProviderAttempt, ProviderOptions } from '../engine/runtime/providers';
import type { SessionInfo } from '../engine/runtime/sessions';
import type { PlainTensor, TapReadout } from '../engine/runtime/tapRunner';
import type { ExplainBatchParams, ExplainBatchResult } from '../engine/batch/types';
import type { EvaluateParams, EvaluateResult } from '../engine/metrics/evaluate';
import type { CompareParams, CompareResult, MethodComparison } from '../engine/pipeline/compare';
import type { LayerSweepParams, LayerSweepResult, LayerSweepStep } from '../engine/pipeline/layerSweep';
import type { TelemetrySample, GpuMemory } from '../engine/runtime/telemetry';
import type { LeakCheckParams, LeakCheckReport } from '../engine/diagnostics/scenarios';
import type { HeapSnapshotResult } from '../engine/diagnostics/heapSnapshot';

export type { PlainTensor, TapReadout, ProviderOptions };
export type { ExplainBatchParams, ExplainBatchResult };
export type { EvaluateParams, EvaluateResult };
export type { CompareParams, CompareResult, MethodComparison, LayerSweepParams, LayerSweepResult, LayerSweepStep };
export type { TelemetrySample, GpuMemory, LeakCheckParams, LeakCheckReport, HeapSnapshotResult };
export type { MetricReport, ScenarioReport, LeakSample, LeakVerdict, LeakScenarioName } from '../engine/diagnostics/leakCheck';

export * from '../engine/explainTypes';
import type { ExplainAnswer, ExplainParams } from '../engine/explainTypes';

export interface ModelSummary {
  path: string;
  irVersion: number;
  opsets: Record<string, number>;
  producer: string;
  inputs: Array<{ name: string; dtype: string; shape: Array<number | string | null> | null }>;
  outputs: Array<{ name: string; dtype: string; shape: Array<number | string | null> | null }>;
  nodeCount: number;
  parameterCount: number;
  fileBytes: number;
}

/** method → [params, result] */
export interface Methods {
  ping: [Record<string, never>, { pid: number; uptimeMs: number }];
  /** Waits `ms` (cancellable): lets tests and diagnostics hold a request open. */
  sleep: [{ ms: number }, { sleptMs: number }];
  layers: [{ modelPath: string }, { summary: ModelSummary; layers: LayerInfo[]; suggestion: CamLayerSuggestion | null }];
  /** Registers a tap on a value of a model; the tap lives until removed. */
  /** `provider`: the session the next runs use is prepared for it (default: the model's last run's). */
  'taps.register': [{ modelPath: string; value: string; provider?: ProviderOptions }, { handleId: number; value: string; taps: string[] }];
  'taps.remove': [{ handleId: number }, { removed: boolean; taps: string[] }];
  'taps.list': [{ modelPath: string }, { taps: Array<{ handleId: number; value: string }> }];
  /**
   * One forward run with the model's registered taps plus `taps` (one-off) and, for the
   * "debug mode", every output of the ops in `tapOps` (e.g. ['Conv', 'Relu']) or every value.
   * Inputs not given are zeros (symbolic dims = 1).
   */
  run: [
    {
      modelPath: string;
      inputs?: Record<string, PlainTensor>;
      /** An image (or .npy) preprocessed per the model's config, as the model's input. */
      image?: string;
      configPath?: string;
      taps?: string[];
      tapOps?: string[];
      tapAll?: boolean;
      tensors?: boolean;
      stats?: boolean;
      provider?: ProviderOptions;
    },
    {
      outputs: Record<string, PlainTensor>;
      taps: TapReadout[];
      provider: string;
      fallbacks: readonly ProviderAttempt[];
      timings: { sessionMs: number; runMs: number };
    },
  ];
  /** Fills shapes static inference left unknown with one run (cached per model). */
  probeShapes: [{ modelPath: string }, { shapes: Record<string, number[]>; provider: string; ms: number }];
  /** A CAM explanation of one input (progress events for the multi-run methods). */
  explain: [ExplainParams, ExplainAnswer];
  /**
   * Explains one input (ExplainParams) and scores the explanation: the flat `metrics` record
   * (iou, pointing_game, energy_in_mask, topk_intersection, deletion_auc, insertion_auc,
   * confidence_*, region_confidence, road_*, stability, max_sensitivity, sanity_spearman, and
   * random_<key> baselines), curves for plotting, and `details` saying how each was made.
   * Progress events name the phase ('perturbing', 'stability', 'sanity'); cancellable.
   */
  evaluate: [EvaluateParams, EvaluateResult];
  /**
   * One image, several methods (same class for all): each method's map, time and metrics
   * (default deletion/insertion AUC beside the random map's); a failing method is an error cell.
   * Progress per method; cancellable.
   */
  compare: [CompareParams, CompareResult];
  /** One method (default gradcam) at every block output, input to head, from one explain run; cancellable. */
  layerSweep: [LayerSweepParams, LayerSweepResult];
  /** Batch export: N images per model run, every requested gradient method from that run. */
  explainBatch: [ExplainBatchParams, ExplainBatchResult];
  stats: [Record<string, never>, WorkerStats];
  releaseAll: [Record<string, never>, { released: number }];
  /** Releases every session and ends the worker process after answering. */
  shutdown: [Record<string, never>, { released: number }];
  /**
   * Memory diagnostics. Starts streaming `telemetry` events (one per sample, every
   * `intervalMs`, default 250; setting it changes the worker's sampling interval) and returns
   * the last `history` samples kept in the worker's ring buffer (default all).
   */
  'telemetry.subscribe': [
    { intervalMs?: number; history?: number },
    { subscriptionId: number; intervalMs: number; capacity: number; history: TelemetrySample[] },
  ];
  /** Stops one subscription's events (events stop when none is left). */
  'telemetry.unsubscribe': [{ subscriptionId: number }, { unsubscribed: boolean; subscribers: number }];
  /** A sample taken now, the live sessions, and the last `history` samples (default 0). */
  'telemetry.snapshot': [{ history?: number }, TelemetrySnapshot];
  /** Runs leak-check scenarios in the worker (progress events; cancellable). */
  leakCheck: [LeakCheckParams, LeakCheckReport];
  /** Writes a V8 heap snapshot (after a full GC) into `dir`; open it in Chrome DevTools → Memory. */
  heapSnapshot: [{ dir: string; prefix?: string }, HeapSnapshotResult];
}

export interface TelemetrySnapshot {
  pid: number;
  uptimeMs: number;
  intervalMs: number;
  capacity: number;
  subscribers: number;
  sample: TelemetrySample;
  sessions: SessionInfo[];
  history: TelemetrySample[];
}

export interface WorkerStats {
  pid: number;
  counters: Counters;
  memory: MemorySample;
  sessions: SessionInfo[];
}

export type Method = keyof Methods;
export type Params<M extends Method> = Methods[M][0];
export type Result<M extends Method> = Methods[M][1];

export interface RequestMessage<M extends Method = Method> {
  kind: 'request';
  id: number;
  method: M;
  params: Params<M>;
}

export interface CancelMessage {
  kind: 'cancel';
  id: number;
}

export interface WireError {
  code: CamLensErrorCode | 'INTERNAL' | 'CANCELLED' | 'TIMEOUT' | 'WORKER_CRASHED';
  message: string;
}

/** `bulk`: the file holding the result's large arrays (worker/bulk.ts); `result` then has references into it. */
export type ResponseMessage =
  { kind: 'response'; id: number; ok: true; result: unknown; bulk?: string } | { kind: 'response'; id: number; ok: false; error: WireError };

export interface ProgressMessage {
  kind: 'progress';
  id: number;
  done: number;
  total: number;
  message?: string;
}

export interface ReadyMessage {
  kind: 'ready';
  pid: number;
  /** The folder the worker writes answer files into (worker/bulk.ts); absent when it has none. */
  bulkDir?: string;
}

/** Messages the worker pushes without a request (event name → data). */
export interface WorkerEvents {
  telemetry: TelemetrySample;
}

export interface EventMessage<E extends keyof WorkerEvents = keyof WorkerEvents> {
  kind: 'event';
  event: E;
  data: WorkerEvents[E];
}

export type HostToWorker = RequestMessage | CancelMessage;
export type WorkerToHost = ResponseMessage | ProgressMessage | ReadyMessage | EventMessage;
