// What the gradient rules know statically about a forward value: element type, rank, and the
// dimensions that are fixed numbers. A small forward propagation over the ops autodiff meets,
// seeded by the model's declared types and initializers, and optionally overlaid by the
// project's full shape inference (`known`). Anything unsure is left unknown: rules then emit
// runtime shape arithmetic (Shape → Slice/Concat) instead of baking in sizes, which is also
// what keeps a symbolic batch dimension working.
import { attrInt, attrInts, attrTensor } from '../onnx/attributes';
import type { Graph, GraphNode } from '../onnx/graph';
import { int64ToNumber } from '../onnx/int64';
import type { ShapeDim, ShapeMap, ValueType } from '../onnx/shapes/types';
import { tensorDims, tensorToArray, tensorToNumbers } from '../onnx/tensor';
import { DataType, type TensorProto } from '../onnx/types';

export type { ShapeDim, ValueType };

const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);
const SAME_AS_FIRST = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Softplus', 'Erf', 'Gelu',
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Identity', 'Dropout', 'Sqrt', 'Exp', 'Log',
  'Neg', 'Reciprocal', 'Abs', 'Softmax', 'LogSoftmax', 'Elu', 'Selu', 'Celu', 'Mish', 'Softsign', 'Sin', 'Cos',
  'Floor', 'Ceil', 'Round', 'Sign', 'LRN', 'CumSum',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Min', 'Max', 'Sum', 'Mean', 'Mod', 'Equal', 'Less',
  'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'PRelu']);

/** Static facts about values; lookups never throw. */
export class ShapeInfo {
  private readonly types = new Map<string, ValueType>();
  /** Small constant integer tensors (shapes, axes) found in initializers and Constant nodes. */
  private readonly constants = new Map<string, number[]>();

  constructor(private readonly graph: Graph, known?: ShapeMap, knownValues?: ReadonlyMap<string, { dims: readonly number[]; data: readonly ShapeDim[] }>) {
    if (knownValues) {
      // folded shape arithmetic (e.g. Slice bounds computed from Shape): fully numeric ones only
      for (const [name, v] of knownValues) {
        if (v.data.length <= 64 && v.data.every((d) => typeof d === 'number')) this.constants.set(name, v.data as number[]);
      }
    }
    for (const [name, t] of graph.initializers) {
      this.types.set(name, { dtype: t.dataType ?? 0, shape: tensorDims(t) });
      this.recordConstant(name, t);
    }
    for (const [name, v] of graph.declared) {
      const tt = v.type?.tensorType;
      if (!tt) continue;
      // Decoded messages answer unset fields with prototype defaults (dimValue 0): check presence.
      const shape = tt.shape ? tt.shape.dim.map((d): ShapeDim => (d.dimParam ? d.dimParam
        : Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue !== undefined ? int64ToNumber(d.dimValue) : null)) : undefined;
      this.types.set(name, { dtype: tt.elemType ?? 0, shape });
    }
    for (const node of graph.nodes) this.propagate(node);
    if (known) for (const [name, t] of known) this.merge(name, t);
  }

  dtype(value: string): number {
    return this.types.get(value)?.dtype ?? 0;
  }

  shape(value: string): ShapeDim[] | undefined {
    return this.types.get(value)?.shape;
  }

  rank(value: string): number | undefined {
    return this.types.get(value)?.shape?.length;
  }

  /** Every dimension as a number, or undefined if any is symbolic/unknown. */
  staticShape(value: string): number[] | undefined {
    const s = this.shape(value);
    return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
  }

  /** Values of a constant integer tensor (initializer or Constant output), if it is one. */
  constant(value: string): number[] | undefined {
    return this.constants.get(value);
  }

  /** Values of a small constant float tensor (e.g. Resize scales), if it is one. */
  floatConstant(value: string): number[] | undefined {
    return this.floatConstants.get(value);
  }

  private readonly floatConstants = new Map<string, number[]>();

  private recordConstant(name: string, t: TensorProto): void {
    const dt = t.dataType;
    const small = tensorDims(t).reduce((a, b) => a * b, 1) <= 64;
    if ((dt === DataType.INT64 || dt === DataType.INT32) && small) {
      try { this.constants.set(name, tensorToNumbers(t)); } catch { /* external data: not a constant we read */ }
    }
    if ((dt === DataType.FLOAT || dt === DataType.DOUBLE) && small) {
      try { this.floatConstants.set(name, Array.from(tensorToArray(t) as Float32Array)); } catch { /* external data */ }
    }
  }

  private merge(name: string, t: ValueType): void {
    const mine = this.types.get(name);
    if (!mine) { this.types.set(name, t); return; }
    const dtype = mine.dtype || t.dtype;
    let shape = mine.shape ?? t.shape;
    if (mine.shape && t.shape && mine.shape.length === t.shape.length) {
      shape = mine.shape.map((d, i) => (typeof d === 'number' ? d : typeof t.shape![i] === 'number' ? t.shape![i] : d ?? t.shape![i]));
    }
    this.types.set(name, { dtype, shape });
  }

  private set(name: string, dtype: number, shape: ShapeDim[] | undefined): void {
    if (!name) return;
    const prior = this.types.get(name);
    // Declared information wins where it exists; we only fill gaps.
    if (prior) {
      this.merge(name, { dtype, shape });
    } else {
      this.types.set(name, { dtype, shape });
    }
  }

  private propagate(node: GraphNode): void {
    const p = node.proto;
    const ins = node.inputs;
    const t0 = ins[0] ? this.types.get(ins[0]) : undefined;
    const dt0 = t0?.dtype ?? 0;
    const s0 = t0?.shape;
    const out = node.outputs[0];
    const op = node.domain === '' ? node.opType : '';
    switch (op) {
      case 'Constant': {
        const t = attrTensor(p, 'value');
        if (t) { this.set(out, t.dataType ?? 0, tensorDims(t)); this.recordConstant(out, t); }
        const ints = attrInts(p, 'value_ints');
        if (ints) { this.set(out, DataType.INT64, [ints.length]); this.constants.set(out, ints); }
        const i = attrInt(p, 'value_int');
        if (i !== undefined) { this.set(out, DataType.INT64, []); this.constants.set(out, [i]); }
        if (p.attribute.some((a) => a.name === 'value_float')) this.set(out, DataType.FLOAT, []);
        return;
      }
      case 'Cast': this.set(out, attrInt(p, 'to', 0), s0 && [...s0]); return;
      case 'CastLike': this.set(out, this.dtype(ins[1]), s0 && [...s0]); return;
      case 'Shape': this.set(out, DataType.INT64, s0 ? [s0.length] : [null]); return;
      case 'Size': this.set(out, DataType.INT64, []); return;
      case 'ConstantOfShape': {
        const t = attrTensor(p, 'value');
        const shp = this.types.get(ins[0])?.shape;
        const c = this.constant(ins[0]);
        this.set(out, t?.dataType ?? DataType.FLOAT, c ? c : shp && typeof shp[0] === 'number' ? new Array(shp[0]).fill(null) : undefined);
        return;
      }
    }
    if (BOOL_OUT.has(op)) {
      this.set(out, DataType.BOOL, this.broadcast(ins));
      return;
    }
    if (INT64_OUT.has(op)) { this.set(out, DataType.INT64, undefined); return; }
    if (SAME_AS_FIRST.has(op)) {
      this.set(out, dt0, s0 && [...s0]);
      if (op === 'Dropout' && node.outputs[1]) this.set(node.outputs[1], DataType.BOOL, s0 && [...s0]);
      return;
    }
    if (BROADCAST.has(op)) { this.set(out, dt0 || this.dtype(ins[1]), this.broadcast(ins)); return; }
    switch (op) {
      case 'Where': this.set(out, this.dtype(ins[1]), this.broadcast(ins)); return;
      case 'Expand': {
        const c = this.constant(ins[1]);
        if (c && s0) this.set(out, dt0, broadcastShapes([s0, c]));
        else {
          const sh = this.shape(ins[1]);
          this.set(out, dt0, sh && typeof sh[0] === 'number' && s0 ? new Array(Math.max(sh[0], s0.length)).fill(null) : undefined);
        }
        return;
      }
      case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': case 'LpPool': {
        const w = ins[1] ? this.shape(ins[1]) : undefined;
        const shape = s0 ? convShape(op, node, s0, w) : undefined;
        this.set(out, dt0, shape);
        if (op === 'MaxPool' && node.outputs[1]) this.set(node.outputs[1], DataType.INT64, shape && [...shape]);
        return;
      }
      case 'GlobalAveragePool': case 'GlobalMaxPool':
        this.set(out, dt0, s0 && s0.map((d, i) => (i < 2 ? d : 1)));
        return;
      case 'Flatten': {
        if (!s0) { this.set(out, dt0, [null, null]); return; }
        const axis = normAxis(attrInt(p, 'axis', 1), s0.length);
        this.set(out, dt0, [product(s0.slice(0, axis)), product(s0.slice(axis))]);
        return;
      }
      case 'Reshape': {
        const c = this.constant(ins[1]);
        if (c) {
          const allowzero = attrInt(p, 'allowzero', 0);
          let dims: ShapeDim[] = c.map((d, i) => (d === 0 && !allowzero ? (s0 ? s0[i] ?? null : null) : d === -1 ? null : d));
          if (c.includes(-1) && s0) {
            const total = product(s0);
            const known = product(dims.filter((d) => d !== null) as ShapeDim[]);
            if (typeof total === 'number' && typeof known === 'number' && known > 0) dims = dims.map((d) => (d === null ? total / known : d));
          }
          this.set(out, dt0, dims);
        } else {
          const sh = this.shape(ins[1]);
          this.set(out, dt0, sh && typeof sh[0] === 'number' ? new Array(sh[0]).fill(null) : undefined);
        }
        return;
      }
      case 'Transpose': {
        if (!s0) { this.set(out, dt0, undefined); return; }
        const perm = attrInts(p, 'perm') ?? s0.map((_, i) => s0.length - 1 - i);
        this.set(out, dt0, perm.map((i) => s0[i]));
        return;
      }
      case 'Gemm': {
        const a = s0, bsh = this.shape(ins[1]);
        const ta = attrInt(p, 'transA', 0), tb = attrInt(p, 'transB', 0);
        this.set(out, dt0, [a ? a[ta ? 1 : 0] : null, bsh ? bsh[tb ? 0 : 1] : null]);
        return;
      }
      case 'MatMul': {
        const a = s0, bsh = this.shape(ins[1]);
        if (!a || !bsh) { this.set(out, dt0, undefined); return; }
        const a2 = a.length === 1 ? [1, a[0]] : a;
        const b2 = bsh.length === 1 ? [bsh[0], 1] : bsh;
        const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
        const shape: ShapeDim[] = batch ? [...batch] : new Array(Math.max(a2.length, b2.length) - 2).fill(null);
        if (a.length > 1) shape.push(a2[a2.length - 2]);
        if (bsh.length > 1) shape.push(b2[b2.length - 1]);
        this.set(out, dt0, shape);
        return;
      }
      case 'Concat': {
        const shapes = ins.map((i) => this.shape(i));
        const first = shapes.find((s) => s);
        if (!first) { this.set(out, dt0, undefined); return; }
        const axis = normAxis(attrInt(p, 'axis', 0), first.length);
        const shape = first.map((d, i) => {
          if (i !== axis) return shapes.map((s) => s?.[i]).find((x) => typeof x === 'number') ?? d;
          const parts = shapes.map((s) => s?.[i]);
          return parts.every((x) => typeof x === 'number') ? (parts as number[]).reduce((x, y) => x + y, 0) : null;
        });
        this.set(out, dt0, shape);
        return;
      }
      case 'Split': {
        if (!s0) { node.outputs.forEach((o) => this.set(o, dt0, undefined)); return; }
        const axis = normAxis(attrInt(p, 'axis', 0), s0.length);
        const sizes = (ins[1] && this.constant(ins[1])) || attrInts(p, 'split');
        node.outputs.forEach((o, k) => {
          const shape = [...s0];
          const n = s0[axis];
          shape[axis] = sizes ? sizes[k] : typeof n === 'number' && !attrInt(p, 'num_outputs') ? n / node.outputs.length : null;
          this.set(o, dt0, shape);
        });
        return;
      }
      case 'Squeeze': case 'Unsqueeze': {
        const axes = (ins[1] && this.constant(ins[1])) || attrInts(p, 'axes');
        if (!s0 || (!axes && op === 'Unsqueeze')) { this.set(out, dt0, undefined); return; }
        if (op === 'Squeeze') {
          const ax = axes ? axes.map((a) => normAxis(a, s0.length)) : s0.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
          if (!axes && s0.some((d) => typeof d !== 'number')) { this.set(out, dt0, undefined); return; }
          this.set(out, dt0, s0.filter((_, i) => !ax.includes(i)));
        } else {
          const r = s0.length + axes!.length;
          const ax = axes!.map((a) => normAxis(a, r));
          const shape: ShapeDim[] = [];
          let k = 0;
          for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : s0[k++]);
          this.set(out, dt0, shape);
        }
        return;
      }
      case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': case 'ReduceL2':
      case 'ReduceL1': case 'ReduceLogSumExp': case 'ReduceSumSquare': {
        const axes = (ins[1] && this.constant(ins[1])) || attrInts(p, 'axes');
        const keep = attrInt(p, 'keepdims', 1);
        if (!s0) { this.set(out, dt0, undefined); return; }
        const hasAxesInput = !!ins[1];
        if (!axes && hasAxesInput) { this.set(out, dt0, undefined); return; }
        const ax = axes ? axes.map((a) => normAxis(a, s0.length)) : (attrInt(p, 'noop_with_empty_axes', 0) ? [] : s0.map((_, i) => i));
        this.set(out, dt0, keep ? s0.map((d, i) => (ax.includes(i) ? 1 : d)) : s0.filter((_, i) => !ax.includes(i)));
        return;
      }
      case 'Gather': {
        const idx = this.shape(ins[1]);
        if (!s0 || !idx) { this.set(out, dt0, undefined); return; }
        const axis = normAxis(attrInt(p, 'axis', 0), s0.length);
        this.set(out, dt0, [...s0.slice(0, axis), ...idx, ...s0.slice(axis + 1)]);
        return;
      }
      case 'Slice': case 'Pad': case 'Resize': case 'Upsample': case 'Tile': {
        this.set(out, dt0, s0 ? s0.map(() => null) : undefined);
        return;
      }
      case 'Einsum': { this.set(out, this.dtype(ins[0]), undefined); return; }
      default:
        for (const o of node.outputs) if (o && !this.types.has(o)) this.set(o, 0, undefined);
    }
  }

  private broadcast(ins: readonly string[]): ShapeDim[] | undefined {
    const shapes = ins.filter(Boolean).map((i) => this.shape(i));
    if (shapes.some((s) => !s)) return undefined;
    return broadcastShapes(shapes as ShapeDim[][]);
  }
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function product(dims: readonly ShapeDim[]): ShapeDim {
  let p = 1;
  for (const d of dims) { if (typeof d !== 'number') return null; p *= d; }
  return p;
}

/** Numpy broadcasting of shapes with possibly unknown dims; undefined if ranks are unknown. */
export function broadcastShapes(shapes: readonly (readonly ShapeDim[])[]): ShapeDim[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  const out: ShapeDim[] = [];
  for (let i = 0; i < r; i++) {
    let dim: ShapeDim = 1;
    for (const s of shapes) {
      const d = s[i - (r - s.length)];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) dim = typeof dim === 'number' && typeof d === 'number' ? Math.max(dim, d) : typeof d === 'number' ? d : typeof dim === 'number' ? dim : null;
    }
    out.push(dim);
  }
  return out;
}

function convShape(op: string, node: GraphNode, x: ShapeDim[], w: ShapeDim[] | undefined): ShapeDim[] {
  const p = node.proto;
  const n = x.length - 2;
  const kernel = attrInts(p, 'kernel_shape') ?? (w ? w.slice(2).map((d) => (typeof d === 'number' ? d : NaN)) : new Array(n).fill(NaN));
  const strides = attrInts(p, 'strides') ?? new Array(n).fill(1);
  const dil = attrInts(p, 'dilations') ?? new Array(n).fill(1);
  const pads = attrInts(p, 'pads') ?? new Array(2 * n).fill(0);
  const autoPad = attrStringSafe(node);
  const ceil = attrInt(p, 'ceil_mode', 0);
  const channels: ShapeDim = op === 'Conv' ? (w ? w[0] : null)
    : op === 'ConvTranspose' ? (w && typeof w[1] === 'number' ? w[1] * attrInt(p, 'group', 1) : null) : x[1];
  const spatial = x.slice(2).map((d, i): ShapeDim => {
    if (typeof d !== 'number' || Number.isNaN(kernel[i])) return null;
    const ek = (kernel[i] - 1) * dil[i] + 1;
    if (op === 'ConvTranspose') {
      const os = attrInts(p, 'output_shape');
      if (os) return os[i];
      const op_ = attrInts(p, 'output_padding')?.[i] ?? 0;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i];
      return strides[i] * (d - 1) + op_ + ek - pads[i] - pads[i + n];
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(d / strides[i]);
    if (autoPad === 'VALID') return Math.floor((d - ek) / strides[i]) + 1;
    const span = d + pads[i] + pads[i + n] - ek;
    let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
    // ceil_mode windows that would start in the end padding are dropped (as in ORT and PyTorch)
    if (ceil && (o - 1) * strides[i] >= d + pads[i]) o--;
    return o;
  });
  return [x[0], channels, ...spatial];
}

function attrStringSafe(node: GraphNode): string {
  const a = node.proto.attribute.find((x) => x.name === 'auto_pad');
  return a?.s ? new TextDecoder().decode(a.s) : 'NOTSET';
}
