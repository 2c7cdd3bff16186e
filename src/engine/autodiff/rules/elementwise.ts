// Arithmetic with numpy broadcasting: each input's gradient is summed back to its own shape.
import type { GradientRule, RuleContext } from '../rule';

/** Gradient `g` (shaped like the output) reduced to input i's shape. */
const toInput = (ctx: RuleContext, g: string, i: number) => ctx.b.reduceToShapeOf(g, ctx.inputs[i], ctx.outputs[0]);
const when = (ctx: RuleContext, i: number, make: () => string) => (ctx.needs(i) ? toInput(ctx, make(), i) : undefined);

export const Add: GradientRule = (ctx) => [when(ctx, 0, () => ctx.gy), when(ctx, 1, () => ctx.gy)];

export const Sub: GradientRule = (ctx) => [when(ctx, 0, () => ctx.gy), when(ctx, 1, () => ctx.b.op('Neg', [ctx.gy]))];

export const Sum: GradientRule = (ctx) => ctx.inputs.map((_, i) => when(ctx, i, () => ctx.gy));

export const Mean: GradientRule = (ctx) => {
  const g = () => ctx.b.op('Mul', [ctx.gy, ctx.b.scalar(1 / ctx.inputs.length, ctx.gy)]);
  return ctx.inputs.map((_, i) => when(ctx, i, g));
};

export const Mul: GradientRule = (ctx) => {
  const [a, c] = ctx.inputs;
  return [when(ctx, 0, () => ctx.b.op('Mul', [ctx.gy, c])), when(ctx, 1, () => ctx.b.op('Mul', [ctx.gy, a]))];
};

export const Div: GradientRule = (ctx) => {
  const [, c] = ctx.inputs;
  const y = ctx.outputs[0];
  const { b } = ctx;
  // d(a/c)/dc = -y/c
  return [when(ctx, 0, () => b.op('Div', [ctx.gy, c])), when(ctx, 1, () => b.op('Neg', [b.op('Div', [b.op('Mul', [ctx.gy, y]), c])]))];
};

export const Pow: GradientRule = (ctx) => {
  const { b } = ctx;
  const [a, e] = ctx.inputs;
  const y = ctx.outputs[0];
  // The exponent may have another element type (Pow-12+): bring it to the base's.
  const exp = () => (ctx.shapes.dtype(e) !== ctx.shapes.dtype(a) ? b.op('Cast', [e], { to: ctx.shapes.dtype(a) || 1 }) : e);
  return [
    when(ctx, 0, () => {
      const ex = exp();
      return b.op('Mul', [ctx.gy, b.op('Mul', [ex, b.op('Pow', [a, b.op('Sub', [ex, b.scalar(1, a)])])])]);
    }),
    when(ctx, 1, () => b.op('Mul', [ctx.gy, b.op('Mul', [y, b.op('Log', [a])])])),
  ];
};

export const Sqrt: GradientRule = (ctx) => [ctx.b.op('Div', [ctx.b.op('Mul', [ctx.gy, ctx.b.scalar(0.5, ctx.gy)]), ctx.outputs[0]])];

export const Exp: GradientRule = (ctx) => [ctx.b.op('Mul', [ctx.gy, ctx.outputs[0]])];

export const Log: GradientRule = (ctx) => [ctx.b.op('Div', [ctx.gy, ctx.inputs[0]])];

export const Neg: GradientRule = (ctx) => [ctx.b.op('Neg', [ctx.gy])];

export const Reciprocal: GradientRule = (ctx) => {
  const y = ctx.outputs[0];
  return [ctx.b.op('Neg', [ctx.b.op('Mul', [ctx.gy, ctx.b.op('Mul', [y, y])])])];
};

export const Abs: GradientRule = (ctx) => [ctx.b.op('Mul', [ctx.gy, ctx.b.op('Sign', [ctx.inputs[0]])])];

/** Min/Max: the gradient goes to the input(s) equal to the result (ties: each gets it). */
const selectLike: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  return ctx.inputs.map((x, i) => when(ctx, i, () => b.op('Where', [b.op('Equal', [x, y]), ctx.gy, b.scalar(0, ctx.gy)])));
};
export const Min = selectLike;
export const Max = selectLike;

export const Where: GradientRule = (ctx) => {
  const { b } = ctx;
  const [cond] = ctx.inputs;
  const zero = () => b.scalar(0, ctx.gy);
  return [undefined, when(ctx, 1, () => b.op('Where', [cond, ctx.gy, zero()])), when(ctx, 2, () => b.op('Where', [cond, zero(), ctx.gy]))];
};
