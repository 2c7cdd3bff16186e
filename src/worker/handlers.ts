// The worker's request handlers: decode params, call the engine, shape the result.
import { CamLensError, CancelledError } from '../engine/errors';
import { resolveModelConfig } from '../engine/image/config';
import { loadModelInput } from '../engine/pipeline/input';
import { batchMetricsProvider } from '../engine/metrics/batchProvider';
import { listLayers, suggestCamLayer } from '../engine/layers';
import { loadModel, type LoadedModel } from '../engine/model';
import { int64ToNumber } from '../engine/onnx/int64';
import { dataTypeName, elementCount, tensorDims } from '../engine/onnx/tensor';
import { counters, sampleMemory } from '../engine/runtime/accounting';
import { probeShapes, zeroInput } from '../engine/runtime/probe';
import { prepareSharedTapSession, prepareTapSession, runWithTaps, type PlainTensor } from '../engine/runtime/tapRunner';
import type { ProviderOptions } from '../engine/runtime/providers';
import { DataType } from '../engine/onnx/types';
import { explain, explainAnswer } from '../engine/explain';
import { evaluateExplanation } from '../engine/metrics/evaluate';
import { explainBatch } from '../engine/batch/batchedExplain';
import { compareMethods } from '../engine/pipeline/compare';
import { layerSweep } from '../engine/pipeline/layerSweep';
import type { Method, ModelSummary, Params, Result, WorkerEvents } from './protocol';
import { listTaps, modelWithTaps, registerTap, releaseEverything, removeTap, sessions } from './state';
import { Telemetry } from '../engine/runtime/telemetry';
import { flushDeferred } from '../engine/runtime/deferredWrites';
import { modelKeyOf } from '../engine/runtime/tapRunner';
import { runLeakCheck, type LeakCheckOps } from '../engine/diagnostics/scenarios';
import { takeHeapSnapshot } from '../engine/diagnostics/heapSnapshot';

export interface HandlerContext {
  signal: AbortSignal;
  progress(done: number, total: number, message?: string): void;
}

type Handler<M extends Method> = (params: Params<M>, ctx: HandlerContext) => Promise<Result<M>> | Result<M>;

export function summarise(model: LoadedModel): ModelSummary {
  const { proto, graph, shapes } = model;
  const io = (name: string) => {
    const t = shapes.get(name);
    return { name, dtype: dataTypeName(t?.dtype), shape: t?.shape ? [...t.shape] : null };
  };
  let parameterCount = 0;
  for (const t of graph.initializers.values()) parameterCount += elementCount(tensorDims(t));
  const opsets: Record<string, number> = {};
  for (const o of proto.opsetImport) opsets[o.domain || 'ai.onnx'] = int64ToNumber(o.version);
  return {
    path: model.path,
    irVersion: int64ToNumber(proto.irVersion),
    opsets,
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    inputs: graph.inputs.map(io),
    outputs: graph.outputs.map(io),
    nodeCount: graph.nodes.length,
    parameterCount,
    fileBytes: model.fileBytes,
  };
}

/** The worker's memory telemetry: samples around each request (main.ts), and on a timer while someone subscribes. */
export const telemetry = new Telemetry({
  intervalMs: Number(process.env.CAMLENS_TELEMETRY_INTERVAL_MS) || 250,
  providers: () => sessions.list().map((s) => s.provider),
});
const subscriptions = new Set<number>();
let nextSubscription = 1;
let emitEvent: (<E extends keyof WorkerEvents>(event: E, data: WorkerEvents[E]) => void) | undefined;
/** main.ts routes worker events (telemetry samples) to the parent. */
export function setEventSink(sink: typeof emitEvent): void {
  emitEvent = sink;
}
telemetry.subscribe((sample) => {
  if (subscriptions.size) emitEvent?.('telemetry', sample);
});

const intervalParam = (ms: unknown): number | undefined => {
  if (ms === undefined) return undefined;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 10 || ms > 600_000) {
    throw new CamLensError('BAD_ARGUMENT', `telemetry: intervalMs must be a number of milliseconds between 10 and 600000, got ${String(ms)}.`);
  }
  return ms;
};

/** The leak check runs the same operations the requests do (same cache, tap state, counters). */
const leakOps: LeakCheckOps = {
  explain: (params, signal) => explain(params, { sessions, signal }),
  tapValues: (modelPath) => {
    const model = loadModel(modelPath);
    const values = [suggestCamLayer(model)?.value, ...model.graph.activations()].filter((v): v is string => Boolean(v));
    return [...new Set(values)].slice(0, 2);
  },
  registerTap: (modelPath, value) => registerTap(modelPath, value).id,
  removeTap: (handleId) => void removeTap(handleId),
  run: async (modelPath, provider, signal) =>
    handlers.run({ modelPath, provider }, { signal: signal ?? new AbortController().signal, progress: () => undefined }),
  releaseModel: (modelPath) => sessions.releaseModel(modelKeyOf(loadModel(modelPath))),
  quiesce,
};

/** The provider options of each model's last run: a tap registration prepares its session for them. */
const lastRunProvider = new Map<string, ProviderOptions | undefined>();

/** Background work still running (see inBackground); the leak check waits for it. */
const background = new Set<Promise<void>>();

/**
 * Session builds ahead of need start after the current answer is sent. A failure is not
 * reported here: the run that needs the session builds it again and reports it.
 */
function inBackground(work: () => Promise<void>): void {
  const done = new Promise<void>((resolve) =>
    setImmediate(
      () =>
        void work()
          .catch(() => undefined)
          .finally(resolve),
    ),
  );
  background.add(done);
  void done.finally(() => background.delete(done));
}

/** Resolves once no background build runs and the deferred cache writes are done. */
async function quiesce(): Promise<void> {
  while (background.size) await Promise.all(background);
  flushDeferred();
}

export const handlers: { [M in Method]: Handler<M> } = {
  ping: () => ({ pid: process.pid, uptimeMs: Math.round(process.uptime() * 1000) }),
  sleep: ({ ms }, { signal }) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => resolve({ sleptMs: Date.now() - started }), ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(new CancelledError('The sleep', signal.reason));
        },
        { once: true },
      );
    }),
  layers: ({ modelPath }) => {
    if (typeof modelPath !== 'string' || !modelPath) throw new CamLensError('BAD_ARGUMENT', 'layers: modelPath is required.');
    const model = loadModel(modelPath);
    return { summary: summarise(model), layers: listLayers(model), suggestion: suggestCamLayer(model) ?? null };
  },
  'taps.register': ({ modelPath, value, provider }) => {
    const handle = registerTap(modelPath, value);
    const { model, taps } = modelWithTaps(modelPath);
    // With the provider the model's runs use (the panel's runs carry it; a registration need not).
    const runProvider = provider ?? lastRunProvider.get(modelPath);
    inBackground(() => prepareTapSession(model, sessions, taps.values(), { provider: runProvider }));
    return { handleId: handle.id, value: handle.value, taps: taps.values() };
  },
  'taps.remove': ({ handleId }) => {
    const { removed, modelPath } = removeTap(handleId);
    return { removed, taps: modelPath ? modelWithTaps(modelPath).taps.values() : [] };
  },
  'taps.list': ({ modelPath }) => ({ taps: listTaps(modelPath) }),
  run: async (params, { signal }) => {
    const { model, taps } = modelWithTaps(params.modelPath);
    const values = new Set([...taps.values(), ...(params.taps ?? [])]);
    const ops = new Set(params.tapOps ?? []);
    if (params.tapAll || ops.size) {
      for (const node of model.graph.nodes) {
        if (params.tapAll || ops.has(node.opType)) node.outputs.forEach((o) => o && values.add(o));
      }
    }
    const feeds: Record<string, PlainTensor> = {};
    if (params.image) {
      const config = resolveModelConfig(params.modelPath, model.proto, params.configPath);
      const input = await loadModelInput(params.image, model, config);
      feeds[input.name] = { dtype: 'float32', dims: input.dims, data: input.tensor };
    }
    for (const name of model.graph.inputs) {
      const type = model.shapes.get(name);
      feeds[name] ??= params.inputs?.[name] ?? zeroInput(type?.dtype ?? DataType.FLOAT, type?.shape);
    }
    const result = await runWithTaps(model, sessions, feeds, {
      taps: [...values],
      tensors: params.tensors,
      stats: params.stats,
      provider: params.provider,
      signal,
    });
    lastRunProvider.set(params.modelPath, params.provider);
    // The shared tapped session is built while the user looks at this answer: the first tap finds it ready.
    if (values.size === 0) inBackground(() => prepareSharedTapSession(model, sessions, { provider: params.provider }));
    return result;
  },
  probeShapes: async ({ modelPath }) => {
    const result = await probeShapes(loadModel(modelPath));
    return { shapes: Object.fromEntries(result.shapes), provider: result.provider, ms: result.ms };
  },
  // The panel's maps travel at the layer's size when they can (ExplainParams.mapsAt, cam/layerMap.ts).
  explain: (params, { signal, progress }) => explainAnswer(params, { sessions, signal, progress }),
  evaluate: (params, { signal, progress }) => evaluateExplanation(params, { sessions, signal, progress }),
  compare: (params, { signal, progress }) => compareMethods(params, { sessions, signal, progress }),
  layerSweep: (params, { signal, progress }) => layerSweep(params, { sessions, signal, progress }),
  // Batch rows get metrics from the metrics module (the batch engine only defines the seam).
  explainBatch: (params, { signal, progress }) => explainBatch(params, { sessions, signal, progress, metrics: batchMetricsProvider }),
  stats: () => ({ pid: process.pid, counters: { ...counters }, memory: sampleMemory(), sessions: sessions.list() }),
  releaseAll: async () => ({ released: await releaseEverything() }),
  'telemetry.subscribe': ({ intervalMs, history }) => {
    const ms = intervalParam(intervalMs);
    if (!telemetry.running || (ms !== undefined && ms !== telemetry.intervalMs)) telemetry.start(ms);
    const subscriptionId = nextSubscription++;
    subscriptions.add(subscriptionId);
    return { subscriptionId, intervalMs: telemetry.intervalMs, capacity: telemetry.buffer.capacity, history: telemetry.history(history) };
  },
  'telemetry.unsubscribe': ({ subscriptionId }) => {
    const unsubscribed = subscriptions.delete(subscriptionId);
    if (!subscriptions.size) telemetry.stop(); // see main.ts: no timer while nobody watches
    return { unsubscribed, subscribers: subscriptions.size };
  },
  'telemetry.snapshot': ({ history }) => ({
    pid: process.pid,
    uptimeMs: Math.round(process.uptime() * 1000),
    intervalMs: telemetry.intervalMs,
    capacity: telemetry.buffer.capacity,
    subscribers: subscriptions.size,
    sample: telemetry.read('manual'),
    sessions: sessions.list(),
    history: history ? telemetry.history(history) : [],
  }),
  leakCheck: (params, { signal, progress }) => runLeakCheck(params, leakOps, { signal, progress }),
  heapSnapshot: ({ dir, prefix }) => takeHeapSnapshot(dir, { prefix }),
  shutdown: async () => {
    flushDeferred(); // the cache entries this process built are worth the wait
    const released = await releaseEverything();
    // Exit once the answer is on its way; the parent also kills us if this never happens.
    setImmediate(() => process.disconnect?.());
    return { released };
  },
};
