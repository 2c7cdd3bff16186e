// Reverse-mode autodiff over an ONNX graph: appends to a copy of the model the backward graph of
// score = sum(target * cotangent) with respect to chosen values (the taps), out of standard
// ai.onnx operators, so onnxruntime runs forward and backward in one session.
//
// Opset policy: the backward nodes are emitted in the form of the model's own ai.onnx opset
// (e.g. ReduceMean with an axes attribute before 18, an axes input from 18). Opset 13 is the
// minimum (axes/split as inputs): an older model is upgraded node by node first
// (onnx/opsetUpgrade.ts: one adapter per real change in the operator definitions). Some rules
// need a newer op version (ScatterElements/ScatterND with reduction='add' need 16, for MaxPool
// and Gather); then the graph built so far is upgraded the same way.
import { CamLensError, closestNames } from '../errors';
import { ModelBuilder, valueInfo } from '../onnx/builder';
import { Graph, type GraphNode } from '../onnx/graph';
import { isFloatType } from '../onnx/tensor';
import { aiOnnxOpset, upgradeGraph, upgradeOpset } from '../onnx/opsetUpgrade';
import { analyseShapes } from '../onnx/shapes';
import { floatTwin } from '../surgery/floatTwin';
import { inlineStaticBranches } from '../surgery/inlineBranches';
import type { ShapeDim, ShapeMap } from '../onnx/shapes/types';
import type { ModelProto } from '../onnx/types';
import { Emitter } from './emitter';
import { RuleContext } from './rule';
import { rulesFor, type RuleSetName } from './rules';

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
  /**
   * The rule set: 'standard' (the default: true derivatives) or a named variant of the one table
   * ('guided': guided backpropagation's ReLU). See rules/variants.ts.
   */
  rules?: RuleSetName;
  /**
   * An existing value of the model used as the cotangent (same shape as the target) instead of
   * a new graph input: a Hessian-vector product H·A differentiates a gradient graph's output
   * with the activation A itself as the cotangent.
   */
  seed?: string;
}

export interface GradientGraph {
  model: ModelProto;
  /** wrt value name → name of the graph output holding d(sum(target·cotangent))/d(wrt). */
  gradients: Record<string, string>;
  /** Name of the new graph input (same shape and element type as the target), or the `seed` value. */
  cotangent: string;
}

/** Ops whose outputs carry no gradient (integer/boolean results or piecewise constant). */
const STOPS = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'EyeLike',
  'Range',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'OneHot',
  'Mod',
  'BitShift',
  'QuantizeLinear',
  'DynamicQuantizeLinear',
]);

export function buildGradientGraph(original: ModelProto, request: GradientRequest): GradientGraph {
  // Models from the wild come at opset 7–12; the backward graph is written in opset 13 forms.
  // The forward part is upgraded first so that every rule sees the semantics it is written for.
  const upgraded = aiOnnxOpset(original) > 0 && aiOnnxOpset(original) < 13 ? upgradeOpset(original, 13).model : original;
  // Integer tensors stop gradients: a quantized model is differentiated through its float twin.
  const twin = floatTwin(upgraded);
  // The autodiff differentiates the main graph: an If decided statically becomes its branch.
  const model = inlineStaticBranches(twin.model).model;
  const graph = Graph.fromModel(model);
  const { target, wrt } = request;
  const rules = rulesFor(request.rules ?? 'standard');
  const all = new Set(graph.allValues());
  for (const name of [target, ...wrt, ...(request.seed ? [request.seed] : [])]) {
    if (!all.has(name)) {
      const near = closestNames(name, all);
      throw new CamLensError(
        'UNKNOWN_VALUE',
        `No value named "${name}" in the model${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : '.'}`,
      );
    }
  }
  if (wrt.length === 0) throw new CamLensError('BAD_ARGUMENT', 'buildGradientGraph: `wrt` is empty; name at least one value to differentiate with respect to.');

  // A contradiction found here is not fatal: its values stay unknown and the rules fall back to
  // shapes computed at run time (onnxruntime has the last word on whether the model runs).
  const shapes = analyseShapes(graph, { known: request.shapes, contradictions: 'record' });
  const builder = ModelBuilder.extend(model);
  let opset = graph.opset('');
  if (opset === 0) throw new CamLensError('MODEL_INVALID', 'autodiff: the model does not import the ai.onnx opset.');
  // Some rules need newer ops (ScatterElements with reduction='add' needs 16): the graph built so
  // far, forward and backward nodes alike, is rewritten into that opset's forms.
  const raiseOpset = (version: number) => {
    if (version <= opset) return;
    upgradeGraph(builder.graph, opset, version, { dtype: (v) => shapes.dtype(v), rank: (v) => shapes.rank(v) }, builder);
    builder.useOpset('', version);
    opset = version;
  };
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
  const cotangent = request.seed ?? newCotangentInput(builder, target, targetType);
  emitter.noteDtype(cotangent, targetType.dtype);

  const contributions = new Map<string, string[]>();
  const add = (value: string, grad: string) => {
    // A gradient has its value's element type (fp16 layers of a mixed-precision graph keep fp16 gradients).
    emitter.noteDtype(grad, shapes.dtype(value));
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
    if (node.domain === '' && CONTROL_FLOW_OPS.has(node.opType)) throw controlFlowOnPath(node, [...node.inputs, ...node.implicitInputs].filter(active));
    const rule = node.domain === '' ? rules[node.opType] : undefined;
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
    if (!gradientOf(w) && twin.blocked.length && !wrt.includes(target)) {
      throw new CamLensError(
        'UNSUPPORTED_OP',
        `No gradient reaches "${w}" from "${target}": quantized values pass through ${twin.blocked.join(', ')}, which the float twin cannot follow.`,
        { value: w, blocked: twin.blocked },
      );
    }
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

const CONTROL_FLOW_OPS = new Set(['If', 'Loop', 'Scan']);

/**
 * Design: a gradient never crosses control flow inside the backward graph. An If whose
 * condition folds to a constant was inlined before this point (surgery/inlineBranches); an If
 * decided at run time, a Loop or a Scan on the path from the layer to the target is refused
 * loudly, naming the values the target could be taken from instead (the differentiable values
 * that flow into the construct, which are ordinary values of the main graph).
 */
function controlFlowOnPath(node: GraphNode, feeding: readonly string[]): CamLensError {
  const why =
    node.opType === 'If'
      ? `its condition "${node.inputs[0]}" is decided at run time, and gradients are not taken through a branch chosen at run time`
      : `gradients through ${node.opType} bodies are not supported`;
  const instead = feeding.length
    ? ` Target a value computed before it instead (e.g. --target ${feeding
        .slice(0, 3)
        .map((v) => `"${v}@max"`)
        .join(', ')}).`
    : '';
  return new CamLensError('UNSUPPORTED_OP', `Cannot differentiate node "${node.name}" (${node.opType}): ${why}.${instead}`, {
    opType: node.opType,
    node: node.name,
    values: [...feeding],
  });
}

/** A graph input shaped like the target; uniqueName reserves the name, so the value info is added directly (input() would re-claim it). */
function newCotangentInput(builder: ModelBuilder, target: string, type: { dtype: number; shape?: readonly ShapeDim[] }): string {
  const name = builder.uniqueName(`${target}_cotangent`);
  builder.graph.input.push(valueInfo(name, type.dtype, type.shape));
  return name;
}

function unsupportedNode(node: GraphNode): CamLensError {
  const where = node.domain ? `${node.domain}::${node.opType}` : node.opType;
  return new CamLensError(
    'UNSUPPORTED_OP',
    `Cannot differentiate node "${node.name}" (${where}): no gradient rule for ${where}. Gradient-free CAM methods (EigenCAM, ScoreCAM, AblationCAM) still work on this model.`,
    { opType: node.opType, node: node.name, domain: node.domain },
  );
}
