// Normalisations. Inference BatchNormalization is a per-channel affine map. Instance and layer
// normalisation recompute x̂ and σ from the forward input and use
// dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ with ĝ = gy·scale, means over the normalised axes.
import type { Emitter } from '../emitter';
import { range } from '../emitter';
import type { GradientRule } from '../rule';

export const BatchNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.int('training_mode', 0) === 1) throw ctx.unsupported('training_mode=1 is not supported (export the model in eval mode)');
  if (ctx.inputs.slice(1).some((_, i) => ctx.needs(i + 1))) throw ctx.unsupported('its parameters depend on the differentiated values');
  const [x, scale, , , variance] = ctx.inputs;
  const eps = ctx.float('epsilon', 1e-5);
  const factor = b.op('Div', [scale, b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps, x)])])]);
  const r = ctx.rank(x);
  const shaped = r > 2 ? b.unsqueeze(factor, range(r - 2, 1)) : factor;
  return [b.op('Mul', [ctx.gy, shaped])];
};

function normalizedGrad(b: Emitter, x: string, ghat: string, axes: number[], eps: number): string {
  const mean = b.reduce('ReduceMean', x, axes, true);
  const xc = b.op('Sub', [x, mean]);
  const variance = b.reduce('ReduceMean', b.op('Mul', [xc, xc]), axes, true);
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps, x)])])]);
  const xhat = b.op('Mul', [xc, invStd]);
  const m1 = b.reduce('ReduceMean', ghat, axes, true);
  const m2 = b.reduce('ReduceMean', b.op('Mul', [ghat, xhat]), axes, true);
  return b.op('Mul', [b.op('Sub', [b.op('Sub', [ghat, m1]), b.op('Mul', [xhat, m2])]), invStd]);
}

export const InstanceNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.needs(1) || ctx.needs(2)) throw ctx.unsupported('its scale or bias depend on the differentiated values');
  const [x, scale] = ctx.inputs;
  const r = ctx.rank(x);
  const ghat = b.op('Mul', [ctx.gy, b.unsqueeze(scale, range(r - 2, 1))]);
  return [normalizedGrad(b, x, ghat, range(r - 2, 2), ctx.float('epsilon', 1e-5))];
};

export const LayerNormalization: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.needs(1) || ctx.needs(2)) throw ctx.unsupported('its scale or bias depend on the differentiated values');
  if (ctx.grads.slice(1).some((g) => g)) throw ctx.unsupported('gradients through its Mean/InvStdDev outputs are not supported');
  const [x, scale] = ctx.inputs;
  const axis = ctx.int('axis', -1);
  const r = ctx.shapes.rank(x);
  // negative axes need no rank: [axis, ..., -1]
  const axes = axis < 0 ? range(-axis, axis) : r !== undefined ? range(r - axis, axis) : undefined;
  if (!axes) throw ctx.unsupported('a non-negative axis needs the input rank, which is not known');
  const ghat = b.op('Mul', [ctx.gy, scale]);
  return [normalizedGrad(b, x, ghat, axes, ctx.float('epsilon', 1e-5))];
};
