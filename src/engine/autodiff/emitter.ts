// The node-emitting side of autodiff: a ModelBuilder over the copy of the model plus the helpers
// every rule needs (runtime shapes, typed constants, opset-correct Reduce/Squeeze forms,
// reducing a broadcast gradient back to an input's shape). Static facts come from the project's
// one shape inference (onnx/shapes) and are used where they are certain; otherwise the emitted
// graph computes the shape at run time, so symbolic dimensions (batch) keep working.
import { CamLensError } from '../errors';
import type { AttrValue, ModelBuilder } from '../onnx/builder';
import { attr } from '../onnx/builder';
import type { GraphNode } from '../onnx/graph';
import { makeTensor } from '../onnx/tensor';
import { DataType, type NodeProto } from '../onnx/types';
import type { ShapeDim, ShapeInference } from '../onnx/shapes';

export class Emitter {
  /** One runtime Shape node per forward value. */
  private readonly shapeNodes = new Map<string, string>();
  private readonly consts = new Map<string, string>();
  private readonly replaced = new Map<NodeProto, NodeProto>();

  /**
   * Element type for constants whose reference value has no known type (backward values): the
   * target's, since gradients of the differentiated float values share it in practice.
   */
  defaultDtype: number = DataType.FLOAT;

  constructor(
    readonly builder: ModelBuilder,
    readonly shapes: ShapeInference,
    private readonly upgradeOpset: (version: number, why: string) => void,
  ) {}

  private dtypeOf(value: string): number {
    return this.shapes.dtype(value) || this.defaultDtype;
  }

  get opset(): number {
    return this.builder.opset;
  }

  /** The emitted graph needs ai.onnx `version` (e.g. ScatterElements reduction needs 16). */
  requireOpset(version: number, why: string): void {
    if (this.opset < version) this.upgradeOpset(version, why);
  }

  op(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, outputCount = 1): string {
    return this.builder.node(opType, inputs, attributes, { name: this.builder.uniqueName(`grad/${opType}`), outputCount })[0];
  }

  ops(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined>, outputCount: number): string[] {
    return this.builder.node(opType, inputs, attributes, { name: this.builder.uniqueName(`grad/${opType}`), outputCount });
  }

  /** Runtime shape of a forward value (one Shape node per value). */
  shapeOf(value: string): string {
    let s = this.shapeNodes.get(value);
    if (!s) this.shapeNodes.set(value, (s = this.op('Shape', [value])));
    return s;
  }

  /** Runtime dims [start, end) of a value's shape, as a 1-D int64 tensor. */
  dimsOf(value: string, start: number, end?: number): string {
    const rank = this.shapes.rank(value);
    const e = end ?? rank;
    const st = this.shapes.shape(value);
    if (st && e !== undefined) {
      const part = st.slice(start < 0 ? st.length + start : start, e < 0 ? st.length + e : e);
      if (part.every((d) => typeof d === 'number')) return this.ints(part as number[]);
    }
    if (this.opset >= 15) {
      return this.op('Shape', [value], { start, ...(end !== undefined ? { end } : {}) });
    }
    return this.op('Slice', [this.shapeOf(value), this.ints([start]), this.ints([end ?? 2 ** 62])]);
  }

  /** A 1-D int64 constant (shared by all uses). */
  ints(values: readonly number[]): string {
    return this.constant(DataType.INT64, [values.length], values, 'ints');
  }

  /** A 1-D float32 constant (Resize scales are float32 whatever the data type). */
  constantFloats(values: readonly number[]): string {
    return this.constant(DataType.FLOAT, [values.length], values, 'floats');
  }

  /** A 0-D int64 constant. */
  int(value: number): string {
    return this.constant(DataType.INT64, [], [value], 'int');
  }

  /** A scalar in the element type of `like`. */
  scalar(value: number, like: string): string {
    const dtype = this.dtypeOf(like);
    if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) return this.constant(dtype, [], [value], 'c');
    const f = this.constant(DataType.FLOAT, [], [value], 'c');
    const key = `cast:${f}:${dtype}`;
    let c = this.consts.get(key);
    if (!c) this.consts.set(key, (c = this.op('Cast', [f], { to: dtype })));
    return c;
  }

  /** A float tensor constant in the element type of `like`. */
  tensor(dims: readonly number[], values: readonly number[], like: string): string {
    const dtype = this.dtypeOf(like);
    if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) return this.constant(dtype, dims, values, 't');
    return this.op('Cast', [this.constant(DataType.FLOAT, dims, values, 't')], { to: dtype });
  }

  private constant(dtype: DataType, dims: readonly number[], values: readonly number[], hint: string): string {
    const key = `${dtype}|${dims.join(',')}|${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.builder.initializer(`grad/${hint}`, dtype, dims, values);
      this.consts.set(key, name);
    }
    return name;
  }

  /** Zeros with the runtime shape of `value` and its element type. */
  zerosLike(value: string): string {
    const dtype = this.dtypeOf(value);
    const zero = dtype === DataType.DOUBLE ? makeTensor('', DataType.DOUBLE, [1], [0]) : makeTensor('', DataType.FLOAT, [1], [0]);
    delete zero.name;
    const z = this.op('ConstantOfShape', [this.shapeOf(value)], { value: attr.tensor(zero) });
    return dtype === DataType.FLOAT || dtype === DataType.DOUBLE ? z : this.op('Cast', [z], { to: dtype });
  }

  /** Sum of gradient contributions (Add for two, Sum for more). */
  sum(terms: readonly string[]): string {
    if (terms.length === 1) return terms[0];
    if (terms.length === 2) return this.op('Add', terms);
    return this.op('Sum', terms);
  }

  reduceSum(x: string, axes: readonly number[] | string, keepdims: boolean): string {
    if (Array.isArray(axes) && axes.length === 0) return x;
    const a = typeof axes === 'string' ? axes : this.ints(axes as number[]);
    return this.op('ReduceSum', [x, a], { keepdims: keepdims ? 1 : 0, ...(typeof axes === 'string' ? { noop_with_empty_axes: 1 } : {}) });
  }

  /** ReduceMean/ReduceMax/... in the form of the model's opset (axes attribute before 18). */
  reduce(opType: string, x: string, axes: readonly number[], keepdims: boolean): string {
    if (opType === 'ReduceSum') return this.reduceSum(x, axes, keepdims);
    if (this.opset >= 18) return this.op(opType, [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op(opType, [x], { axes: attr.ints([...axes]), keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op('Unsqueeze', [x, this.ints(axes)]);
  }

  squeeze(x: string, axes: readonly number[]): string {
    return this.op('Squeeze', [x, this.ints(axes)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op('Transpose', [x], { perm: attr.ints([...perm]) });
  }

  /** Reshape to the runtime shape of `value`. */
  reshapeLike(x: string, value: string): string {
    const st = this.shapes.staticShape(value);
    return this.op('Reshape', [x, st ? this.ints(st) : this.shapeOf(value)]);
  }

  /**
   * `grad` has the broadcast shape `gradShape` (or that of the value so named); sum it over the axes along which
   * `value` was broadcast so that the result has `value`'s shape.
   */
  reduceToShapeOf(grad: string, value: string, gradShape?: string | readonly ShapeDim[]): string {
    const sx = this.shapes.shape(value);
    const sy = typeof gradShape === 'string' ? this.shapes.shape(gradShape) : gradShape;
    if (sx && sy && sy.length >= sx.length) {
      const lead = sy.length - sx.length;
      let g = this.reduceSum(grad, range(lead), false);
      const axes: number[] = [];
      let undecided = false;
      sx.forEach((dx, i) => {
        const dy = sy[i + lead];
        if (dx === 1) {
          if (dy !== 1) axes.push(i);
          return;
        }
        if (typeof dx === 'number' || (typeof dx === 'string' && dx === dy)) return;
        undecided = true;
      });
      if (!undecided) return this.reduceSum(g, axes, true);
      // Some input dims are unknown: find the broadcast axes at run time.
      const differs = this.op('Not', [this.op('Equal', [this.shapeOf(g), this.shapeOf(value)])]);
      const idx = this.op('Compress', [this.ints(range(sx.length)), differs], { axis: 0 });
      g = this.reduceSum(g, idx, true);
      return g;
    }
    // Ranks unknown: everything at run time.
    const sg = this.op('Shape', [grad]);
    const sv = this.shapeOf(value);
    const leadCount = this.op('Squeeze', [this.op('Sub', [this.op('Shape', [sg]), this.op('Shape', [sv])]), this.ints([0])]);
    const lead = this.op('Range', [this.int(0), leadCount, this.int(1)]);
    const g1 = this.reduceSum(grad, lead, false);
    const differs = this.op('Not', [this.op('Equal', [this.op('Shape', [g1]), sv])]);
    const all = this.op('Range', [this.int(0), this.op('Squeeze', [this.op('Shape', [sv]), this.ints([0])]), this.int(1)]);
    return this.reduceSum(g1, this.op('Compress', [all, differs], { axis: 0 }), true);
  }

  /**
   * Gives a forward node an extra output (e.g. MaxPool's Indices) in the copy of the model; the
   * original NodeProto is left untouched.
   */
  addForwardOutput(node: GraphNode, position: number, hint: string): string {
    const list = this.builder.graph.node;
    const current = this.replaced.get(node.proto) ?? node.proto;
    if (current.output[position]) return current.output[position];
    const at = list.indexOf(current);
    if (at < 0) throw new CamLensError('MODEL_INVALID', `autodiff: node "${node.name}" is not in the graph copy.`);
    const name = this.builder.uniqueName(hint);
    const output = [...current.output];
    while (output.length < position) output.push('');
    output[position] = name;
    const copy: NodeProto = { ...current, output };
    list[at] = copy;
    this.replaced.set(node.proto, copy);
    return name;
  }
}

export function range(n: number, start = 0): number[] {
  return Array.from({ length: Math.max(0, n) }, (_, i) => i + start);
}
