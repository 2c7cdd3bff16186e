// The layer sweep: one method (Grad-CAM by default) at every block output from the input to the
// head, to see at which depth the evidence for the target forms. A "block output" is a feature
// map that every path from the input to the scored output passes through (a dominator of the
// output: a residual block's output, never a value inside a block that its skip connection
// bypasses), up to the suggested CAM layer (the head's input); of a layer followed directly by
// its activation or normalisation, the activation's output. All maps come from ONE explain run
// with every swept layer tapped (ExplainParams.layerMaps).
import { CamLensError } from '../errors';
import { explain } from '../explain';
import type { CamMethodName, ExplainContext, ExplainParams, ExplainResult, ExplainWarning, MapData } from '../explainTypes';
import { ancestorsOf, suggestCamLayer } from '../layers';
import type { LoadedModel } from '../model';
import { isFloatType } from '../onnx/tensor';
import { spatialGridOf, tokenSourceGrid } from '../transformer/tokenGeometry';
import { loadForExplain } from './modelAndConfig';
import { scoreOutput } from './camLayers';

/** Layers the sweep shows at most (evenly chosen, the first and the last kept, when there are more). */
export const DEFAULT_SWEEP_LAYERS = 16;

/** Ops whose output replaces their input as the block's output: activations, normalisations, copies. */
const FOLLOW_ON = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Swish',
  'Mish',
  'Gelu',
  'Tanh',
  'Softplus',
  'Clip',
  'BatchNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'GroupNormalization',
  'Identity',
  'Dropout',
]);

export interface SweepLayers {
  /** The block outputs shown, input side first. */
  layers: string[];
  /** Block outputs found in all (more than `layers` when they were thinned). */
  found: number;
}

/** The block outputs of `model` for the scores in `output`, ordered by depth (see the header). */
export function sweepLayers(model: LoadedModel, output: string, maxLayers = DEFAULT_SWEEP_LAYERS): SweepLayers {
  const { graph } = model;
  const head = suggestCamLayer(model, output)?.value;
  if (!head)
    throw new CamLensError('BAD_ARGUMENT', `No CAM layer could be suggested for "${output}", so the head of the model is unknown; the layer sweep needs one.`);
  const order = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.outputs.forEach((o) => o && order.set(o, i)));
  const end = order.get(head) ?? -1;
  const inputs = new Set(graph.inputs);
  const feeding = ancestorsOf(model, [output]);
  const isMap = (v: string) => {
    if (spatialGridOf(model, v)) return true;
    const type = model.shapes.get(v);
    return type?.shape?.length === 3 && isFloatType(type.dtype) && tokenSourceGrid(model, v) !== undefined;
  };
  // A dominator of the output: without walking through it, no graph input reaches the output.
  const dominates = (v: string) => ![...ancestorsOf(model, [output], new Set([v]))].some((u) => u !== v && inputs.has(u));
  const candidates = graph.nodes
    .flatMap((n) => n.outputs)
    .filter((v) => v && !inputs.has(v) && feeding.has(v) && (order.get(v) ?? Infinity) <= end && isMap(v) && dominates(v));
  const blocks = candidates.filter((v, i) => {
    const next = candidates[i + 1];
    const producer = next === undefined ? undefined : graph.producerOf(next);
    return !(producer && FOLLOW_ON.has(producer.opType) && producer.inputs[0] === v);
  });
  if (!blocks.includes(head)) blocks.push(head);
  return { layers: thin(blocks, maxLayers), found: blocks.length };
}

/** At most `max` of `items`, evenly spaced, the first and the last kept. */
function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  if (max <= 1) return [items[items.length - 1]];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]);
}

export interface LayerSweepParams extends Omit<ExplainParams, 'layers' | 'layerMaps' | 'topk'> {
  /** The layers to sweep (default: the block outputs, sweepLayers). */
  layers?: string[];
  maxLayers?: number;
}

export interface LayerSweepStep {
  layer: string;
  /** The layer's map at the model's input size. */
  cam: MapData;
  /** The map's size at the layer (its grid). */
  rawWidth: number;
  rawHeight: number;
  /** This layer's probably meaningless results (an all-zero map, a gradient that does not reach it). */
  warnings: ExplainWarning[];
}

export interface LayerSweepResult {
  model: string;
  input: string;
  method: CamMethodName;
  classIndex: number;
  label: string;
  /** The preprocessed-size picture the model saw (the maps' size). */
  image: NonNullable<ExplainResult['image']>;
  steps: LayerSweepStep[];
  /** Block outputs found; more than `steps` when they were thinned to maxLayers. */
  found: number;
  ep: string;
  /** Warnings of the whole explanation that name no swept layer. */
  warnings: ExplainWarning[];
  timings_ms: ExplainResult['timings_ms'];
}

/** The sweep's maps: one explain run with every block output tapped. */
export async function layerSweep(params: LayerSweepParams, ctx: ExplainContext): Promise<LayerSweepResult> {
  const { model } = loadForExplain(params.modelPath, params.configPath, params.labelsPath);
  const output = scoreOutput(model, params.output);
  const chosen = params.layers?.length ? { layers: params.layers, found: params.layers.length } : sweepLayers(model, output, params.maxLayers);
  ctx.progress?.(0, 1, `${chosen.layers.length} layers`);
  const r = await explain({ ...params, method: params.method ?? 'gradcam', layers: chosen.layers, layerMaps: true, overlay: false, topk: undefined }, ctx);
  ctx.progress?.(1, 1, `${chosen.layers.length} layers`);
  const e = r.explanations[0];
  // mapWarnings names its layer as `layer "NAME"`.
  const mentions = (w: ExplainWarning, layer: string) => w.message.includes(`layer "${layer}"`);
  return {
    model: r.model,
    input: r.input,
    method: r.method,
    classIndex: e.classIndex,
    label: e.label,
    // explain() above never says `pictures: false`.
    image: r.image!,
    steps: (e.layerCams ?? []).map((l) => ({ ...l, warnings: r.warnings.filter((w) => mentions(w, l.layer)) })),
    found: chosen.found,
    ep: r.ep,
    warnings: r.warnings.filter((w) => !chosen.layers.some((l) => mentions(w, l))),
    timings_ms: r.timings_ms,
  };
}
