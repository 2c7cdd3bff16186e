// Pad: pads as an attribute (opset < 11) or an input, optionally for some axes only
// (opset 18). Every mode keeps the same output shape arithmetic: begin + size + end.
import type { ShapeRule } from '../context';
import type { ShapeDim } from '../types';

export const pad: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const mode = ctx.string('mode', 'constant');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) ctx.fail(`mode "${mode}" is not constant, reflect, edge or wrap`);
  let pads: ShapeDim[] | undefined;
  let axes: ShapeDim[] | undefined;
  let unknownAxes = false;
  if (ctx.opset < 11) {
    pads = ctx.ints('pads') ?? ctx.ints('paddings');
    if (!pads) ctx.fail('attribute "pads" is missing');
  } else {
    pads = ctx.list(1);
    if (ctx.opset >= 18 && ctx.has(3)) {
      axes = ctx.list(3);
      unknownAxes = !axes;
    }
  }
  if (!x) return { dtype };
  const rank = x.length;
  const axisList = axes
    ? axes.map((a) => (typeof a === 'number' ? ctx.axis(a, rank) : ctx.fail('axes must be numbers')))
    : unknownAxes
      ? undefined
      : x.map((_, i) => i);
  if (!pads || !axisList) {
    const touched = axisList ? new Set(axisList) : undefined;
    return { dtype, shape: x.map((d, i) => (touched && !touched.has(i) ? d : null)) };
  }
  const n = axisList.length;
  if (pads.length !== 2 * n) ctx.fail(`pads has ${pads.length} entries, expected ${2 * n} (begin and end for ${n} axes)`);
  const shape = [...x];
  axisList.forEach((a, k) => {
    const d = x[a];
    const begin = pads![k];
    const end = pads![k + n];
    if (d === null || typeof begin !== 'number' || typeof end !== 'number') {
      shape[a] = begin === 0 && end === 0 ? d : null;
    } else if (typeof d === 'string') {
      shape[a] = begin + end === 0 ? d : null;
    } else {
      const size = d + begin + end;
      if (size < 0) ctx.fail(`axis ${a} of size ${d} padded by ${begin} and ${end} would be negative`);
      shape[a] = size;
    }
  });
  return { dtype, shape };
};
