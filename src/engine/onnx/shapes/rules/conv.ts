// Conv and ConvTranspose: [N, C, *spatial] with weights [M, C/group, *k] (Conv) or
// [C, M/group, *k] (ConvTranspose).
import type { NodeContext, ShapeRule } from '../context';
import type { ShapeDim } from '../types';
import { readWindow, windowOutput } from './window';

function checkChannels(ctx: NodeContext, x: readonly ShapeDim[], w: readonly ShapeDim[] | undefined, group: number): void {
  if (!Number.isInteger(group) || group < 1) ctx.fail(`group ${group} must be a positive integer`);
  if (!w) return;
  if (w.length !== x.length) ctx.fail(`input has rank ${x.length} but the weight has rank ${w.length}`);
  const c = x[1];
  const wc = w[1];
  if (typeof c === 'number' && typeof wc === 'number' && c !== wc * group) {
    ctx.fail(`input has ${c} channels but the weight expects ${wc} x group ${group} = ${wc * group}`);
  }
}

export const conv: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const w = ctx.shape(1);
  if (!x) {
    // The output rank follows the weight's even when the input is unknown.
    return { dtype, shape: w ? [null, w[0], ...w.slice(2).map(() => null)] : undefined };
  }
  if (x.length < 3) ctx.fail(`input rank ${x.length} is below 3 ([N, C, spatial...])`);
  const group = ctx.int('group', 1);
  checkChannels(ctx, x, w, group);
  const spatial = x.length - 2;
  const m = w ? w[0] : null;
  if (typeof m === 'number' && m % group !== 0) ctx.fail(`${m} output channels do not divide into ${group} groups`);
  const win = readWindow(ctx, spatial, w?.slice(2));
  const out: ShapeDim[] = [x[0], m];
  for (let i = 0; i < spatial; i++) out.push(win ? windowOutput(ctx, x[i + 2], win, i, spatial) : null);
  return { dtype, shape: out };
};

export const convTranspose: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  const w = ctx.shape(1);
  const group = ctx.int('group', 1);
  if (!Number.isInteger(group) || group < 1) ctx.fail(`group ${group} must be a positive integer`);
  const channels = w ? ctx.symbols.mul(w[1], group) : null;
  if (!x) return { dtype, shape: w ? [null, channels, ...w.slice(2).map(() => null)] : undefined };
  if (x.length < 3) ctx.fail(`input rank ${x.length} is below 3 ([N, C, spatial...])`);
  if (w) {
    if (w.length !== x.length) ctx.fail(`input has rank ${x.length} but the weight has rank ${w.length}`);
    if (typeof x[1] === 'number' && typeof w[0] === 'number' && x[1] !== w[0]) {
      ctx.fail(`input has ${x[1]} channels but the weight expects ${w[0]}`);
    }
  }
  const spatial = x.length - 2;
  const out: ShapeDim[] = [x[0], channels];
  const outputShape = ctx.ints('output_shape');
  if (outputShape) {
    // output_shape may list the spatial dims only or the full shape.
    const tail = outputShape.slice(-spatial);
    if (tail.length !== spatial) ctx.fail(`output_shape [${outputShape.join(', ')}] does not cover ${spatial} spatial dims`);
    return { dtype, shape: [...out, ...tail] };
  }
  const win = readWindow(ctx, spatial, w?.slice(2));
  const outputPadding = ctx.ints('output_padding') ?? new Array(spatial).fill(0);
  if (outputPadding.length !== spatial) ctx.fail(`output_padding has ${outputPadding.length} values for ${spatial} spatial dims`);
  for (let i = 0; i < spatial; i++) {
    const input = x[i + 2];
    if (!win || input === null) {
      out.push(null);
      continue;
    }
    const s = win.strides[i];
    if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') {
      out.push(ctx.symbols.mul(input, s));
      continue;
    }
    const dk = (win.kernel[i] - 1) * win.dilations[i] + 1;
    const pads = win.autoPad === 'VALID' ? 0 : win.pads[i] + win.pads[i + spatial];
    // s * (in - 1) + output_padding + dk - pads, kept symbolic when the constant part cancels.
    const d = ctx.symbols.add(ctx.symbols.mul(input, s), -s + outputPadding[i] + dk - pads);
    if (typeof d === 'number' && d < 0) ctx.fail(`spatial axis ${i} would have negative length ${d}`);
    out.push(d);
  }
  return { dtype, shape: out };
};
