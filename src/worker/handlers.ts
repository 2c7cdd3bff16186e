// The worker's request handlers: decode params, call the engine, shape the result.
import { CamLensError } from '../engine/errors';
import { listLayers, suggestCamLayer } from '../engine/layers';
import { loadModel, type LoadedModel } from '../engine/model';
import { int64ToNumber } from '../engine/onnx/int64';
import { dataTypeName, elementCount, tensorDims } from '../engine/onnx/tensor';
import { counters, sampleMemory } from '../engine/runtime/accounting';
import { probeShapes, zeroInput } from '../engine/runtime/probe';
import { runWithTaps, type PlainTensor } from '../engine/runtime/tapRunner';
import { DataType } from '../engine/onnx/types';
import { explain } from '../engine/explain';
import { explainBatch } from '../engine/batch/batchedExplain';
import type { Method, ModelSummary, Params, Result } from './protocol';
import { listTaps, modelWithTaps, registerTap, releaseEverything, removeTap, sessions } from './state';

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

export const handlers: { [M in Method]: Handler<M> } = {
  ping: () => ({ pid: process.pid, uptimeMs: Math.round(process.uptime() * 1000) }),
  sleep: ({ ms }, { signal }) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => resolve({ sleptMs: Date.now() - started }), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
      }, { once: true });
    }),
  layers: ({ modelPath }) => {
    if (typeof modelPath !== 'string' || !modelPath) throw new CamLensError('BAD_ARGUMENT', 'layers: modelPath is required.');
    const model = loadModel(modelPath);
    return { summary: summarise(model), layers: listLayers(model), suggestion: suggestCamLayer(model) ?? null };
  },
  'taps.register': ({ modelPath, value }) => {
    const handle = registerTap(modelPath, value);
    return { handleId: handle.id, value: handle.value, taps: modelWithTaps(modelPath).taps.values() };
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
    for (const name of model.graph.inputs) {
      const type = model.shapes.get(name);
      feeds[name] = params.inputs?.[name] ?? zeroInput(type?.dtype ?? DataType.FLOAT, type?.shape);
    }
    return runWithTaps(model, sessions, feeds, {
      taps: [...values], tensors: params.tensors, stats: params.stats, provider: params.provider, signal,
    });
  },
  probeShapes: async ({ modelPath }) => {
    const result = await probeShapes(loadModel(modelPath));
    return { shapes: Object.fromEntries(result.shapes), provider: result.provider, ms: result.ms };
  },
  explain: (params, { signal, progress }) => explain(params, { sessions, signal, progress }),
  explainBatch: (params, { signal, progress }) => explainBatch(params, { sessions, signal, progress }),
  stats: () => ({ pid: process.pid, counters: { ...counters }, memory: sampleMemory(), sessions: sessions.list() }),
  releaseAll: async () => ({ released: await releaseEverything() }),
  shutdown: async () => {
    const released = await releaseEverything();
    // Exit once the answer is on its way; the parent also kills us if this never happens.
    setImmediate(() => process.disconnect?.());
    return { released };
  },
};
