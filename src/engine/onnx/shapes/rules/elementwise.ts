// Elementwise operators: unary (same shape, same type), casts, and the broadcasting binary and
// variadic families. Shape arithmetic in exported graphs runs through Add/Sub/Mul/Div/Equal/
// Where/Cast on small int tensors, so those also fold their known values, symbols included.
import { DataType } from '../../types';
import type { NodeContext, RuleOutput, ShapeRule } from '../context';
import { broadcastShapes, isStaticShape } from '../dims';
import type { SymbolTable } from '../symbolic';
import type { ShapeDim } from '../types';
import { coerce, isIntegerType, known, mapBroadcast, type KnownTensor } from '../values';

type Fold1 = (x: ShapeDim, isInt: boolean) => ShapeDim;

const num =
  (f: (x: number) => number): Fold1 =>
  (x) =>
    typeof x === 'number' ? f(x) : null;

/** Unary ops whose values we fold (the ones that show up in shape arithmetic). */
const UNARY_FOLD: Record<string, Fold1> = {
  Identity: (x) => x,
  Abs: (x) => (typeof x === 'string' ? x : typeof x === 'number' ? Math.abs(x) : null),
  Neg: num((x) => -x),
  Floor: (x) => (typeof x === 'string' ? x : typeof x === 'number' ? Math.floor(x) : null),
  Ceil: (x) => (typeof x === 'string' ? x : typeof x === 'number' ? Math.ceil(x) : null),
  Round: (x) => (typeof x === 'string' ? x : typeof x === 'number' ? roundHalfEven(x) : null),
  Sqrt: num(Math.sqrt),
  Reciprocal: num((x) => 1 / x),
  Sign: (x) => (typeof x === 'number' ? Math.sign(x) : null),
  Relu: (x) => (typeof x === 'string' ? x : typeof x === 'number' ? Math.max(0, x) : null),
  Not: num((x) => (x ? 0 : 1)),
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function foldUnary(ctx: NodeContext, f: Fold1 | undefined, dtype: number): KnownTensor | undefined {
  const v = ctx.value(0);
  if (!v || !f) return undefined;
  const isInt = isIntegerType(v.dtype);
  return known(
    dtype,
    v.dims,
    v.data.map((x) => coerce(f(x, isInt), dtype)),
  );
}

/** Same shape and element type as input 0. */
export const unary: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  return { dtype, shape: ctx.shape(0), value: foldUnary(ctx, UNARY_FOLD[ctx.opType], dtype) };
};

/** Same shape, boolean result (IsNaN, IsInf). */
export const unaryToBool: ShapeRule = (ctx) => ({ dtype: DataType.BOOL, shape: ctx.shape(0) });

export const not: ShapeRule = (ctx) => ({
  dtype: DataType.BOOL,
  shape: ctx.shape(0),
  value: foldUnary(ctx, UNARY_FOLD.Not, DataType.BOOL),
});

function castElement(x: ShapeDim, to: number): ShapeDim {
  if (typeof x === 'string') {
    // A dimension is a non-negative integer: it survives casts to any numeric type except bool
    // (where 0 and non-zero differ).
    return to === DataType.BOOL || to === DataType.STRING ? null : x;
  }
  return coerce(x, to);
}

export const cast: ShapeRule = (ctx) => {
  const to = ctx.int('to') ?? ctx.fail('attribute "to" is missing');
  if (to <= 0) ctx.fail(`attribute "to" = ${to} is not an element type`);
  return castTo(ctx, to, to !== DataType.STRING ? to : 0);
};

export const castLike: ShapeRule = (ctx) => {
  return castTo(ctx, ctx.dtype(1));
};

/** Cast and CastLike: input 0 in element type `to`, its known value cast too (`valueTo` 0: none). */
function castTo(ctx: Parameters<ShapeRule>[0], to: number, valueTo = to) {
  const v = ctx.value(0);
  const value =
    v && valueTo
      ? known(
          to,
          v.dims,
          v.data.map((x) => castElement(x, to)),
        )
      : undefined;
  return { dtype: to, shape: ctx.shape(0), value };
}

export const dropout: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const shape = ctx.shape(0);
  // Dropout-7 returned the mask in the input's type; from opset 10 it is bool.
  const maskType = ctx.opset < 10 ? dtype : DataType.BOOL;
  return [
    { dtype, shape, value: foldUnary(ctx, UNARY_FOLD.Identity, dtype) },
    { dtype: maskType, shape },
  ];
};

export const clip: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const v = ctx.value(0);
  let value: KnownTensor | undefined;
  if (v) {
    const lo = ctx.opset < 11 ? ctx.float('min', -Infinity) : ctx.has(1) ? ctx.scalar(1) : -Infinity;
    const hi = ctx.opset < 11 ? ctx.float('max', Infinity) : ctx.has(2) ? ctx.scalar(2) : Infinity;
    if (lo !== undefined && hi !== undefined) {
      value = known(
        dtype,
        v.dims,
        v.data.map((x) => (typeof x === 'number' ? Math.min(Math.max(x, lo), hi) : null)),
      );
    }
  }
  return { dtype, shape: ctx.shape(0), value };
};

/** PRelu: the slope broadcasts to X (one way), so the output is X's shape. */
export const prelu: ShapeRule = (ctx) => ({ dtype: ctx.dtype(0), shape: ctx.shape(0) });

type Fold2 = (s: SymbolTable, a: ShapeDim, b: ShapeDim, isInt: boolean, ctx: NodeContext) => ShapeDim;

const bool = (b: boolean): number => (b ? 1 : 0);

/** Comparison of a dim (>= 0) with a number, where the sign alone decides. */
function compareSymbolic(a: ShapeDim, b: ShapeDim, op: (x: number, y: number) => boolean): ShapeDim {
  if (typeof a === 'number' && typeof b === 'number') return bool(op(a, b));
  // symbol vs negative number: a symbol is a dimension, so it is >= 0 > b.
  if (typeof a === 'string' && typeof b === 'number' && b < 0) return bool(op(0, b));
  if (typeof b === 'string' && typeof a === 'number' && a < 0) return bool(op(a, 0));
  return null;
}

const BINARY_FOLD: Record<string, Fold2> = {
  Add: (s, a, b) => s.add(a, b),
  Sub: (s, a, b) => s.sub(a, b),
  Mul: (s, a, b) => s.mul(a, b),
  Div: (s, a, b, isInt) => {
    if (typeof a === 'number' && typeof b === 'number') {
      if (b === 0) return isInt ? null : a / b;
      return isInt ? Math.trunc(a / b) : a / b;
    }
    return b === 1 ? a : s.divExact(a, b);
  },
  Mod: (s, a, b, _isInt, ctx) => {
    const fmod = ctx.int('fmod', 0) === 1;
    if (typeof a === 'number' && typeof b === 'number') {
      if (b === 0) return null;
      const r = a % b;
      return fmod || r === 0 || Math.sign(r) === Math.sign(b) ? r : r + b;
    }
    // k*batch mod k = 0
    return typeof b === 'number' && b > 0 && s.divExact(a, b) !== null ? 0 : null;
  },
  Pow: (_s, a, b) => (typeof a === 'number' && typeof b === 'number' ? a ** b : typeof a === 'string' && b === 1 ? a : null),
  Max: (_s, a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return Math.max(a, b);
    if (typeof a === 'string' && typeof b === 'number' && b <= 0) return a;
    if (typeof b === 'string' && typeof a === 'number' && a <= 0) return b;
    return a !== null && a === b ? a : null;
  },
  Min: (_s, a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return Math.min(a, b);
    // A dimension is below the INT64 "until the end" sentinels exporters use.
    if (typeof a === 'string' && typeof b === 'number' && b >= 2 ** 31 - 1) return a;
    if (typeof b === 'string' && typeof a === 'number' && a >= 2 ** 31 - 1) return b;
    return a !== null && a === b ? a : null;
  },
  Equal: (_s, a, b) => {
    if (a !== null && a === b) return 1;
    return compareSymbolic(a, b, (x, y) => x === y);
  },
  Less: (_s, a, b) => compareSymbolic(a, b, (x, y) => x < y),
  LessOrEqual: (_s, a, b) => (a !== null && a === b ? 1 : compareSymbolic(a, b, (x, y) => x <= y)),
  Greater: (_s, a, b) => compareSymbolic(a, b, (x, y) => x > y),
  GreaterOrEqual: (_s, a, b) => (a !== null && a === b ? 1 : compareSymbolic(a, b, (x, y) => x >= y)),
  And: (_s, a, b) => (a === 0 || b === 0 ? 0 : typeof a === 'number' && typeof b === 'number' ? 1 : null),
  Or: (_s, a, b) => ((typeof a === 'number' && a !== 0) || (typeof b === 'number' && b !== 0) ? 1 : a === 0 && b === 0 ? 0 : null),
  Xor: (_s, a, b) => (typeof a === 'number' && typeof b === 'number' ? bool(!!a !== !!b) : null),
};

const BOOL_RESULT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']);

function foldBroadcast(
  ctx: NodeContext,
  shape: ShapeDim[] | undefined,
  dtype: number,
  inputs: number[],
  f: (xs: ShapeDim[]) => ShapeDim,
): KnownTensor | undefined {
  if (!isStaticShape(shape)) return undefined;
  const values: KnownTensor[] = [];
  for (const i of inputs) {
    const v = ctx.value(i);
    if (!v) return undefined;
    values.push(v);
  }
  const data = mapBroadcast(shape, values, f);
  return data
    ? known(
        dtype,
        shape,
        data.map((x) => coerce(x, dtype)),
      )
    : undefined;
}

/** Two-input broadcasting ops (arithmetic, comparison, logic). */
export const binary: ShapeRule = (ctx) => {
  const shape = broadcastShapes(ctx, [ctx.shape(0), ctx.shape(1)]);
  const dtype = BOOL_RESULT.has(ctx.opType) ? DataType.BOOL : ctx.dtype(0) || ctx.dtype(1);
  const f = BINARY_FOLD[ctx.opType] as Fold2 | undefined;
  const isInt = isIntegerType(ctx.dtype(0));
  const value = f ? foldBroadcast(ctx, shape, dtype, [0, 1], ([a, b]) => f(ctx.symbols, a, b, isInt, ctx)) : undefined;
  return { dtype, shape, value };
};

/** Sum, Mean, Max, Min: any number of inputs, broadcast together. */
export const variadic: ShapeRule = (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => i).filter((i) => ctx.has(i));
  if (inputs.length === 0) return undefined;
  const shape = broadcastShapes(
    ctx,
    inputs.map((i) => ctx.shape(i)),
  );
  const dtype = ctx.dtype(inputs[0]);
  const pair = ctx.opType === 'Sum' ? BINARY_FOLD.Add : (BINARY_FOLD[ctx.opType] as Fold2 | undefined);
  const isInt = isIntegerType(dtype);
  const value =
    pair && ctx.opType !== 'Mean' ? foldBroadcast(ctx, shape, dtype, inputs, (xs) => xs.reduce((acc, x) => pair(ctx.symbols, acc, x, isInt, ctx))) : undefined;
  return { dtype, shape, value };
};

export const where: ShapeRule = (ctx) => {
  const shape = broadcastShapes(ctx, [ctx.shape(0), ctx.shape(1), ctx.shape(2)]);
  const dtype = ctx.dtype(1) || ctx.dtype(2);
  const value = foldBroadcast(ctx, shape, dtype, [0, 1, 2], ([c, x, y]) => (c === null ? (x !== null && x === y ? x : null) : c ? x : y));
  return { dtype, shape, value };
};

/** Ops that keep X's shape but are not elementwise in values (Softmax, CumSum, Trilu, norms). */
export const sameShape: ShapeRule = (ctx): RuleOutput => ({ dtype: ctx.dtype(0), shape: ctx.shape(0) });
