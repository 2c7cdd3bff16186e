// What a shape rule sees of one node: its inputs' types and known values, its attributes
// (read defensively: a malformed attribute reads as absent or wrong-typed, never as a crash),
// and a way to report a contradiction that names the node.
import { CamLensError } from '../../errors';
import { findAttr } from '../attributes';
import type { GraphNode } from '../graph';
import { int64ToNumber } from '../int64';
import { AttributeType, type TensorProto } from '../types';
import type { SymbolTable } from './symbolic';
import type { ShapeDim, ValueType } from './types';
import type { KnownTensor } from './values';

/** One output as a rule computes it; `value` only for small tensors whose contents are known. */
export interface RuleOutput {
  dtype: number;
  shape?: ShapeDim[];
  value?: KnownTensor;
}

export type ShapeRule = (ctx: NodeContext) => RuleOutput | Array<RuleOutput | undefined> | undefined;

export interface ValueSource {
  typeOf(name: string): ValueType | undefined;
  valueOf(name: string): KnownTensor | undefined;
  readonly symbols: SymbolTable;
}

const decoder = new TextDecoder();

export class NodeContext {
  readonly symbols: SymbolTable;

  constructor(
    readonly node: GraphNode,
    readonly opset: number,
    private readonly source: ValueSource,
  ) {
    this.symbols = source.symbols;
  }

  get opType(): string {
    return this.node.opType;
  }

  /** Number of inputs as written (trailing optional ones may be absent). */
  get inputCount(): number {
    return this.node.inputs.length;
  }

  get outputCount(): number {
    return this.node.outputs.length;
  }

  /** True when input i is given (not omitted, not ''). */
  has(i: number): boolean {
    return !!this.node.inputs[i];
  }

  /** True when output i is wanted (present and named). */
  wants(i: number): boolean {
    return !!this.node.outputs[i];
  }

  type(i: number): ValueType {
    const name = this.node.inputs[i];
    return (name && this.source.typeOf(name)) || { dtype: 0 };
  }

  dtype(i: number): number {
    return this.type(i).dtype;
  }

  shape(i: number): ShapeDim[] | undefined {
    return this.type(i).shape;
  }

  rank(i: number): number | undefined {
    return this.type(i).shape?.length;
  }

  value(i: number): KnownTensor | undefined {
    const name = this.node.inputs[i];
    return name ? this.source.valueOf(name) : undefined;
  }

  /** Elements of a known scalar or 1-D input (numbers, symbols, nulls). */
  list(i: number): ShapeDim[] | undefined {
    const v = this.value(i);
    return v && v.dims.length <= 1 ? [...v.data] : undefined;
  }

  /** Elements of a known scalar or 1-D input when every one is a number. */
  numbers(i: number): number[] | undefined {
    const l = this.list(i);
    return l && l.every((x): x is number => typeof x === 'number') ? l : undefined;
  }

  /** A known scalar (or one-element) number input. */
  scalar(i: number): number | undefined {
    const v = this.value(i);
    return v && v.data.length === 1 && typeof v.data[0] === 'number' ? v.data[0] : undefined;
  }

  /** Number of elements of a 1-D input when its shape is static (e.g. the length of `axes`). */
  length(i: number): number | undefined {
    const s = this.shape(i);
    if (!s) return undefined;
    if (s.length === 0) return 1;
    return s.length === 1 && typeof s[0] === 'number' ? s[0] : undefined;
  }

  hasAttr(name: string): boolean {
    return !!findAttr(this.node.proto, name);
  }

  int(name: string, fallback: number): number;
  int(name: string): number | undefined;
  int(name: string, fallback?: number): number | undefined {
    const a = findAttr(this.node.proto, name);
    if (!a) return fallback;
    if (a.type !== undefined && a.type !== AttributeType.INT && a.type !== AttributeType.UNDEFINED) {
      this.fail(`attribute "${name}" should be an int`);
    }
    return int64ToNumber(a.i ?? 0);
  }

  ints(name: string): number[] | undefined {
    const a = findAttr(this.node.proto, name);
    if (!a) return undefined;
    if (a.type !== undefined && a.type !== AttributeType.INTS && a.type !== AttributeType.UNDEFINED) {
      this.fail(`attribute "${name}" should be a list of ints`);
    }
    return (a.ints ?? []).map(int64ToNumber);
  }

  float(name: string, fallback: number): number {
    const a = findAttr(this.node.proto, name);
    return a && typeof a.f === 'number' ? a.f : fallback;
  }

  floats(name: string): number[] | undefined {
    const a = findAttr(this.node.proto, name);
    return a ? [...(a.floats ?? [])] : undefined;
  }

  string(name: string, fallback: string): string {
    const a = findAttr(this.node.proto, name);
    return a?.s ? decoder.decode(a.s) : fallback;
  }

  tensor(name: string): TensorProto | undefined {
    return findAttr(this.node.proto, name)?.t ?? undefined;
  }

  /** A normalised axis in [0, rank); a contradiction when out of range. */
  axis(axis: number, rank: number, what = 'axis'): number {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
      this.fail(`${what} ${axis} is out of range for rank ${rank}`);
    }
    return axis < 0 ? axis + rank : axis;
  }

  /** A clear contradiction in the model: throws SHAPE_INFERENCE naming the node. */
  fail(message: string): never {
    throw new CamLensError('SHAPE_INFERENCE', `Shape inference: node "${this.node.name}" (${this.node.opType}): ${message}.`, {
      node: this.node.name,
      opType: this.node.opType,
    });
  }
}
