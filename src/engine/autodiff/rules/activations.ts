// Pointwise activations. Where a kink exists the subgradient matches PyTorch's (0 at the kink).
import type { GradientRule } from '../rule';

export const Relu: GradientRule = (ctx) => {
  const { b } = ctx;
  return [b.op('Where', [b.op('Greater', [ctx.outputs[0], b.scalar(0, ctx.gy)]), ctx.gy, b.scalar(0, ctx.gy)])];
};

export const LeakyRelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const alpha = ctx.float('alpha', 0.01);
  const x = ctx.inputs[0];
  return [b.op('Where', [b.op('Greater', [x, b.scalar(0, x)]), ctx.gy, b.op('Mul', [ctx.gy, b.scalar(alpha, x)])])];
};

export const PRelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, slope] = ctx.inputs;
  const positive = b.op('Greater', [x, b.scalar(0, x)]);
  const zero = b.scalar(0, x);
  return [
    ctx.needs(0) ? b.op('Where', [positive, ctx.gy, b.op('Mul', [ctx.gy, slope])]) : undefined,
    ctx.needs(1) ? b.reduceToShapeOf(b.op('Where', [positive, zero, b.op('Mul', [ctx.gy, x])]), slope, x) : undefined,
  ];
};

export const Clip: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0];
  // Clip-11+: min/max are optional inputs; before 11 they are attributes.
  let lo: string | undefined = ctx.inputs[1] || undefined;
  let hi: string | undefined = ctx.inputs[2] || undefined;
  if (b.opset < 11 || ctx.node.proto.attribute.some((a) => a.name === 'min' || a.name === 'max')) {
    const attrs = ctx.node.proto.attribute;
    if (attrs.some((a) => a.name === 'min')) lo = b.scalar(ctx.float('min', 0), x);
    if (attrs.some((a) => a.name === 'max')) hi = b.scalar(ctx.float('max', 0), x);
  }
  // Strict inequalities, like PyTorch's hardtanh/ReLU6 backward.
  const conds: string[] = [];
  if (lo) conds.push(b.op('Greater', [x, lo]));
  if (hi) conds.push(b.op('Less', [x, hi]));
  if (conds.length === 0) return [ctx.gy];
  const mask = conds.length === 2 ? b.op('And', conds) : conds[0];
  return [b.op('Where', [mask, ctx.gy, b.scalar(0, x)])];
};

export const Sigmoid: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  return [b.op('Mul', [ctx.gy, b.op('Mul', [y, b.op('Sub', [b.scalar(1, y), y])])])];
};

export const Tanh: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  return [b.op('Mul', [ctx.gy, b.op('Sub', [b.scalar(1, y), b.op('Mul', [y, y])])])];
};

export const HardSigmoid: GradientRule = (ctx) => {
  const { b } = ctx;
  const y = ctx.outputs[0];
  const alpha = ctx.float('alpha', 0.2);
  const inside = b.op('And', [b.op('Greater', [y, b.scalar(0, y)]), b.op('Less', [y, b.scalar(1, y)])]);
  return [b.op('Where', [inside, b.op('Mul', [ctx.gy, b.scalar(alpha, y)]), b.scalar(0, y)])];
};

export const HardSwish: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0];
  // y = x·hardsigmoid(x) with alpha 1/6, beta 1/2: dy/dx = x/3 + 1/2 on (-3, 3), 0 below, 1 above.
  const mid = b.op('Mul', [ctx.gy, b.op('Add', [b.op('Mul', [x, b.scalar(1 / 3, x)]), b.scalar(0.5, x)])]);
  const upper = b.op('Where', [b.op('Greater', [x, b.scalar(3, x)]), ctx.gy, mid]);
  return [b.op('Where', [b.op('Less', [x, b.scalar(-3, x)]), b.scalar(0, x), upper])];
};

export const Softplus: GradientRule = (ctx) => [ctx.b.op('Mul', [ctx.gy, ctx.b.op('Sigmoid', [ctx.inputs[0]])])];

export const Erf: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0];
  const e = b.op('Exp', [b.op('Neg', [b.op('Mul', [x, x])])]);
  return [b.op('Mul', [ctx.gy, b.op('Mul', [e, b.scalar(2 / Math.sqrt(Math.PI), x)])])];
};

export const Gelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const x = ctx.inputs[0];
  const c = (v: number) => b.scalar(v, x);
  if (ctx.string('approximate', 'none') === 'tanh') {
    // y = x/2·(1 + tanh(k(x + 0.044715x³)))
    const k = Math.sqrt(2 / Math.PI);
    const x2 = b.op('Mul', [x, x]);
    const inner = b.op('Mul', [c(k), b.op('Add', [x, b.op('Mul', [c(0.044715), b.op('Mul', [x2, x])])])]);
    const t = b.op('Tanh', [inner]);
    const dInner = b.op('Mul', [c(k), b.op('Add', [c(1), b.op('Mul', [c(3 * 0.044715), x2])])]);
    const sech2 = b.op('Sub', [c(1), b.op('Mul', [t, t])]);
    const d = b.op('Add', [b.op('Mul', [c(0.5), b.op('Add', [c(1), t])]), b.op('Mul', [b.op('Mul', [c(0.5), x]), b.op('Mul', [sech2, dInner])])]);
    return [b.op('Mul', [ctx.gy, d])];
  }
  // y = x·Φ(x): dy/dx = Φ(x) + x·φ(x)
  const cdf = b.op('Mul', [c(0.5), b.op('Add', [c(1), b.op('Erf', [b.op('Mul', [x, c(Math.SQRT1_2)])])])]);
  const pdf = b.op('Mul', [c(1 / Math.sqrt(2 * Math.PI)), b.op('Exp', [b.op('Mul', [c(-0.5), b.op('Mul', [x, x])])])]);
  return [b.op('Mul', [ctx.gy, b.op('Add', [cdf, b.op('Mul', [x, pdf])])])];
};

/**
 * Guided backpropagation's ReLU (Springenberg et al.; pytorch-grad-cam's GuidedBackpropReLU):
 * the gradient passes only where the input is positive and the incoming gradient is positive.
 * Not a derivative: it belongs to the 'guided' rule set (variants.ts), never to the standard table.
 */
export const GuidedRelu: GradientRule = (ctx) => {
  const { b } = ctx;
  const zero = b.scalar(0, ctx.gy);
  const open = b.op('And', [b.op('Greater', [ctx.outputs[0], zero]), b.op('Greater', [ctx.gy, zero])]);
  return [b.op('Where', [open, ctx.gy, zero])];
};
