// Slice: starts/ends/axes/steps as attributes (opset < 10) or inputs, with INT64 sentinels
// ("to the end") and negative indices and steps, clamped as the spec says.
import type { ShapeRule } from '../context';
import { isStaticShape } from '../dims';
import type { ShapeDim } from '../types';
import { gatherBy, known, stridesOf, type KnownTensor } from '../values';

/** Entries at or beyond this mean "to the end" for a symbolic dim (exporters use INT64/INT32 max). */
const TO_END = 2 ** 31 - 1;

/** [effective start, output length] of slicing a static dim. */
export function sliceRange(d: number, start: number, end: number, step: number): [number, number] {
  if (start < 0) start += d;
  if (end < 0) end += d;
  let s: number;
  let e: number;
  if (step > 0) {
    s = Math.min(Math.max(start, 0), d);
    e = Math.min(Math.max(end, 0), d);
  } else {
    s = Math.min(Math.max(start, 0), d - 1);
    e = Math.min(Math.max(end, -1), d - 1);
  }
  return [s, Math.max(0, Math.ceil((e - s) / step))];
}

function sliceLength(d: ShapeDim, start: ShapeDim, end: ShapeDim, step: number): ShapeDim {
  if (d === null || start === null || end === null) return null;
  if (typeof d === 'number') {
    if (typeof start !== 'number' || typeof end !== 'number') return null;
    return sliceRange(d, start, end, step)[1];
  }
  // A symbolic dim survives only a full-range slice.
  if (step === 1) {
    const fromStart = start === 0 || (typeof start === 'number' && start <= -TO_END);
    const toEnd = end === d || (typeof end === 'number' && end >= TO_END);
    return fromStart && toEnd ? d : null;
  }
  if (step === -1) {
    const fromEnd = start === -1 || (typeof start === 'number' && start >= TO_END);
    const toStart = typeof end === 'number' && end <= -TO_END;
    return fromEnd && toStart ? d : null;
  }
  return null;
}

export const slice: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  let starts: ShapeDim[] | undefined;
  let ends: ShapeDim[] | undefined;
  let axes: ShapeDim[] | undefined;
  let steps: ShapeDim[] | undefined;
  let unknownParams = false;
  if (ctx.opset < 10) {
    starts = ctx.ints('starts');
    ends = ctx.ints('ends');
    axes = ctx.ints('axes');
    if (!starts || !ends) ctx.fail('attributes "starts" and "ends" are required');
  } else {
    starts = ctx.list(1);
    ends = ctx.list(2);
    if (ctx.has(3)) {
      axes = ctx.list(3);
      unknownParams = !axes;
    }
    if (ctx.has(4)) {
      steps = ctx.list(4);
      unknownParams ||= !steps;
    }
  }
  if (!x) return { dtype };
  const rank = x.length;
  if (!starts || !ends || unknownParams) {
    // Unknown parameters: the rank stays, and so do the axes we know are not sliced.
    const touched = axes && axes.every((a): a is number => typeof a === 'number') ? new Set(axes.map((a) => ctx.axis(a, rank))) : undefined;
    return { dtype, shape: x.map((d, i) => (touched && !touched.has(i) ? d : null)) };
  }
  const n = starts.length;
  if (ends.length !== n) ctx.fail(`starts has ${n} entries but ends has ${ends.length}`);
  if (axes && axes.length !== n) ctx.fail(`starts has ${n} entries but axes has ${axes.length}`);
  if (steps && steps.length !== n) ctx.fail(`starts has ${n} entries but steps has ${steps.length}`);
  const axisList = (axes ?? starts.map((_, i) => i)).map((a) => (typeof a === 'number' ? ctx.axis(a, rank) : ctx.fail('axes must be numbers')));
  if (new Set(axisList).size !== axisList.length) ctx.fail(`axes [${axisList.join(', ')}] repeat an axis`);
  const shape = [...x];
  const begin = x.map(() => 0);
  const stride = x.map(() => 1);
  let foldable = true;
  axisList.forEach((a, k) => {
    const step = steps ? steps[k] : 1;
    if (typeof step !== 'number') {
      shape[a] = null;
      foldable = false;
      return;
    }
    if (step === 0) ctx.fail('steps must not be 0');
    shape[a] = sliceLength(x[a], starts![k], ends![k], step);
    const d = x[a];
    const s = starts![k];
    const e = ends![k];
    if (typeof d === 'number' && typeof s === 'number' && typeof e === 'number') {
      begin[a] = sliceRange(d, s, e, step)[0];
      stride[a] = step;
    } else {
      foldable = false;
    }
  });
  let value: KnownTensor | undefined;
  const v = ctx.value(0);
  if (v && foldable && isStaticShape(shape)) {
    const strides = stridesOf(v.dims);
    const data = gatherBy(shape, v.data, (index) => index.reduce((off, ix, k) => off + (begin[k] + ix * stride[k]) * strides[k], 0));
    value = data && known(v.dtype, shape, data);
  }
  return { dtype, shape, value };
};
