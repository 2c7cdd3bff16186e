// Reading and writing ModelProto. Parsing never copies tensor bytes: protobufjs hands out
// `bytes` fields as views into the buffer it was given, so a 100 MB model costs ~100 MB.
import * as protobuf from 'protobufjs';
import { CamLensError } from '../errors';
import { FILE_LIMITS, readUserFile } from '../userFiles';
import { installInt64Codec } from './int64';
import { ONNX_PROTO } from './schema';
import type { GraphProto, ModelProto, TensorProto } from './types';

installInt64Codec();

const root = protobuf.parse(ONNX_PROTO, { keepCase: false }).root;
const ModelType = root.lookupType('onnx.ModelProto');
const TensorType = root.lookupType('onnx.TensorProto');

/** Deeper nesting than this is not a model anybody exported; protobufjs refuses it too. */
export const MAX_SUBGRAPH_DEPTH = 64;

function describe(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/index out of range/.test(message)) return 'the file ends in the middle of a field (truncated or not ONNX)';
  if (/invalid wire type/.test(message)) return `an invalid protobuf field (${message})`;
  if (/max depth exceeded/.test(message)) return 'messages are nested too deeply';
  if (/Maximum call stack/.test(message)) return 'messages are nested too deeply';
  return message;
}

export function parseModel(bytes: Uint8Array, source = 'model'): ModelProto {
  if (bytes.byteLength === 0) {
    throw new CamLensError('MODEL_PARSE', `${source}: the file is empty; expected an ONNX model (.onnx protobuf).`);
  }
  let model: ModelProto;
  try {
    model = ModelType.decode(bytes) as unknown as ModelProto;
  } catch (e) {
    throw new CamLensError('MODEL_PARSE', `${source}: not a readable ONNX model: ${describe(e)}.`, { cause: String(e) });
  }
  if (!model.graph || (model.graph.node.length === 0 && model.graph.input.length === 0 && model.graph.output.length === 0)) {
    throw new CamLensError('MODEL_PARSE', `${source}: no graph found; the file is not an ONNX model (or is empty inside).`);
  }
  checkSubgraphDepth(model.graph, source);
  return model;
}

function checkSubgraphDepth(graph: GraphProto, source: string): void {
  const stack: Array<[GraphProto, number]> = [[graph, 0]];
  while (stack.length) {
    const [g, depth] = stack.pop()!;
    if (depth > MAX_SUBGRAPH_DEPTH) {
      throw new CamLensError('MODEL_INVALID', `${source}: subgraphs are nested more than ${MAX_SUBGRAPH_DEPTH} levels deep.`);
    }
    for (const node of g.node) {
      for (const attr of node.attribute) {
        if (attr.g) stack.push([attr.g, depth + 1]);
        for (const sub of attr.graphs) stack.push([sub, depth + 1]);
      }
    }
  }
}

export function serializeModel(model: ModelProto): Uint8Array {
  // protobufjs grows its buffer by doubling, copying everything written so far each time, and
  // copies the result once more at the end: for a 100 MB model most of the time went there.
  // Reserving the tensor bytes (plus slack) up front and taking the written part as it is
  // leaves one buffer, written once (nested lengths still shift their content once).
  const writer = protobuf.Writer.create() as protobuf.Writer & { _reserve?(n: number): void };
  const tensorBytes = tensorPayloadBytes(model.graph);
  if (tensorBytes > 1 << 20 && typeof writer._reserve === 'function') writer._reserve(tensorBytes + (tensorBytes >> 6) + (1 << 20));
  const bytes = ModelType.encode(model as unknown as protobuf.Message, writer).finish(true);
  // The slack stays allocated as long as the bytes live: past a few percent, copy them out.
  return bytes.buffer.byteLength - bytes.byteLength > (1 << 20) + (bytes.byteLength >> 5) ? new Uint8Array(bytes) : bytes;
}

/** Bytes of tensor data in a graph's initializers (and its nodes' tensor attributes), roughly. */
function tensorPayloadBytes(graph: GraphProto | undefined): number {
  if (!graph) return 0;
  let n = 0;
  const add = (t: TensorProto | undefined) => {
    if (!t) return;
    n +=
      (t.rawData?.byteLength ?? 0) +
      4 * (t.floatData?.length ?? 0) +
      8 * ((t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0)) +
      4 * (t.int32Data?.length ?? 0);
  };
  for (const t of graph.initializer ?? []) add(t);
  for (const node of graph.node ?? [])
    for (const a of node.attribute ?? []) {
      add(a.t);
      if (a.g) n += tensorPayloadBytes(a.g);
    }
  return n;
}

export function serializeTensor(tensor: TensorProto): Uint8Array {
  return TensorType.encode(tensor as unknown as protobuf.Message).finish();
}

export function readModelFile(path: string): ModelProto {
  return parseModel(readUserFile(path, { what: 'model', maxBytes: FILE_LIMITS.model, code: 'MODEL_READ' }), path);
}
