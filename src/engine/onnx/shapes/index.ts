// Static shape inference over the main graph, one rule per op (registry.ts), in topological
// order, and into If branches and Loop bodies (controlFlow.ts), which see the enclosing scope. Besides types it tracks the contents of small integer tensors (shape arithmetic) so
// that Reshape/Expand/Slice/Resize/Pad targets computed in the graph get static shapes, with
// symbolic dims (e.g. `batch`) kept by name. Where nothing can be decided, dims are null or the
// shape is undefined — never guessed. This is CamLens's only shape inference: the layer listing
// reads its types, the autodiff asks its result (inference.ts) for types, ranks and constants.
import { CamLensError } from '../../errors';
import { bodyNodes, type Graph, type GraphNode } from '../graph';
import type { GraphProto } from '../types';
import { tensorDims } from '../tensor';
import { NodeContext, type RuleOutput } from './context';
import { CONTROL_FLOW, type BodyAnalyser } from './controlFlow';
import { declaredType, mergeDeclared } from './dims';
import { ShapeInference } from './inference';
import { ruleFor } from './registry';
import type { ShapeDim, ShapeMap, ValueType } from './types';

export type { ShapeDim, ShapeMap, ValueType } from './types';
export type { KnownTensor } from './values';
export { ShapeInference, type RuleError } from './inference';
export { evaluateDim } from './symbolic';
export { supportedOps } from './registry';

/** The default-domain opset assumed when a model does not import one. */
const LATEST_OPSET = 21;

export interface AnalyseOptions {
  /**
   * Types the caller already knows (e.g. from an analysis of the model this graph extends);
   * they count as declarations: a rule's numbers win, these fill what it leaves unknown.
   */
  known?: ShapeMap;
  /**
   * 'throw' (default): a contradiction in the model throws SHAPE_INFERENCE. 'record': it is
   * kept in ruleErrors and the node's outputs stay unknown, for consumers that want the facts
   * that can be had (the autodiff then falls back to shapes computed at run time).
   */
  contradictions?: 'throw' | 'record';
}

export function inferShapes(graph: Graph): ShapeMap {
  return analyseShapes(graph).types;
}

export function analyseShapes(graph: Graph, options: AnalyseOptions = {}): ShapeInference {
  const result = new ShapeInference(graph);
  const declared = declarations(graph.proto, options.known);
  for (const name of graph.inputs) result.types.set(name, mergeDeclared(undefined, declared.get(name)));
  const scope: Scope = { opsets: graph.opsets, record: options.contradictions === 'record' };
  inferNodes(graph.nodes, graph.proto, result, declared, scope);
  return result;
}

/** What every graph of one model shares while it is analysed: the opsets and the contradiction policy. */
interface Scope {
  opsets: ReadonlyMap<string, number>;
  record: boolean;
}

/** Types of initializers and node outputs, in `nodes`' order (topological), into `result`. */
function inferNodes(nodes: readonly GraphNode[], proto: GraphProto, result: ShapeInference, declared: Map<string, ValueType>, scope: Scope): void {
  const { types } = result;
  for (const t of proto.initializer) {
    const dims = tensorDims(t);
    types.set(t.name ?? '', { dtype: t.dataType ?? 0, shape: dims.map((d) => (Number.isSafeInteger(d) && d >= 0 ? d : null)) });
  }
  const opset = scope.opsets.get('') || LATEST_OPSET;
  for (const node of nodes) {
    const outputs = runRule(node, node.domain === '' ? opset : (scope.opsets.get(node.domain) ?? 0), result, scope);
    node.outputs.forEach((name, i) => {
      if (!name) return;
      const out = outputs[i];
      const rule: ValueType | undefined = out ? { dtype: out.dtype || 0, ...(out.shape ? { shape: sanitize(out.shape) } : {}) } : undefined;
      types.set(name, mergeDeclared(rule, declared.get(name)));
      if (out?.value) result.values.set(name, out.value);
    });
  }
}

/**
 * The outputs of one subgraph (an If branch, a Loop body) analysed with its formal inputs typed
 * as `inputs`, inside the scope `outer` (whose names it may read).
 */
function analyseBody(scope: Scope): BodyAnalyser {
  return (body, inputs, outer) => {
    const result = new ShapeInference({ initializers: new Map(body.initializer.map((t) => [t.name ?? '', t])) }, outer);
    const declared = declarations(body);
    body.input.forEach((v, i) => {
      const given = inputs[i];
      result.types.set(
        v.name ?? '',
        mergeDeclared(given ? { dtype: given.dtype, ...(given.shape ? { shape: given.shape } : {}) } : undefined, declared.get(v.name ?? '')),
      );
    });
    inferNodes(bodyNodes(body), body, result, declared, scope);
    return body.output.map((v): RuleOutput => {
      const name = v.name ?? '';
      const value = result.valueOf(name);
      return { ...(result.typeOf(name) ?? { dtype: 0 }), ...(value ? { value } : {}) };
    });
  };
}

/**
 * What the model declares per value (inputs, value_info, outputs). A value declared more than
 * once (e.g. an output without a shape that also has a value_info with one) gets what all of
 * its declarations say together.
 */
function declarations(graph: GraphProto, known?: ShapeMap): Map<string, ValueType> {
  const out = new Map<string, ValueType>();
  const { input, valueInfo, output } = graph;
  for (const list of [input, valueInfo, output]) {
    for (const v of list) {
      const type = declaredType(v);
      if (!type || !v.name) continue;
      const prev = out.get(v.name);
      out.set(v.name, prev ? mergeDeclared(prev, type) : type);
    }
  }
  for (const [name, type] of known ?? []) {
    const prev = out.get(name);
    out.set(name, prev ? mergeDeclared(prev, type) : type);
  }
  return out;
}

function runRule(node: GraphNode, opset: number, source: ShapeInference, scope: Scope): Array<RuleOutput | undefined> {
  const control = node.domain === '' ? CONTROL_FLOW[node.opType] : undefined;
  const rule = ruleFor(node.domain, node.opType);
  if (!rule && !control) return [];
  try {
    const ctx = new NodeContext(node, opset, source);
    const result = control ? control(ctx, source, analyseBody(scope)) : rule!(ctx);
    return Array.isArray(result) ? result : [result];
  } catch (e) {
    if (e instanceof CamLensError && e.code === 'SHAPE_INFERENCE' && !scope.record) throw e;
    // A rule tripping over something unexpected must not take model loading down: the
    // outputs stay unknown and the error is kept for diagnostics.
    source.ruleErrors.push({ node: node.name, opType: node.opType, message: e instanceof Error ? e.message : String(e) });
    return [];
  }
}

/** Only non-negative integers and non-empty symbols are dims; anything else is unknown. */
function sanitize(shape: readonly ShapeDim[]): ShapeDim[] {
  return shape.map((d) => (typeof d === 'number' ? (Number.isSafeInteger(d) && d >= 0 ? d : null) : d || null));
}
