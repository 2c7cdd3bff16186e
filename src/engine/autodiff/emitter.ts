// The node-emitting side of autodiff: a ModelBuilder over the copy of the model plus the helpers
// every rule needs (runtime shapes, typed constants, opset-correct Reduce/Squeeze forms,
// reducing a broadcast gradient back to an input's shape). Static facts come from the project's
// one shape inference (onnx/shapes) and are used where they are certain; otherwise the emitted
// graph computes the shape at run time, so symbolic dimensions (batch) keep working.
import { CamLensError } from '../errors';
import type { AttrValue, ModelBuilder } from '../onnx/builder';
import { attr, type TypedAttr } from '../onnx/builder';
import type { GraphNode } from '../onnx/graph';
import { makeTensor } from '../onnx/tensor';
import { DataType, type NodeProto, type TensorProto } from '../onnx/types';
import type { ShapeDim, ShapeInference } from '../onnx/shapes';

export class Emitter {
  /** One runtime Shape node per forward value. */
  private readonly shapeNodes = new Map<string, string>();
  private readonly consts = new Map<string, string>();
  private readonly replaced = new Map<NodeProto, NodeProto>();

  /**
   * Element types of the values this emitter made (backward values), so that a constant meets
   * each value in its own type: in a mixed-precision graph the gradient of an fp16 layer is fp16
   * even when the target is float32. See `noteDtype` and `op`.
   */
  private readonly emitted = new Map<string, number>();

  /**
   * Element type for values whose type is neither inferred nor emitted here: the target's.
   */
  defaultDtype: number = DataType.FLOAT;

  constructor(
    readonly builder: ModelBuilder,
    readonly shapes: ShapeInference,
    private readonly upgradeOpset: (version: number, why: string) => void,
  ) {}

  /** The element type of a forward or backward value. */
  dtypeOf(value: string): number {
    return this.shapes.dtype(value) || this.emitted.get(value) || this.defaultDtype;
  }

  /** Records that backward value `value` has element type `dtype` (e.g. a gradient has its forward value's type). */
  noteDtype(value: string, dtype: number): void {
    if (dtype && !this.shapes.dtype(value) && !this.emitted.has(value)) this.emitted.set(value, dtype);
  }

  get opset(): number {
    return this.builder.opset;
  }

  /** The emitted graph needs ai.onnx `version` (e.g. ScatterElements reduction needs 16). */
  requireOpset(version: number, why: string): void {
    if (this.opset < version) this.upgradeOpset(version, why);
  }

  op(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined> = {}, outputCount = 1): string {
    return this.ops(opType, inputs, attributes, outputCount)[0];
  }

  ops(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined>, outputCount: number): string[] {
    const outputs = this.builder.node(opType, inputs, attributes, { name: this.builder.uniqueName(`grad/${opType}`), outputCount });
    const dtype = this.resultDtype(opType, inputs, attributes);
    if (dtype) for (const o of outputs) this.emitted.set(o, dtype);
    return outputs;
  }

  /** The element type of an emitted op's outputs, for the ops the rules emit. */
  private resultDtype(opType: string, inputs: readonly string[], attributes: Record<string, AttrValue | undefined>): number {
    if (opType === 'Cast') return Number(attributes.to);
    if (opType === 'ConstantOfShape')
      return (attributes.value as TypedAttr | undefined)?.value ? ((attributes.value as TypedAttr).value as TensorProto).dataType! : DataType.FLOAT;
    if (INT64_RESULTS.has(opType)) return DataType.INT64;
    if (BOOL_RESULTS.has(opType)) return DataType.BOOL;
    // Where(cond, a, b) has the type of a; every other emitted op keeps its first input's type.
    const from = opType === 'Where' ? inputs[1] : opType === 'Range' || opType === 'Compress' ? inputs[0] : inputs.find((i) => i);
    return from ? this.dtypeOf(from) : 0;
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
    return this.constant(constantDtype(this.dtypeOf(like)), [], [value], 'c', this.dtypeOf(like));
  }

  /** A float tensor constant in the element type of `like`. */
  tensor(dims: readonly number[], values: readonly number[], like: string): string {
    return this.constant(constantDtype(this.dtypeOf(like)), dims, values, 't', this.dtypeOf(like));
  }

  /**
   * A shared initializer stored as `dtype`; when the wanted type `to` cannot be stored directly
   * (integers of a non-float value), it is cast once.
   */
  private constant(dtype: DataType, dims: readonly number[], values: readonly number[], hint: string, to: number = dtype): string {
    const key = `${dtype}|${dims.join(',')}|${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.builder.initializer(`grad/${hint}`, dtype, dims, values);
      this.consts.set(key, name);
      this.emitted.set(name, dtype);
    }
    if (to === dtype) return name;
    const castKey = `cast:${name}:${to}`;
    let cast = this.consts.get(castKey);
    if (!cast) this.consts.set(castKey, (cast = this.op('Cast', [name], { to })));
    return cast;
  }

  /** A tensor of `value`s with the runtime shape `shape` (a 1-D int64 value) in element type `dtype`. */
  filled(shape: string, value: number, dtype: number): string {
    const stored = constantDtype(dtype);
    const one = makeTensor('', stored, [1], [value]);
    delete one.name;
    const t = this.op('ConstantOfShape', [shape], { value: attr.tensor(one) });
    return stored === dtype ? t : this.op('Cast', [t], { to: dtype });
  }

  /** Zeros with the runtime shape of `value` and its element type. */
  zerosLike(value: string): string {
    return this.filled(this.shapeOf(value), 0, this.dtypeOf(value));
  }

  /**
   * Runs `emit` on `inputs` cast to float32 and casts its result back to `dtype`, for ops that
   * onnxruntime's CPU provider lacks in half precision (ScatterElements/ScatterND with
   * reduction='add'); float32 and float64 inputs pass through unchanged.
   */
  inFloat32(dtype: number, inputs: readonly string[], emit: (inputs: string[]) => string): string {
    if (dtype !== DataType.FLOAT16 && dtype !== DataType.BFLOAT16) return emit([...inputs]);
    const widened = inputs.map((i) => (this.dtypeOf(i) === dtype ? this.op('Cast', [i], { to: DataType.FLOAT }) : i));
    return this.op('Cast', [emit(widened)], { to: dtype });
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

/** Ops the rules emit whose result is int64 / bool whatever their inputs. */
const INT64_RESULTS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const BOOL_RESULTS = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

/** How a constant of element type `dtype` is stored: floats of every width directly; other types as float32, then cast. */
function constantDtype(dtype: number): DataType {
  return dtype === DataType.FLOAT || dtype === DataType.DOUBLE || dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16 ? dtype : DataType.FLOAT;
}

export function range(n: number, start = 0): number[] {
  return Array.from({ length: Math.max(0, n) }, (_, i) => i + start);
}
