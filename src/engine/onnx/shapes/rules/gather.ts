// Indexing ops: Gather (which also picks dims out of Shape vectors), GatherElements,
// GatherND, and the scatters (whose output is the data's shape).
import { elementCount } from '../../tensor';
import type { ShapeRule } from '../context';
import { isStaticShape } from '../dims';
import type { ShapeDim } from '../types';
import { known, type KnownTensor } from '../values';

export const gather: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const data = ctx.shape(0);
  const indices = ctx.shape(1);
  if (!data || !indices) return { dtype };
  if (data.length === 0) ctx.fail('data must have rank >= 1');
  const axis = ctx.axis(ctx.int('axis', 0), data.length);
  const shape = [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
  let value: KnownTensor | undefined;
  const v = ctx.value(0);
  const idx = ctx.value(1);
  if (v && idx && isStaticShape(shape)) {
    const n = v.dims[axis];
    const outer = elementCount(v.dims.slice(0, axis));
    const inner = elementCount(v.dims.slice(axis + 1));
    const out: ShapeDim[] = [];
    for (let o = 0; o < outer; o++) {
      for (const raw of idx.data) {
        if (typeof raw !== 'number') {
          for (let i = 0; i < inner; i++) out.push(null);
          continue;
        }
        if (raw < -n || raw >= n) ctx.fail(`index ${raw} is out of range for an axis of size ${n}`);
        const k = raw < 0 ? raw + n : raw;
        for (let i = 0; i < inner; i++) out.push(v.data[(o * n + k) * inner + i]);
      }
    }
    value = known(v.dtype, shape, out);
  }
  return { dtype, shape, value };
};

export const gatherElements: ShapeRule = (ctx) => {
  const data = ctx.shape(0);
  const indices = ctx.shape(1);
  if (data && indices && data.length !== indices.length) ctx.fail(`data rank ${data.length} and indices rank ${indices.length} differ`);
  return { dtype: ctx.dtype(0), shape: indices };
};

export const gatherND: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const data = ctx.shape(0);
  const indices = ctx.shape(1);
  if (!data || !indices || indices.length === 0) return { dtype };
  const batchDims = ctx.int('batch_dims', 0);
  const last = indices[indices.length - 1];
  if (typeof last !== 'number') return { dtype };
  if (batchDims + last > data.length) ctx.fail(`indices reach ${batchDims + last} dims of a rank-${data.length} tensor`);
  return { dtype, shape: [...indices.slice(0, -1), ...data.slice(batchDims + last)] };
};

/** ScatterND, ScatterElements, Scatter: the data's shape and type. */
export const scatter: ShapeRule = (ctx) => ({ dtype: ctx.dtype(0), shape: ctx.shape(0) });
