// Static shape inference over the main graph, one rule per op (registry.ts), in topological
// order. Besides types it tracks the contents of small integer tensors (shape arithmetic) so
// that Reshape/Expand/Slice/Resize/Pad targets computed in the graph get static shapes, with
// symbolic dims (e.g. `batch`) kept by name. Where nothing can be decided, dims are null or the
// shape is undefined — never guessed.
import { CamLensError } from '../../errors';
import type { Graph, GraphNode } from '../graph';
import { tensorDims } from '../tensor';
import { NodeContext, type RuleOutput, type ValueSource } from './context';
import { declaredType, mergeDeclared } from './dims';
import { ruleFor } from './registry';
import { SymbolTable } from './symbolic';
import type { ShapeDim, ShapeMap, ValueType } from './types';
import { decodeSmallTensor, type KnownTensor } from './values';

export type { ShapeDim, ShapeMap, ValueType } from './types';
export type { KnownTensor } from './values';
export { evaluateDim } from './symbolic';
export { supportedOps } from './registry';

/** The default-domain opset assumed when a model does not import one. */
const LATEST_OPSET = 21;

export interface RuleError {
  node: string;
  opType: string;
  message: string;
}

export interface ShapeInference {
  /** Every value of the main graph: inputs, initializers, node outputs. */
  readonly types: ShapeMap;
  /** Known contents of small tensors (folded shape arithmetic, small constants). */
  readonly values: ReadonlyMap<string, KnownTensor>;
  /**
   * Nodes whose rule could not make sense of them (e.g. a malformed attribute); their outputs
   * got unknown shapes. Contradictions are thrown instead (SHAPE_INFERENCE).
   */
  readonly ruleErrors: readonly RuleError[];
}

export function inferShapes(graph: Graph): ShapeMap {
  return analyseShapes(graph).types;
}

export function analyseShapes(graph: Graph): ShapeInference {
  const types: ShapeMap = new Map();
  const values = new Map<string, KnownTensor>();
  const decoded = new Set<string>();
  const ruleErrors: RuleError[] = [];
  const source: ValueSource = {
    symbols: new SymbolTable(),
    typeOf: (name) => types.get(name),
    valueOf: (name) => {
      const v = values.get(name);
      if (v || decoded.has(name)) return v;
      // Initializers are decoded on first use only, and only when small (never weights).
      const init = graph.initializers.get(name);
      if (!init) return undefined;
      decoded.add(name);
      const small = decodeSmallTensor(init);
      if (small) values.set(name, small);
      return small;
    },
  };

  const declared = declarations(graph);
  for (const name of graph.inputs) {
    types.set(name, mergeDeclared(undefined, declared.get(name)));
  }
  for (const [name, t] of graph.initializers) {
    const dims = tensorDims(t);
    types.set(name, { dtype: t.dataType ?? 0, shape: dims.map((d) => (Number.isSafeInteger(d) && d >= 0 ? d : null)) });
  }

  const opset = graph.opset('') || LATEST_OPSET;
  for (const node of graph.nodes) {
    const outputs = runRule(node, node.domain === '' ? opset : graph.opset(node.domain), source, ruleErrors);
    node.outputs.forEach((name, i) => {
      if (!name) return;
      const out = outputs[i];
      const rule: ValueType | undefined = out ? { dtype: out.dtype || 0, ...(out.shape ? { shape: sanitize(out.shape) } : {}) } : undefined;
      types.set(name, mergeDeclared(rule, declared.get(name)));
      if (out?.value) values.set(name, out.value);
    });
  }
  return { types, values, ruleErrors };
}

/**
 * What the model declares per value (inputs, value_info, outputs). A value declared more than
 * once (e.g. an output without a shape that also has a value_info with one) gets what all of
 * its declarations say together.
 */
function declarations(graph: Graph): Map<string, ValueType> {
  const out = new Map<string, ValueType>();
  const { input, valueInfo, output } = graph.proto;
  for (const list of [input, valueInfo, output]) {
    for (const v of list) {
      const type = declaredType(v);
      if (!type || !v.name) continue;
      const prev = out.get(v.name);
      out.set(v.name, prev ? mergeDeclared(prev, type) : type);
    }
  }
  return out;
}

function runRule(node: GraphNode, opset: number, source: ValueSource, errors: RuleError[]): Array<RuleOutput | undefined> {
  const rule = ruleFor(node.domain, node.opType);
  if (!rule) return [];
  try {
    const result = rule(new NodeContext(node, opset, source));
    return Array.isArray(result) ? result : [result];
  } catch (e) {
    if (e instanceof CamLensError && e.code === 'SHAPE_INFERENCE') throw e;
    // A rule tripping over something unexpected must not take model loading down: the
    // outputs stay unknown and the error is kept for diagnostics.
    errors.push({ node: node.name, opType: node.opType, message: e instanceof Error ? e.message : String(e) });
    return [];
  }
}

/** Only non-negative integers and non-empty symbols are dims; anything else is unknown. */
function sanitize(shape: readonly ShapeDim[]): ShapeDim[] {
  return shape.map((d) => (typeof d === 'number' ? (Number.isSafeInteger(d) && d >= 0 ? d : null) : d || null));
}
