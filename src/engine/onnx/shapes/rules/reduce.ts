// Reductions (axes as an attribute or, from ReduceSum-13 / the others' opset 18, an input),
// ArgMax/ArgMin and TopK.
import { DataType } from '../../types';
import type { NodeContext, RuleOutput, ShapeRule } from '../context';
import { isStaticShape } from '../dims';
import type { ShapeDim } from '../types';
import { coerce, known, stridesOf, type KnownTensor } from '../values';

/** First opset where each reduction takes its axes as an input. */
function axesInputFrom(opType: string): number {
  return opType === 'ReduceSum' ? 13 : 18;
}

type Combine = (ctx: NodeContext, a: ShapeDim, b: ShapeDim) => ShapeDim;

const REDUCE_FOLD: Record<string, Combine> = {
  ReduceSum: (ctx, a, b) => ctx.symbols.add(a, b),
  ReduceProd: (ctx, a, b) => ctx.symbols.mul(a, b),
  ReduceMax: (_ctx, a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.max(a, b) : a !== null && a === b ? a : null),
  ReduceMin: (_ctx, a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.min(a, b) : a !== null && a === b ? a : null),
};

function foldReduce(ctx: NodeContext, v: KnownTensor, axes: Set<number>, outShape: number[]): KnownTensor | undefined {
  const combine = REDUCE_FOLD[ctx.opType];
  if (!combine) return undefined;
  const keptDims = v.dims.map((d, i) => (axes.has(i) ? 1 : d));
  const keptStrides = stridesOf(keptDims);
  const acc: Array<ShapeDim | undefined> = new Array(keptDims.reduce((a, b) => a * b, 1)).fill(undefined);
  const index = new Array<number>(v.dims.length).fill(0);
  for (let i = 0; i < v.data.length; i++) {
    let target = 0;
    for (let k = 0; k < index.length; k++) if (!axes.has(k)) target += index[k] * keptStrides[k];
    const prev = acc[target];
    acc[target] = prev === undefined ? v.data[i] : combine(ctx, prev, v.data[i]);
    for (let k = index.length - 1; k >= 0; k--) {
      if (++index[k] < v.dims[k]) break;
      index[k] = 0;
    }
  }
  return known(
    v.dtype,
    outShape,
    acc.map((x) => coerce(x ?? null, v.dtype)),
  );
}

export const reduce: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const keepdims = ctx.int('keepdims', 1) !== 0;
  let axes: ShapeDim[] | undefined;
  if (ctx.opset < axesInputFrom(ctx.opType)) {
    axes = ctx.ints('axes');
  } else if (ctx.has(1)) {
    axes = ctx.list(1);
    if (!axes) {
      // Axes we cannot read: with keepdims the rank stays.
      return { dtype, shape: x && keepdims ? x.map(() => null) : undefined };
    }
    if (axes.length === 0 && ctx.int('noop_with_empty_axes', 0) === 1) return { dtype, shape: x, value: ctx.value(0) };
  } else if (ctx.int('noop_with_empty_axes', 0) === 1) {
    return { dtype, shape: x, value: ctx.value(0) };
  }
  if (!x) return { dtype };
  const reduced = new Set(
    axes && axes.length > 0 ? axes.map((a) => (typeof a === 'number' ? ctx.axis(a, x.length) : ctx.fail('axes must be numbers'))) : x.map((_, i) => i),
  );
  const shape: ShapeDim[] = [];
  x.forEach((d, i) => {
    if (!reduced.has(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  const v = ctx.value(0);
  const value = v && isStaticShape(shape) ? foldReduce(ctx, v, reduced, shape) : undefined;
  return { dtype, shape, value };
};

export const argReduce: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (!x) return { dtype: DataType.INT64 };
  const axis = ctx.axis(ctx.int('axis', 0), x.length);
  const keepdims = ctx.int('keepdims', 1) !== 0;
  const shape = keepdims ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis);
  return { dtype: DataType.INT64, shape };
};

export const topK: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  let shape: ShapeDim[] | undefined;
  if (x) {
    const axis = ctx.axis(ctx.int('axis', -1), x.length);
    let k: ShapeDim;
    if (ctx.opset < 10) {
      k = ctx.int('k') ?? null;
    } else {
      const list = ctx.list(1);
      k = list && list.length === 1 ? list[0] : null;
    }
    if (typeof k === 'number' && typeof x[axis] === 'number' && k > (x[axis] as number)) {
      ctx.fail(`k = ${k} exceeds the axis size ${x[axis]}`);
    }
    shape = x.map((d, i) => (i === axis ? k : d));
  }
  const outputs: RuleOutput[] = [
    { dtype, shape },
    { dtype: DataType.INT64, shape },
  ];
  return outputs;
};
