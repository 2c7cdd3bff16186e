// Concat and Split along one axis. Concat is where exported shape vectors are assembled
// ([batch] ++ [197] ++ [3, 64]), so it folds known values, symbols included.
import { elementCount } from '../../tensor';
import type { NodeContext, RuleOutput, ShapeRule } from '../context';
import { fmt, isStaticShape, unifyDim } from '../dims';
import type { ShapeDim } from '../types';
import { known, type KnownTensor } from '../values';

function concatValues(values: readonly KnownTensor[], axis: number, shape: number[], dtype: number): KnownTensor | undefined {
  const outer = elementCount(shape.slice(0, axis));
  const data: ShapeDim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const v of values) {
      const block = elementCount(v.dims.slice(axis));
      for (let i = 0; i < block; i++) data.push(v.data[o * block + i]);
    }
  }
  return known(dtype, shape, data);
}

export const concat: ShapeRule = (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => i).filter((i) => ctx.has(i));
  const dtype = inputs.map((i) => ctx.dtype(i)).find((t) => t) ?? 0;
  const shapes = inputs.map((i) => ctx.shape(i));
  const first = shapes.find((s) => s);
  if (!first) return { dtype };
  const rank = first.length;
  for (const s of shapes) if (s && s.length !== rank) ctx.fail(`inputs have different ranks (${rank} and ${s.length})`);
  const axisAttr = ctx.int('axis', ctx.opset < 4 ? 1 : Number.NaN);
  if (Number.isNaN(axisAttr)) ctx.fail('attribute "axis" is missing');
  const axis = ctx.axis(axisAttr, rank);
  const fail = (m: string): never => ctx.fail(`inputs [${shapes.map((s) => (s ? fmt(s) : '?')).join('], [')}] do not fit along axis ${axis}: ${m}`);
  const shape: ShapeDim[] = [];
  for (let i = 0; i < rank; i++) {
    if (i === axis) {
      let sum: ShapeDim = 0;
      for (const s of shapes) sum = s ? ctx.symbols.add(sum, s[i]) : null;
      shape.push(sum);
    } else {
      let d: ShapeDim = null;
      for (const s of shapes) if (s) d = unifyDim(d, s[i], fail);
      shape.push(d);
    }
  }
  let value: KnownTensor | undefined;
  const values = inputs.map((i) => ctx.value(i));
  if (isStaticShape(shape) && values.every((v): v is KnownTensor => !!v)) value = concatValues(values, axis, shape, dtype);
  return { dtype, shape, value };
};

function splitSizes(ctx: NodeContext, d: ShapeDim, n: number): ShapeDim[] {
  if (typeof d !== 'number') return new Array(n).fill(ctx.symbols.divExact(d, n));
  if (d % n === 0) return new Array(n).fill(d / n);
  // Uneven: opset 18 lets the last chunk be smaller; before, it is an error.
  if (ctx.opset < 18) ctx.fail(`axis of size ${d} does not split evenly into ${n} outputs`);
  const chunk = Math.ceil(d / n);
  const last = d - chunk * (n - 1);
  if (last <= 0) ctx.fail(`axis of size ${d} cannot be split into ${n} non-empty outputs`);
  return [...new Array(n - 1).fill(chunk), last];
}

export const split: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const n = ctx.outputCount;
  if (!x) return new Array(n).fill({ dtype });
  const axis = ctx.axis(ctx.int('axis', 0), x.length);
  let sizes: ShapeDim[] | undefined;
  if (ctx.opset >= 13 && ctx.has(1)) {
    sizes = ctx.list(1);
    if (!sizes) return new Array(n).fill(0).map((): RuleOutput => ({ dtype, shape: x.map((d, i) => (i === axis ? null : d)) }));
  } else if (ctx.opset < 13) {
    sizes = ctx.ints('split');
  }
  if (sizes) {
    if (sizes.length !== n) ctx.fail(`split has ${sizes.length} sizes for ${n} outputs`);
    if (typeof x[axis] === 'number' && sizes.every((s): s is number => typeof s === 'number')) {
      const sum = sizes.reduce((a, b) => a + b, 0);
      if (sum !== x[axis]) ctx.fail(`split sizes [${sizes.join(', ')}] add up to ${sum}, not the axis size ${x[axis]}`);
    }
  } else {
    const count = ctx.opset >= 18 ? ctx.int('num_outputs', n) : n;
    if (count !== n) ctx.fail(`num_outputs is ${count} but the node has ${n} outputs`);
    sizes = splitSizes(ctx, x[axis], n);
  }
  const v = ctx.value(0);
  let offset: number | undefined = 0;
  return sizes.map((size): RuleOutput => {
    const shape = x.map((d, i) => (i === axis ? size : d));
    let value: KnownTensor | undefined;
    if (typeof size !== 'number') offset = undefined;
    if (v && offset !== undefined && typeof size === 'number' && isStaticShape(shape)) {
      const outer = elementCount(v.dims.slice(0, axis));
      const inner = elementCount(v.dims.slice(axis + 1));
      const data: ShapeDim[] = [];
      for (let o = 0; o < outer; o++) {
        const base = o * v.dims[axis] * inner + offset * inner;
        for (let i = 0; i < size * inner; i++) data.push(v.data[base + i]);
      }
      value = known(v.dtype, shape, data);
      offset += size;
    }
    return { dtype, shape, value };
  });
};
