// Ops that move or select elements without arithmetic: the gradient is the inverse movement
// (reshape back, inverse transpose) or a scatter into zeros of the input's shape.
import { DataType } from '../../onnx/types';
import { range } from '../emitter';
import type { GradientRule, RuleContext } from '../rule';

export const Identity: GradientRule = (ctx) => [ctx.gy];
/** Inference-mode Dropout is the identity (the mask output carries no gradient). */
export const Dropout: GradientRule = (ctx) => [ctx.gy];

export const Cast: GradientRule = (ctx) => {
  const to = ctx.shapes.dtype(ctx.inputs[0]);
  if (!to) throw ctx.unsupported(`the element type of its input "${ctx.inputs[0]}" is not known`);
  return [to === ctx.shapes.dtype(ctx.outputs[0]) ? ctx.gy : ctx.b.op('Cast', [ctx.gy], { to })];
};

const reshapeBack: GradientRule = (ctx) => [ctx.b.reshapeLike(ctx.gy, ctx.inputs[0])];
export const Flatten = reshapeBack;
export const Reshape = reshapeBack;
export const Squeeze = reshapeBack;
export const Unsqueeze = reshapeBack;

export const Transpose: GradientRule = (ctx) => {
  const perm = ctx.ints('perm') ?? range(ctx.rank(ctx.inputs[0])).reverse();
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return [ctx.b.transpose(ctx.gy, inverse)];
};

export const Expand: GradientRule = (ctx) => [ctx.b.reduceToShapeOf(ctx.gy, ctx.inputs[0], ctx.outputs[0]), undefined];

export const Concat: GradientRule = (ctx) => {
  const { b } = ctx;
  const first = ctx.inputs[0];
  const axis = ctx.axis(ctx.int('axis', 0), ctx.rank(first));
  const sizes = ctx.inputs.map((x) => ctx.shapes.shape(x)?.[axis]);
  const split = sizes.every((d) => typeof d === 'number')
    ? b.ints(sizes as number[])
    : b.op(
        'Concat',
        ctx.inputs.map((x) => b.dimsOf(x, axis, axis + 1)),
        { axis: 0 },
      );
  const parts = b.ops('Split', [ctx.gy, split], { axis }, ctx.inputs.length);
  return parts.map((p, i) => (ctx.needs(i) ? p : undefined));
};

export const Split: GradientRule = (ctx) => {
  const { b } = ctx;
  const axis = ctx.axis(ctx.int('axis', 0), ctx.rank(ctx.inputs[0]));
  const parts = ctx.outputs.map((o, i) => ctx.grads[i] ?? b.zerosLike(o));
  return [b.op('Concat', parts, { axis }), undefined];
};

/** A constant integer input, or undefined if it is absent. Throws if present but not constant. */
function constInput(ctx: RuleContext, i: number, what: string): number[] | undefined {
  const v = ctx.inputs[i];
  if (!v) return undefined;
  const c = ctx.shapes.numbers(v);
  if (!c) throw ctx.unsupported(`its ${what} ("${v}") are computed at run time; only constant ${what} are supported`);
  return c;
}

export const Slice: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, starts, ends] = ctx.inputs;
  const r = ctx.rank(x);
  const count = ctx.shapes.numbers(starts)?.length ?? ctx.shapes.staticShape(starts)?.[0];
  const axes = constInput(ctx, 3, 'axes')?.map((a) => ctx.axis(a, r)) ?? (count !== undefined ? range(count) : undefined);
  if (!axes) throw ctx.unsupported('the number of sliced axes is not known');
  const steps = ctx.inputs[4] || undefined;
  // For each sliced axis, the selected positions are Slice(Range(0, dim)) (ORT resolves the
  // clamping rules); scatter the gradient back along that axis, one axis at a time.
  let g = ctx.gy;
  axes.forEach((axis, k) => {
    const pick = (v: string) => b.op('Slice', [v, b.ints([k]), b.ints([k + 1])]);
    const dim = b.squeeze(b.dimsOf(x, axis, axis + 1), [0]);
    const positions = b.op('Range', [b.int(0), dim, b.int(1)]);
    const index = b.op('Slice', [positions, cast64(ctx, pick(starts)), cast64(ctx, pick(ends)), b.ints([0]), ...(steps ? [cast64(ctx, pick(steps))] : [])]);
    const shape = new Array(r).fill(1);
    shape[axis] = -1;
    const gShape = b.op('Shape', [g]);
    const spread = b.op('Expand', [b.op('Reshape', [index, b.ints(shape)]), gShape]);
    const target = b.op('ScatterElements', [gShape, b.ints([axis]), b.dimsOf(x, axis, axis + 1)], { axis: 0 });
    g = b.op('ScatterElements', [zerosOfShape(ctx, target), spread, g], { axis });
  });
  return [g];
};

function cast64(ctx: RuleContext, v: string): string {
  return ctx.shapes.dtype(ctx.inputs[1]) === DataType.INT32 ? ctx.b.op('Cast', [v], { to: DataType.INT64 }) : v;
}

function zerosOfShape(ctx: RuleContext, shape: string): string {
  return ctx.b.filled(shape, 0, ctx.b.dtypeOf(ctx.inputs[0]));
}

export const Gather: GradientRule = (ctx) => {
  const { b } = ctx;
  b.requireOpset(16, `the gradient of Gather "${ctx.node.name}" (ScatterND with reduction)`);
  const [x, indices] = ctx.inputs;
  const r = ctx.rank(x);
  const q = ctx.rank(indices);
  const axis = ctx.axis(ctx.int('axis', 0), r);
  // gy: x[:axis] + idx + x[axis+1:] → idx + x[:axis] + x[axis+1:]
  const perm = [...range(q, axis), ...range(axis), ...range(r - 1 - axis, axis + q)];
  const gt = b.transpose(ctx.gy, perm);
  const parts = [b.dimsOf(x, axis, axis + 1)];
  if (axis > 0) parts.push(b.dimsOf(x, 0, axis));
  if (axis + 1 < r) parts.push(b.dimsOf(x, axis + 1, r));
  const zeros = zerosOfShape(ctx, parts.length > 1 ? b.op('Concat', parts, { axis: 0 }) : parts[0]);
  let idx = ctx.shapes.dtype(indices) === DataType.INT64 ? indices : b.op('Cast', [indices], { to: DataType.INT64 });
  const dim = b.squeeze(b.dimsOf(x, axis, axis + 1), [0]);
  idx = b.op('Where', [b.op('Less', [idx, b.int(0)]), b.op('Add', [idx, dim]), idx]);
  const scattered = b.inFloat32(b.dtypeOf(x), [zeros, b.unsqueeze(idx, [-1]), gt], ([z, i, g]) => b.op('ScatterND', [z, i, g], { reduction: 'add' }));
  // back from [axis, rest...] to x's order
  const back = [...range(axis, 1), 0, ...range(r - 1 - axis, axis + 1)];
  return [b.transpose(scattered, back), undefined];
};

export const Pad: GradientRule = (ctx) => {
  const { b } = ctx;
  const mode = ctx.string('mode', 'constant');
  if (mode !== 'constant') throw ctx.unsupported(`mode "${mode}" is not supported (only constant)`);
  const [x] = ctx.inputs;
  const r = ctx.rank(x);
  const pads = ctx.ints('pads') ?? constInput(ctx, 1, 'pads');
  if (!pads) throw ctx.unsupported('its pads are not known');
  const axes = constInput(ctx, 3, 'axes')?.map((a) => ctx.axis(a, r)) ?? range(r);
  const n = axes.length;
  if (pads.some((p) => p < 0)) throw ctx.unsupported('negative pads (cropping) are not supported');
  const begins = pads.slice(0, n);
  const ends = b.op('Add', [
    b.ints(begins),
    b.op(
      'Concat',
      axes.map((a) => b.dimsOf(x, a, a + 1)),
      { axis: 0 },
    ),
  ]);
  return [b.op('Slice', [ctx.gy, b.ints(begins), ends, b.ints(axes)]), undefined, undefined, undefined];
};

/**
 * TopK's values are elements of x picked along `axis` (its indices carry no gradient): each
 * value's gradient goes back to the position it was picked from. The picked positions are
 * distinct, so a plain scatter is exact.
 */
export const TopK: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x] = ctx.inputs;
  const axis = ctx.axis(ctx.int('axis', -1), ctx.rank(x));
  const indices = ctx.outputs[1] || b.addForwardOutput(ctx.node, 1, `${ctx.node.name}_indices`);
  return [b.op('ScatterElements', [b.zerosLike(x), indices, ctx.gy], { axis }), undefined];
};

/** GatherElements: the gradient is added back at the gathered positions (a position may be gathered twice). */
export const GatherElements: GradientRule = (ctx) => {
  const { b } = ctx;
  b.requireOpset(16, `the gradient of GatherElements "${ctx.node.name}" (ScatterElements with reduction)`);
  const [x, indices] = ctx.inputs;
  const axis = ctx.axis(ctx.int('axis', 0), ctx.rank(x));
  const scattered = b.inFloat32(b.dtypeOf(x), [b.zerosLike(x), ctx.gy], ([z, g]) => b.op('ScatterElements', [z, indices, g], { axis, reduction: 'add' }));
  return [scattered, undefined];
};

/**
 * GatherND (a boolean-mask selection `x[mask]` exports as NonZero → Transpose → GatherND): the
 * gradient is added back at the gathered index tuples.
 */
export const GatherND: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.int('batch_dims', 0) !== 0) throw ctx.unsupported('batch_dims other than 0 are not supported');
  b.requireOpset(16, `the gradient of GatherND "${ctx.node.name}" (ScatterND with reduction)`);
  const [x, indices] = ctx.inputs;
  const scattered = b.inFloat32(b.dtypeOf(x), [b.zerosLike(x), ctx.gy], ([z, g]) => b.op('ScatterND', [z, indices, g], { reduction: 'add' }));
  return [scattered, undefined];
};
