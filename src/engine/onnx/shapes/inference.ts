// The result of shape inference over one graph, and the one place its facts are read: the
// rules read their inputs through it while it is filled (ValueSource), and consumers (the layer
// listing, the autodiff's gradient rules) ask it for the element type, shape or known contents
// of any value afterwards. Lookups never throw: a name it has not seen (e.g. a value the
// autodiff emitted after the analysis) reads as unknown.
import type { TensorProto } from '../types';
import type { ValueSource } from './context';
import { isStaticShape } from './dims';
import { SymbolTable } from './symbolic';
import type { ShapeDim, ShapeMap, ValueType } from './types';
import { decodeSmallTensor, type KnownTensor } from './values';

export interface RuleError {
  node: string;
  opType: string;
  message: string;
}

export class ShapeInference implements ValueSource {
  /** Every value of this graph (the main graph, or one If/Loop body): inputs, initializers, node outputs. */
  readonly types: ShapeMap = new Map();
  /**
   * Known contents of small tensors (folded shape arithmetic, small constants). Small
   * initializers join it on first use only, so weights are never decoded.
   */
  readonly values = new Map<string, KnownTensor>();
  /**
   * Nodes whose rule could not make sense of them (e.g. a malformed attribute, or with
   * `contradictions: 'record'` a contradiction); their outputs got unknown shapes.
   */
  readonly ruleErrors: RuleError[];
  readonly symbols: SymbolTable;
  private readonly decoded = new Set<string>();

  /**
   * `outer`: the enclosing scope when this is the analysis of a subgraph (an If branch, a Loop
   * body); names the subgraph does not define are read from there, as ONNX scoping says.
   */
  constructor(
    private readonly graph: { readonly initializers: ReadonlyMap<string, TensorProto> },
    readonly outer?: ShapeInference,
  ) {
    this.symbols = outer?.symbols ?? new SymbolTable();
    // A subgraph's troubles are the model's: one list for every scope.
    this.ruleErrors = outer?.ruleErrors ?? [];
  }

  typeOf(name: string): ValueType | undefined {
    return this.types.get(name) ?? this.outer?.typeOf(name);
  }

  valueOf(name: string): KnownTensor | undefined {
    const v = this.values.get(name);
    if (v || this.decoded.has(name)) return v;
    const init = this.graph.initializers.get(name);
    if (!init) return this.types.has(name) ? undefined : this.outer?.valueOf(name);
    this.decoded.add(name);
    const small = decodeSmallTensor(init);
    if (small) this.values.set(name, small);
    return small;
  }

  /** ONNX element type; 0 when unknown. */
  dtype(name: string): number {
    return this.typeOf(name)?.dtype ?? 0;
  }

  /** undefined when even the rank is unknown. */
  shape(name: string): ShapeDim[] | undefined {
    return this.typeOf(name)?.shape;
  }

  rank(name: string): number | undefined {
    return this.typeOf(name)?.shape?.length;
  }

  /** Every dimension as a number, or undefined if any is symbolic or unknown. */
  staticShape(name: string): number[] | undefined {
    const s = this.shape(name);
    return isStaticShape(s) ? s : undefined;
  }

  /**
   * The contents of a small tensor known statically (an initializer, a Constant, or folded
   * shape arithmetic such as Slice bounds computed from Shape), when every element is a number.
   */
  numbers(name: string): number[] | undefined {
    const data = this.valueOf(name)?.data;
    return data && data.every((x): x is number => typeof x === 'number') ? [...data] : undefined;
  }
}
