// The layer listing behind `camlens layers` and the layer tree: every value a user can tap,
// with what produces it and its inferred type, and the layer we suggest for CAM.
import type { LoadedModel } from './model';
import { scopePathOf } from './onnx/scopes';
import type { ShapeDim, ValueType } from './onnx/shapes/types';
import { dataTypeName, isFloatType } from './onnx/tensor';
import { lastBlockNorm1 } from './transformer/attention';

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

const spatialOk = (d: ShapeDim) => d === null || typeof d === 'string' || d > 1;

/**
 * torchcam's heuristic on a graph: the last 4-D/5-D float value whose spatial dims are > 1 on
 * the way to the output (i.e. right before global pooling/flatten). For transformers, where
 * token sequences [N, T, C] come after the last spatial map (ViT's patch embedding), the last
 * token sequence before the head. ViT-like graphs (attention Softmax found, see
 * transformer/attention.ts) get the last block's norm1 output instead, as pytorch-grad-cam advises.
 */
export function suggestCamLayer(model: LoadedModel): CamLayerSuggestion | undefined {
  const { graph, shapes } = model;
  const feeding = ancestorsOfOutputs(model);
  const norm1 = lastBlockNorm1(model);
  if (norm1 && feeding.has(norm1)) {
    return { value: norm1, kind: 'tokens', reason: "ViT: output of the last attention block's first LayerNormalization (pytorch-grad-cam's blocks[-1].norm1)" };
  }
  let spatial: { value: string; order: number } | undefined;
  let tokens: { value: string; order: number } | undefined;
  graph.nodes.forEach((node, order) => {
    for (const out of node.outputs) {
      if (!out || !feeding.has(out)) continue;
      const type = shapes.get(out);
      if (!type?.shape || !isFloatType(type.dtype)) continue;
      const rank = type.shape.length;
      if ((rank === 4 || rank === 5) && type.shape.slice(2).every(spatialOk)) spatial = { value: out, order };
      if (rank === 3 && spatialOk(type.shape[1]) && type.shape[2] !== 1) tokens = { value: out, order };
    }
  });
  if (tokens && (!spatial || tokens.order > spatial.order)) {
    return { value: tokens.value, kind: 'tokens', reason: 'last token sequence [N, T, C] before the head' };
  }
  if (spatial) return { value: spatial.value, kind: 'spatial', reason: 'last spatial feature map before global pooling' };
  return undefined;
}

function ancestorsOfOutputs(model: LoadedModel): Set<string> {
  const { graph } = model;
  const seen = new Set<string>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    const producer = graph.producerOf(value);
    if (producer) for (const v of [...producer.inputs, ...producer.implicitInputs]) if (v) stack.push(v);
  }
  return seen;
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
