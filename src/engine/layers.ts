// The layer listing behind `camlens layers` and the layer tree: every value a user can tap,
// with what produces it and its inferred type, and the layer we suggest for CAM.
import type { LoadedModel } from './model';
import { scopePathOf } from './onnx/scopes';
import type { ShapeDim, ValueType } from './onnx/shapes/types';
import { dataTypeName, isFloatType } from './onnx/tensor';
import { formatShape } from './shapeText';
import { lastBlockNorm1 } from './transformer/attention';
import { spatialGridOf, tokenSourceGrid } from './transformer/tokenGeometry';

export interface LayerInfo {
  /** The value's name (what taps and `--layer` refer to). */
  name: string;
  /** Producing node's name; '' for graph inputs. */
  node: string;
  /** Producing op type; 'Input' for graph inputs. */
  op: string;
  dtype: string;
  /** null entries are unknown dims; the whole shape is null when even the rank is unknown. */
  shape: ShapeDim[] | null;
  /** Scope path of the producing node ('' at the root). */
  scope: string;
  suggested: boolean;
}

export type SuggestionKind = 'spatial' | 'tokens';

export interface CamLayerSuggestion {
  value: string;
  kind: SuggestionKind;
  reason: string;
}

/** Every value `values` are computed from (themselves included), through producers and subgraph reads. */
export function ancestorsOf(model: LoadedModel, values: readonly string[], stopAt?: ReadonlySet<string>): Set<string> {
  const { graph } = model;
  const seen = new Set<string>();
  const stack = [...values];
  while (stack.length) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    if (stopAt?.has(value)) continue;
    const producer = graph.producerOf(value);
    if (producer) for (const v of [...producer.inputs, ...producer.implicitInputs]) if (v) stack.push(v);
  }
  return seen;
}

/** The graph outputs computed from `value`. */
export function outputsFedBy(model: LoadedModel, value: string): string[] {
  return model.graph.outputs.filter((o) => ancestorsOf(model, [o]).has(value));
}

/** Ops after which every position of a map is gone: the classifier's global pooling and flattening. */
const POOLING = new Set([
  'GlobalAveragePool',
  'GlobalMaxPool',
  'GlobalLpPool',
  'AveragePool',
  'MaxPool',
  'LpPool',
  'ReduceMean',
  'ReduceMax',
  'ReduceSum',
  'Flatten',
  'Gemm',
]);

/**
 * The layer CAM explains `output` with (default: the model's first output, the one explain
 * scores), chosen among the values `output` is computed from only:
 * - ViT-like graphs (attention Softmax found, see transformer/attention.ts): the last block's
 *   norm1 output, as pytorch-grad-cam advises.
 * - Walking back from the output through everything that is not a spatial map finds the head's
 *   inputs (its "frontier"). A classifier's frontier is pooled or flattened: the last spatial map
 *   before global pooling (torchcam's heuristic). A dense head (detector, segmenter) keeps every
 *   position: its frontier maps are its own predictions, so the suggestion is the map every path
 *   to the coarsest of them passes through with another channel count: the neck/backbone output
 *   the head reads, never the output itself or a side branch.
 * - A token sequence [N, T, C] after that map whose T is its grid (plus up to 8 leading class or
 *   register tokens): the last such sequence before the head (transformers, recognisers).
 */
export function suggestCamLayer(model: LoadedModel, output = model.graph.outputs[0]): CamLayerSuggestion | undefined {
  const { graph, shapes } = model;
  const feeding = ancestorsOf(model, [output]);
  const norm1 = lastBlockNorm1(model);
  if (norm1 && feeding.has(norm1)) {
    return {
      value: norm1,
      kind: 'tokens',
      reason: `ViT: output of the last attention block's first LayerNormalization (pytorch-grad-cam's blocks[-1].norm1), feeding "${output}"`,
    };
  }
  const order = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.outputs.forEach((o) => o && order.set(o, i)));
  const inputs = new Set(graph.inputs);
  const isSpatial = (v: string) => v !== '' && !inputs.has(v) && spatialGridOf(model, v) !== undefined;
  const frontier = headFrontier(model, output, isSpatial);
  if (!frontier.length) return tokenSuggestion(model, feeding, output, order, undefined);
  // The coarsest frontier map (fewest positions; the later one on a tie): the deepest features.
  const area = (v: string) => {
    const g = spatialGridOf(model, v)!;
    return typeof g.h === 'number' && typeof g.w === 'number' ? g.h * g.w : Infinity;
  };
  const coarsest = frontier.reduce((a, b) => (area(b) < area(a) || (area(b) === area(a) && (order.get(b) ?? -1) > (order.get(a) ?? -1)) ? b : a));
  const pooled = coarsest !== output && graph.consumersOf(coarsest).some((n) => POOLING.has(n.opType));
  let chosen = coarsest;
  let why: string;
  const describe = (v: string) => `${formatShape(shapes.get(v)?.shape ?? null)}${strideText(model, v)}`;
  if (pooled) {
    why = `last spatial map ${describe(coarsest)} before global pooling, feeding "${output}"`;
  } else {
    const before = denseHeadInput(model, coarsest, output, isSpatial, order);
    if (!before) return tokenSuggestion(model, feeding, output, order, undefined);
    chosen = before;
    why =
      `the map ${describe(chosen)} the head of "${output}" reads (every path to its ` +
      `${frontier.length > 1 ? `coarsest of ${frontier.length} prediction maps` : 'prediction map'} ${describe(coarsest)} passes through it): the neck/backbone output, not the head's own predictions`;
  }
  return tokenSuggestion(model, feeding, output, order, { value: chosen, reason: why });
}

/** The spatial maps nearest the output: walking back from it through values that are not spatial maps. */
function headFrontier(model: LoadedModel, output: string, isSpatial: (v: string) => boolean): string[] {
  const { graph } = model;
  const found: string[] = [];
  const seen = new Set<string>();
  const stack = [output];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (isSpatial(v)) {
      found.push(v);
      continue;
    }
    const producer = graph.producerOf(v);
    if (producer) for (const u of producer.inputs) if (u && !graph.initializers.has(u)) stack.push(u);
  }
  return found;
}

/**
 * A dense head's input: walking back from `end` (one of its prediction maps), the first spatial
 * value that every path from the graph inputs to `end` goes through (a dominator) and whose
 * channel count differs from the predictions' (the prediction convolutions and their resizes
 * have the class count).
 */
function denseHeadInput(
  model: LoadedModel,
  end: string,
  output: string,
  isSpatial: (v: string) => boolean,
  order: ReadonlyMap<string, number>,
): string | undefined {
  const { graph } = model;
  const channelsOf = (v: string) => spatialGridOf(model, v)?.channels;
  const predictionChannels = new Set([channelsOf(end), channelsOf(output)].filter((c) => c !== undefined && c !== null));
  const candidates = [...ancestorsOf(model, [end])].filter((v) => v !== end && isSpatial(v)).sort((a, b) => (order.get(b) ?? -1) - (order.get(a) ?? -1));
  const inputs = new Set(graph.inputs);
  for (const d of candidates) {
    const channels = channelsOf(d);
    if (channels !== undefined && channels !== null && predictionChannels.has(channels)) continue;
    // d dominates end when end's ancestors, not walking through d, reach no graph input.
    const around = ancestorsOf(model, [end], new Set([d]));
    if (![...around].some((v) => v !== d && inputs.has(v))) return d;
  }
  return undefined;
}

/** A token sequence after `spatial` (or anywhere, without one) that is its grid: the last one before the head. */
function tokenSuggestion(
  model: LoadedModel,
  feeding: ReadonlySet<string>,
  output: string,
  order: ReadonlyMap<string, number>,
  spatial: { value: string; reason: string } | undefined,
): CamLayerSuggestion | undefined {
  const after = spatial ? (order.get(spatial.value) ?? -1) : -1;
  let tokens: string | undefined;
  for (const node of model.graph.nodes) {
    for (const out of node.outputs) {
      if (!out || out === output || !feeding.has(out) || (order.get(out) ?? -1) <= after) continue;
      const type = model.shapes.get(out);
      if (!type?.shape || type.shape.length !== 3 || !isFloatType(type.dtype) || type.shape[2] === 1) continue;
      if (tokenSourceGrid(model, out)) tokens = out;
    }
  }
  if (tokens) {
    const g = tokenSourceGrid(model, tokens)!;
    return {
      value: tokens,
      kind: 'tokens',
      reason: `last token sequence ${formatShape(model.shapes.get(tokens)?.shape ?? null)} before the head of "${output}": a ${g.h}x${g.w} grid${g.extraTokens ? ` after ${g.extraTokens} leading token(s)` : ''} from ${g.source}`,
    };
  }
  return spatial ? { value: spatial.value, kind: 'spatial', reason: spatial.reason } : undefined;
}

/** ' (stride 32)' when the map and the model input have static sizes. */
function strideText(model: LoadedModel, value: string): string {
  const g = spatialGridOf(model, value);
  if (!g?.stride) return '';
  const [sy, sx] = g.stride;
  return sy === sx ? ` (stride ${sy})` : ` (stride ${sy}x${sx})`;
}

export function listLayers(model: LoadedModel, options: { includeInitializers?: boolean } = {}): LayerInfo[] {
  const { graph, shapes } = model;
  const suggested = suggestCamLayer(model)?.value;
  const describe = (type: ValueType | undefined) => ({
    dtype: type ? dataTypeName(type.dtype) : 'unknown',
    shape: type?.shape ? [...type.shape] : null,
  });
  const rows: LayerInfo[] = graph.inputs.map((name) => ({
    name,
    node: '',
    op: 'Input',
    ...describe(shapes.get(name)),
    scope: '',
    suggested: name === suggested,
  }));
  if (options.includeInitializers) {
    for (const name of graph.initializers.keys()) {
      rows.push({ name, node: '', op: 'Initializer', ...describe(shapes.get(name)), scope: '', suggested: false });
    }
  }
  for (const node of graph.nodes) {
    for (const name of node.outputs) {
      if (!name) continue;
      rows.push({
        name,
        node: node.name,
        op: node.opType,
        ...describe(shapes.get(name)),
        scope: scopePathOf(node).join('/'),
        suggested: name === suggested,
      });
    }
  }
  return rows;
}

export { formatShape } from './shapeText';
