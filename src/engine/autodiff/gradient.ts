// Reverse-mode autodiff over an ONNX graph: appends to a copy of the model the backward graph of
// score = sum(target * cotangent) with respect to chosen values (the taps), out of standard
// ai.onnx operators, so onnxruntime runs forward and backward in one session.
//
// Opset policy: the backward nodes are emitted in the form of the model's own ai.onnx opset
// (e.g. ReduceMean with an axes attribute before 18, an axes input from 18). Opset 13 is the
// minimum (axes/split as inputs). Some rules need a newer op version (ScatterElements/ScatterND
// with reduction='add' need 16, for MaxPool and Gather). In those cases the model's opset import
// is raised, but only when no node in the model uses an operator whose meaning changes between
// the model's version and the new one (OPSET_BREAKS below); otherwise UNSUPPORTED_OP is raised
// and the caller can re-export the model with a newer opset.
import { CamLensError, closestNames } from '../errors';
import { ModelBuilder, valueInfo } from '../onnx/builder';
import { Graph, type GraphNode } from '../onnx/graph';
import { isFloatType } from '../onnx/tensor';
import { analyseShapes } from '../onnx/shapes';
import type { ShapeMap } from '../onnx/shapes/types';
import type { ModelProto } from '../onnx/types';
import { Emitter } from './emitter';
import { RuleContext } from './rule';
import { GRADIENT_RULES } from './rules';

export interface GradientRequest {
  /** The value whose weighted sum is differentiated (a model output or any value). */
  target: string;
  /** Values to differentiate with respect to (taps). */
  wrt: readonly string[];
  /**
   * Types already inferred for the model this one extends (e.g. LoadedModel.shapes); optional.
   * The graph is analysed anyway (the rules need folded constants too); these fill dims that
   * analysis leaves unknown.
   */
  shapes?: ShapeMap;
}

export interface GradientGraph {
  model: ModelProto;
  /** wrt value name → name of the graph output holding d(sum(target·cotangent))/d(wrt). */
  gradients: Record<string, string>;
  /** Name of the new graph input: same shape and element type as the target. */
  cotangent: string;
}

/** Ops whose outputs carry no gradient (integer/boolean results or piecewise constant). */
const STOPS = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'EyeLike', 'Range', 'RandomNormal', 'RandomUniform',
  'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'ArgMax', 'ArgMin', 'NonZero', 'Sign',
  'Floor', 'Ceil', 'Round', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or',
  'Xor', 'IsNaN', 'IsInf', 'TopK', 'OneHot', 'Mod', 'BitShift', 'QuantizeLinear', 'DynamicQuantizeLinear',
]);

/**
 * Operators whose definition changed incompatibly at an opset version (version → ops). Raising
 * a model's opset across one of these versions is only safe when the model does not use them.
 */
const OPSET_BREAKS: Record<number, string[]> = {
  10: ['Slice', 'TopK', 'Upsample', 'Dropout'],
  11: ['Pad', 'Clip', 'Resize', 'Concat', 'Gather', 'Scatter', 'Squeeze', 'Unsqueeze', 'Flatten', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ArgMax', 'Split', 'Softmax', 'LogSoftmax', 'Hardmax', 'AveragePool', 'MaxPool', 'Conv', 'ConvTranspose', 'Round', 'Range'],
  12: ['Dropout', 'ArgMax', 'ArgMin', 'ReduceMax', 'ReduceMin', 'MaxPool', 'GatherND', 'Clip'],
  13: ['Split', 'Squeeze', 'Unsqueeze', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Hardmax', 'Resize', 'Pad'],
  14: ['BatchNormalization', 'Reshape'],
  15: ['BatchNormalization', 'Shape'],
  16: ['RoiAlign', 'GridSample'],
};

export function buildGradientGraph(model: ModelProto, request: GradientRequest): GradientGraph {
  const graph = Graph.fromModel(model);
  const { target, wrt } = request;
  const all = new Set(graph.allValues());
  for (const name of [target, ...wrt]) {
    if (!all.has(name)) {
      const near = closestNames(name, all);
      throw new CamLensError('UNKNOWN_VALUE', `No value named "${name}" in the model${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : '.'}`);
    }
  }
  if (wrt.length === 0) throw new CamLensError('BAD_ARGUMENT', 'buildGradientGraph: `wrt` is empty; name at least one value to differentiate with respect to.');

  // A contradiction found here is not fatal: its values stay unknown and the rules fall back to
  // shapes computed at run time (onnxruntime has the last word on whether the model runs).
  const shapes = analyseShapes(graph, { known: request.shapes, contradictions: 'record' });
  const builder = ModelBuilder.extend(model);
  let opset = graph.opset('');
  if (opset === 0) throw new CamLensError('MODEL_INVALID', 'autodiff: the model does not import the ai.onnx opset.');
  const raiseOpset = (version: number, why: string) => {
    const blockers: string[] = [];
    const used = new Set(graph.nodes.filter((n) => n.domain === '').map((n) => n.opType));
    for (const [v, ops] of Object.entries(OPSET_BREAKS)) {
      if (Number(v) > opset && Number(v) <= version) for (const op of ops) if (used.has(op)) blockers.push(`${op} (changed in opset ${v})`);
    }
    if (blockers.length) {
      throw new CamLensError('UNSUPPORTED_OP',
        `The model uses ai.onnx opset ${opset}; ${why} needs opset ${version}, and raising it would change the meaning of ${[...new Set(blockers)].join(', ')}. Re-export the model with opset ${version} or newer.`);
    }
    builder.useOpset('', version);
    opset = version;
  };
  if (opset < 13) raiseOpset(13, 'the backward graph');
  const emitter = new Emitter(builder, shapes, raiseOpset);

  // Values that depend differentiably on some wrt value...
  const fromWrt = new Set<string>(wrt);
  const differentiable = (value: string) => {
    const dt = shapes.dtype(value);
    return dt === 0 || isFloatType(dt);
  };
  for (const node of graph.nodes) {
    if (STOPS.has(node.opType) && node.domain === '') continue;
    if (![...node.inputs, ...node.implicitInputs].some((i) => i && fromWrt.has(i))) continue;
    for (const o of node.outputs) if (o && differentiable(o)) fromWrt.add(o);
  }
  // ...and that the target depends on.
  const toTarget = new Set<string>([target]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    if (!node.outputs.some((o) => o && toTarget.has(o))) continue;
    for (const i of [...node.inputs, ...node.implicitInputs]) if (i) toTarget.add(i);
  }
  const active = (v: string) => !!v && fromWrt.has(v) && toTarget.has(v);

  const targetType = { dtype: shapes.dtype(target) || 1, shape: shapes.shape(target) };
  emitter.defaultDtype = targetType.dtype;
  // uniqueName reserves the name; the value info is added directly (input() would re-claim it).
  const cotangent = builder.uniqueName(`${target}_cotangent`);
  builder.graph.input.push(valueInfo(cotangent, targetType.dtype, targetType.shape));

  const contributions = new Map<string, string[]>();
  const add = (value: string, grad: string) => {
    let list = contributions.get(value);
    if (!list) contributions.set(value, (list = []));
    list.push(grad);
  };
  const gradientOf = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (!list || list.length === 0) return undefined;
    const g = emitter.sum(list);
    contributions.set(value, [g]);
    return g;
  };
  if (active(target) || wrt.includes(target)) add(target, cotangent);

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    if (!node.outputs.some(active)) continue;
    const needs = node.inputs.map(active);
    if (!needs.some(Boolean) && !node.implicitInputs.some(active)) continue;
    const grads = node.outputs.map((o) => (active(o) ? gradientOf(o) : undefined));
    if (grads.every((g) => g === undefined)) continue;
    const rule = node.domain === '' ? GRADIENT_RULES[node.opType] : undefined;
    if (!rule || node.implicitInputs.some(active)) throw unsupportedNode(node);
    const ctx = new RuleContext(node, grads, needs, emitter);
    const result = rule(ctx);
    needs.forEach((need, i) => {
      if (need && result[i]) add(node.inputs[i], result[i]!);
    });
  }

  const gradients: Record<string, string> = {};
  for (const w of wrt) {
    if (gradients[w]) continue;
    const g = gradientOf(w) ?? emitter.zerosLike(w);
    const name = builder.uniqueName(`${w}_grad`);
    const identity = builder.node('Identity', [g], {}, { name: builder.uniqueName(`grad/output/${w}`) });
    builder.graph.node[builder.graph.node.length - 1].output = [name];
    void identity;
    builder.output(name, shapes.dtype(w) || targetType.dtype, shapes.shape(w));
    gradients[w] = name;
  }
  return { model: builder.build(), gradients, cotangent };
}

function unsupportedNode(node: GraphNode): CamLensError {
  const where = node.domain ? `${node.domain}::${node.opType}` : node.opType;
  return new CamLensError('UNSUPPORTED_OP',
    `Cannot differentiate node "${node.name}" (${where}): no gradient rule for ${where}. Gradient-free CAM methods (EigenCAM, ScoreCAM, AblationCAM) still work on this model.`,
    { opType: node.opType, node: node.name, domain: node.domain });
}
