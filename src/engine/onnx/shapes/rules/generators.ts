// Ops that make tensors from attributes or from shapes: Constant, Shape, Size,
// ConstantOfShape, Range, NonZero, EyeLike, the Random* family, OneHot.
import { int64ToNumber } from '../../int64';
import { tensorDims } from '../../tensor';
import { DataType } from '../../types';
import type { ShapeRule } from '../context';
import { isStaticShape } from '../dims';
import type { ShapeDim } from '../types';
import { coerce, decodeSmallTensor, known, MAX_FOLD_ELEMENTS, type KnownTensor } from '../values';

export const constant: ShapeRule = (ctx) => {
  const t = ctx.tensor('value');
  if (t) {
    const dims = tensorDims(t);
    return { dtype: t.dataType ?? 0, shape: dims, value: decodeSmallTensor(t) };
  }
  const sparse = ctx.node.proto.attribute.find((a) => a.name === 'sparse_value')?.sparseTensor;
  if (sparse) return { dtype: sparse.values?.dataType ?? 0, shape: sparse.dims.map(int64ToNumber) };
  if (ctx.hasAttr('value_float')) {
    const f = ctx.float('value_float', 0);
    return { dtype: DataType.FLOAT, shape: [], value: known(DataType.FLOAT, [], [f]) };
  }
  const floats = ctx.floats('value_floats');
  if (floats && ctx.hasAttr('value_floats')) {
    return { dtype: DataType.FLOAT, shape: [floats.length], value: known(DataType.FLOAT, [floats.length], floats) };
  }
  if (ctx.hasAttr('value_int')) {
    const i = ctx.int('value_int', 0);
    return { dtype: DataType.INT64, shape: [], value: known(DataType.INT64, [], [i]) };
  }
  const ints = ctx.ints('value_ints');
  if (ints) return { dtype: DataType.INT64, shape: [ints.length], value: known(DataType.INT64, [ints.length], ints) };
  if (ctx.hasAttr('value_string')) return { dtype: DataType.STRING, shape: [] };
  const strings = ctx.node.proto.attribute.find((a) => a.name === 'value_strings');
  if (strings) return { dtype: DataType.STRING, shape: [strings.strings.length] };
  ctx.fail('no value attribute');
};

export const shapeOf: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (!x) return { dtype: DataType.INT64, shape: [null] };
  const rank = x.length;
  // Shape-15 start/end: clamped, negative counts from the back.
  const clampEnd = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clampEnd(ctx.int('start', 0));
  const end = ctx.hasAttr('end') ? clampEnd(ctx.int('end', rank)) : rank;
  const dims = x.slice(start, Math.max(start, end));
  return { dtype: DataType.INT64, shape: [dims.length], value: known(DataType.INT64, [dims.length], dims) };
};

export const size: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const n = x ? ctx.symbols.product(x) : null;
  return { dtype: DataType.INT64, shape: [], value: known(DataType.INT64, [], [n]) };
};

export const constantOfShape: ShapeRule = (ctx) => {
  const t = ctx.tensor('value');
  const dtype = t?.dataType ?? DataType.FLOAT;
  const fill = t ? (decodeSmallTensor(t)?.data[0] ?? null) : 0;
  const dims = ctx.list(0);
  if (!dims) {
    const n = ctx.length(0);
    return { dtype, shape: n === undefined ? undefined : new Array(n).fill(null) };
  }
  for (const d of dims) if (typeof d === 'number' && d < 0) ctx.fail(`shape [${dims.join(', ')}] has a negative dim`);
  let value: KnownTensor | undefined;
  if (isStaticShape(dims) && dims.reduce((a, b) => a * b, 1) <= MAX_FOLD_ELEMENTS) {
    value = known(dtype, dims, new Array(dims.reduce((a, b) => a * b, 1)).fill(coerce(fill, dtype)));
  }
  return { dtype, shape: dims, value };
};

export const range: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0) || ctx.dtype(1);
  const start = ctx.list(0)?.[0] ?? null;
  const limit = ctx.list(1)?.[0] ?? null;
  const delta = ctx.list(2)?.[0] ?? null;
  if (delta === 0) ctx.fail('delta must not be 0');
  if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number') {
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    let value: KnownTensor | undefined;
    if (n <= MAX_FOLD_ELEMENTS)
      value = known(
        dtype,
        [n],
        Array.from({ length: n }, (_, i) => coerce(start + i * delta, dtype)),
      );
    return { dtype, shape: [n], value };
  }
  // range(0, d, 1) of a symbolic d has d elements.
  if (start === 0 && delta === 1 && typeof limit === 'string') return { dtype, shape: [limit] };
  return { dtype, shape: [null] };
};

export const nonZero: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  return { dtype: DataType.INT64, shape: [x ? x.length : null, null] };
};

/** NonMaxSuppression: one row [batch, class, box] per kept box; how many is known only at run time. */
export const nonMaxSuppression: ShapeRule = () => ({ dtype: DataType.INT64, shape: [null, 3] });

/** EyeLike, RandomNormalLike, RandomUniformLike, Bernoulli: input's shape, dtype attr or input's. */
export const likeInput: ShapeRule = (ctx) => ({ dtype: ctx.int('dtype') ?? ctx.dtype(0), shape: ctx.shape(0) });

/** RandomNormal, RandomUniform: shape and dtype from attributes. */
export const randomFromAttrs: ShapeRule = (ctx) => ({
  dtype: ctx.int('dtype', DataType.FLOAT),
  shape: ctx.ints('shape'),
});

export const oneHot: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(2);
  const indices = ctx.shape(0);
  if (!indices) return { dtype };
  const depthValue = ctx.value(1);
  const depth: ShapeDim = depthValue && depthValue.data.length === 1 && typeof depthValue.data[0] === 'number' ? Math.trunc(depthValue.data[0]) : null;
  const rank = indices.length + 1;
  const axis = ctx.axis(ctx.int('axis', -1), rank);
  const shape = [...indices];
  shape.splice(axis, 0, depth);
  return { dtype, shape };
};
