// Ops that rearrange a tensor without computing on it: Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Expand, Tile, DepthToSpace, SpaceToDepth. They carry known values through.
import { elementCount } from '../../tensor';
import type { NodeContext, ShapeRule } from '../context';
import { broadcastDim, fmt, isStaticShape } from '../dims';
import type { ShapeDim } from '../types';
import { gatherBy, known, mapBroadcast, stridesOf, type KnownTensor } from '../values';

/** The same elements under new static dims. */
function reshaped(v: KnownTensor | undefined, shape: readonly ShapeDim[] | undefined): KnownTensor | undefined {
  if (!v || !isStaticShape(shape) || elementCount(shape) !== v.data.length) return undefined;
  return { dtype: v.dtype, dims: shape, data: v.data };
}

export const reshape: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const input = ctx.shape(0);
  let target: ShapeDim[] | undefined;
  if (ctx.opset < 5) {
    target = ctx.ints('shape');
  } else {
    target = ctx.list(1);
    if (!target) {
      // Unknown contents, known length: the rank is known.
      const n = ctx.length(1);
      return { dtype, shape: n === undefined ? undefined : new Array(n).fill(null) };
    }
    if (ctx.value(1)!.dims.length !== 1) ctx.fail('the shape input must be 1-D');
  }
  if (!target) return { dtype };
  const allowZero = ctx.int('allowzero', 0) === 1;
  const out: ShapeDim[] = [];
  let inferAt = -1;
  target.forEach((t, i) => {
    if (t === 0 && !allowZero) {
      if (input && i >= input.length) ctx.fail(`shape [${fmt(target!)}] copies dim ${i} (0) but the input has rank ${input.length}`);
      out.push(input ? input[i] : null);
    } else if (t === -1) {
      if (inferAt >= 0) ctx.fail(`shape [${fmt(target!)}] has more than one -1`);
      inferAt = i;
      out.push(null);
    } else if (typeof t === 'number' && (t < -1 || !Number.isInteger(t))) {
      ctx.fail(`shape [${fmt(target!)}] has an invalid entry ${t}`);
    } else {
      out.push(t);
    }
  });
  const total = input ? ctx.symbols.product(input) : null;
  if (inferAt >= 0) {
    const rest = ctx.symbols.product(out.filter((_, i) => i !== inferAt));
    if (typeof total === 'number' && typeof rest === 'number') {
      if (rest === 0 || total % rest !== 0) ctx.fail(`cannot reshape [${fmt(input!)}] (${total} elements) into [${fmt(target)}]`);
      out[inferAt] = total / rest;
    } else if (total !== null && rest !== null && rest !== 0) {
      out[inferAt] = ctx.symbols.divExact(total, rest);
    }
  } else if (typeof total === 'number' && isStaticShape(out) && elementCount(out) !== total) {
    ctx.fail(`cannot reshape [${fmt(input!)}] (${total} elements) into [${fmt(out)}]`);
  }
  return { dtype, shape: out, value: reshaped(ctx.value(0), out) };
};

export const flatten: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  if (!x) return { dtype, shape: [null, null] };
  const axisAttr = ctx.int('axis', 1);
  // axis may equal rank (everything in the first dim).
  if (axisAttr < -x.length || axisAttr > x.length) ctx.fail(`axis ${axisAttr} is out of range for rank ${x.length}`);
  const axis = axisAttr < 0 ? axisAttr + x.length : axisAttr;
  const shape = [ctx.symbols.product(x.slice(0, axis)), ctx.symbols.product(x.slice(axis))];
  return { dtype, shape, value: reshaped(ctx.value(0), shape) };
};

/** Axes from the attribute (older opsets) or the second input; undefined = not given. */
function axesOf(ctx: NodeContext, inputFrom: number): { axes?: ShapeDim[]; unknown: boolean } {
  if (ctx.opset < inputFrom) return { axes: ctx.ints('axes'), unknown: false };
  if (!ctx.has(1)) return { unknown: false };
  const axes = ctx.list(1);
  return { axes, unknown: !axes };
}

function normalizeAxes(ctx: NodeContext, axes: readonly ShapeDim[], rank: number): number[] {
  const out = axes.map((a) => (typeof a === 'number' ? ctx.axis(a, rank) : ctx.fail('axes must be numbers')));
  if (new Set(out).size !== out.length) ctx.fail(`axes [${axes.join(', ')}] repeat an axis`);
  return out;
}

export const squeeze: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const { axes, unknown } = axesOf(ctx, 13);
  if (!x || unknown) return { dtype };
  let shape: ShapeDim[] | undefined;
  if (!axes || axes.length === 0) {
    // Which dims are 1 is only known when all are static.
    shape = isStaticShape(x) ? x.filter((d) => d !== 1) : undefined;
  } else {
    const drop = new Set(normalizeAxes(ctx, axes, x.length));
    for (const a of drop) {
      if (typeof x[a] === 'number' && x[a] !== 1) ctx.fail(`axis ${a} has size ${x[a]}, only size-1 axes can be squeezed`);
    }
    shape = x.filter((_, i) => !drop.has(i));
  }
  return { dtype, shape, value: reshaped(ctx.value(0), shape) };
};

export const unsqueeze: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const { axes, unknown } = axesOf(ctx, 13);
  if (!axes) {
    if (unknown && x) {
      const n = ctx.length(1);
      return { dtype, shape: n === undefined ? undefined : new Array(x.length + n).fill(null) };
    }
    if (!unknown) ctx.fail('axes are missing');
    return { dtype };
  }
  if (!x) return { dtype };
  const rank = x.length + axes.length;
  const insert = new Set(normalizeAxes(ctx, axes, rank));
  const shape: ShapeDim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(insert.has(i) ? 1 : x[k++]);
  return { dtype, shape, value: reshaped(ctx.value(0), shape) };
};

export const transpose: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const permAttr = ctx.ints('perm');
  if (!x) return { dtype, shape: permAttr ? permAttr.map(() => null) : undefined };
  const perm = permAttr ?? x.map((_, i) => x.length - 1 - i);
  if (perm.length !== x.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    ctx.fail(`perm [${perm.join(', ')}] is not a permutation of ${x.length} axes`);
  }
  const shape = perm.map((p) => x[p]);
  let value: KnownTensor | undefined;
  const v = ctx.value(0);
  if (v && isStaticShape(shape)) {
    const strides = stridesOf(v.dims);
    const data = gatherBy(shape, v.data, (index) => index.reduce((off, ix, k) => off + ix * strides[perm[k]], 0));
    value = data && known(v.dtype, shape, data);
  }
  return { dtype, shape, value };
};

/** Expand's broadcast: like numpy's, but a target entry may also be unknown. */
export const expand: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  let target = ctx.list(1);
  if (!target) {
    const n = ctx.length(1);
    if (n === undefined || !x) return { dtype };
    target = new Array(n).fill(null);
  }
  if (!x) return { dtype };
  const rank = Math.max(x.length, target.length);
  const fail = (m: string): never => ctx.fail(`cannot expand [${fmt(x)}] to [${fmt(target!)}]: ${m}`);
  const shape: ShapeDim[] = [];
  for (let i = 0; i < rank; i++) {
    const a = i - (rank - x.length) >= 0 ? x[i - (rank - x.length)] : 1;
    const b = i - (rank - target.length) >= 0 ? target[i - (rank - target.length)] : 1;
    shape.push(broadcastDim(a, b, fail));
  }
  let value: KnownTensor | undefined;
  const v = ctx.value(0);
  if (v && isStaticShape(shape)) {
    const data = mapBroadcast(shape, [v], ([e]) => e);
    value = data && known(v.dtype, shape, data);
  }
  return { dtype, shape, value };
};

export const tile: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const repeats = ctx.list(1);
  if (!x) return { dtype };
  if (!repeats) return { dtype, shape: x.map(() => null) };
  if (repeats.length !== x.length) ctx.fail(`repeats has ${repeats.length} entries for rank ${x.length}`);
  const shape = x.map((d, i) => ctx.symbols.mul(d, repeats[i]));
  let value: KnownTensor | undefined;
  const v = ctx.value(0);
  if (v && isStaticShape(shape)) {
    const strides = stridesOf(v.dims);
    const data = gatherBy(shape, v.data, (index) => index.reduce((off, ix, k) => off + (ix % v.dims[k]) * strides[k], 0));
    value = data && known(v.dtype, shape, data);
  }
  return { dtype, shape, value };
};

function blocksize(ctx: NodeContext): number {
  const b = ctx.int('blocksize');
  if (b === undefined || !Number.isInteger(b) || b < 1) ctx.fail('attribute "blocksize" must be a positive integer');
  return b;
}

export const depthToSpace: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  if (!x) return { dtype, shape: [null, null, null, null] };
  if (x.length !== 4) ctx.fail(`input rank ${x.length}, expected 4`);
  const b = blocksize(ctx);
  const c = ctx.symbols.divExact(x[1], b * b);
  if (typeof x[1] === 'number' && c === null) ctx.fail(`${x[1]} channels are not divisible by blocksize² = ${b * b}`);
  return { dtype, shape: [x[0], c, ctx.symbols.mul(x[2], b), ctx.symbols.mul(x[3], b)] };
};

export const spaceToDepth: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  if (!x) return { dtype, shape: [null, null, null, null] };
  if (x.length !== 4) ctx.fail(`input rank ${x.length}, expected 4`);
  const b = blocksize(ctx);
  const spatial = [x[2], x[3]].map((d) => {
    const q = ctx.symbols.divExact(d, b);
    if (typeof d === 'number' && q === null) ctx.fail(`spatial size ${d} is not divisible by blocksize ${b}`);
    return q;
  });
  return { dtype, shape: [x[0], ctx.symbols.mul(x[1], b * b), ...spatial] };
};
