// Reductions and softmax.
import { range } from '../emitter';
import type { GradientRule, RuleContext } from '../rule';

/** The reduced axes (normalised), or 'all'. */
function reducedAxes(ctx: RuleContext): number[] | 'all' | 'none' {
  const x = ctx.inputs[0];
  let axes = ctx.ints('axes');
  if (!axes && ctx.inputs[1]) {
    axes = ctx.shapes.numbers(ctx.inputs[1]);
    if (!axes) throw ctx.unsupported(`its axes ("${ctx.inputs[1]}") are computed at run time`);
  }
  if (!axes || axes.length === 0) return ctx.int('noop_with_empty_axes', 0) ? 'none' : 'all';
  const r = ctx.shapes.rank(x);
  if (axes.some((a) => a < 0) && r === undefined) throw ctx.unsupported('negative axes need the input rank, which is not known');
  return axes.map((a) => ctx.axis(a, r ?? 0));
}

/** The output gradient with the reduced axes restored (size 1), broadcastable against x. */
function keptGrad(ctx: RuleContext, axes: number[] | 'all'): string {
  if (ctx.int('keepdims', 1) === 1 || axes === 'all') return ctx.gy; // a scalar broadcasts as is
  return ctx.b.unsqueeze(ctx.gy, axes);
}

export const ReduceSum: GradientRule = (ctx) => {
  const axes = reducedAxes(ctx);
  if (axes === 'none') return [ctx.gy, undefined];
  return [ctx.b.op('Expand', [keptGrad(ctx, axes), ctx.b.shapeOf(ctx.inputs[0])]), undefined];
};

export const ReduceMean: GradientRule = (ctx) => {
  const { b } = ctx;
  const axes = reducedAxes(ctx);
  if (axes === 'none') return [ctx.gy, undefined];
  const x = ctx.inputs[0];
  const sx = ctx.shapes.shape(x);
  const dims = sx && (axes === 'all' ? sx : axes.map((a) => sx[a]));
  let scale: string;
  if (dims && dims.every((d) => typeof d === 'number')) {
    scale = b.scalar(1 / (dims as number[]).reduce((p, d) => p * d, 1), x);
  } else {
    const dtype = ctx.shapes.dtype(x) || 1;
    const size = (v: string) => b.op('Cast', [b.op('Size', [v])], { to: dtype });
    scale = b.op('Div', [size(ctx.outputs[0]), size(x)]);
  }
  return [b.op('Mul', [b.op('Expand', [keptGrad(ctx, axes), b.shapeOf(x)]), scale]), undefined];
};

export const ReduceMax: GradientRule = (ctx) => {
  const { b } = ctx;
  const axes = reducedAxes(ctx);
  if (axes === 'none') return [ctx.gy, undefined];
  const x = ctx.inputs[0];
  let y = ctx.outputs[0];
  if (ctx.int('keepdims', 1) === 0 && axes !== 'all') y = b.unsqueeze(y, axes);
  return [b.op('Where', [b.op('Equal', [x, y]), keptGrad(ctx, axes), b.scalar(0, x)]), undefined];
};

export const Softmax: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  const axis = ctx.int('axis', -1);
  const dot = b.reduceSum(b.op('Mul', [ctx.gy, y]), [axis], true);
  return [b.op('Mul', [y, b.op('Sub', [ctx.gy, dot])])];
};

export const LogSoftmax: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  const axis = ctx.int('axis', -1);
  const total = b.reduceSum(ctx.gy, [axis], true);
  return [b.op('Sub', [ctx.gy, b.op('Mul', [b.op('Exp', [y]), total])])];
};

void range;
