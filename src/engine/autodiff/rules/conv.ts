// Convolutions. The input gradient of Conv is a ConvTranspose with the same weights, strides,
// dilations, group and pads; output_padding brings back the last input rows that the end
// padding would crop (so sizes match exactly). Where the input's spatial size is not static,
// the ConvTranspose is run without end padding, cropped and zero-padded to the runtime shape.
import { attr } from '../../onnx/builder';
import type { Emitter } from '../emitter';
import { range } from '../emitter';
import type { GradientRule, RuleContext } from '../rule';

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  spatial: number;
}

function windowOf(ctx: RuleContext, kernelFrom?: string): Window {
  const x = ctx.inputs[0];
  const spatial = ctx.rank(x) - 2;
  let kernel = ctx.ints('kernel_shape');
  if (!kernel && kernelFrom) {
    const w = ctx.shapes.shape(kernelFrom);
    if (w && w.slice(2).every((d) => typeof d === 'number')) kernel = w.slice(2) as number[];
  }
  if (!kernel) throw ctx.unsupported('the kernel shape is not known statically');
  const strides = ctx.ints('strides') ?? new Array(spatial).fill(1);
  const dilations = ctx.ints('dilations') ?? new Array(spatial).fill(1);
  let pads = ctx.ints('pads') ?? new Array(2 * spatial).fill(0);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = new Array(2 * spatial).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const sx = ctx.shapes.shape(x);
    const dims = sx?.slice(2);
    if (!dims || !dims.every((d) => typeof d === 'number')) throw ctx.unsupported(`auto_pad ${autoPad} needs static spatial sizes`);
    pads = new Array(2 * spatial).fill(0);
    (dims as number[]).forEach((d, i) => {
      const out = Math.ceil(d / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel![i] - 1) * dilations[i] + 1 - d);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + spatial] = total - pads[i];
    });
  }
  return { kernel, strides, dilations, pads, spatial };
}

/** Output size of a forward window op along axis i for input size d (floor mode). */
const outSize = (w: Window, i: number, d: number) =>
  Math.floor((d + w.pads[i] + w.pads[i + w.spatial] - ((w.kernel[i] - 1) * w.dilations[i] + 1)) / w.strides[i]) + 1;

/**
 * ConvTranspose of `g` whose output has exactly the spatial size of `like` (the forward input),
 * for a forward window op described by `w` (floor mode).
 */
export function transposedWindow(b: Emitter, g: string, weight: string, like: string, w: Window, group: number, outDims?: readonly number[]): string {
  const dims = b.shapes.shape(like)?.slice(2);
  const common = {
    strides: attr.ints(w.strides),
    dilations: attr.ints(w.dilations),
    pads: attr.ints(w.pads),
    group,
    kernel_shape: attr.ints(w.kernel),
  };
  if (dims && dims.every((d) => typeof d === 'number')) {
    const outputPadding = (dims as number[]).map((d, i) => {
      const o = outDims?.[i] ?? outSize(w, i, d);
      return d - ((o - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - w.pads[i] - w.pads[i + w.spatial]);
    });
    if (outputPadding.every((p) => p >= 0)) {
      const needsPadding = outputPadding.some((p) => p !== 0);
      return b.op('ConvTranspose', [g, weight], { ...common, ...(needsPadding ? { output_padding: attr.ints(outputPadding) } : {}) });
    }
    // ceil_mode windows reach past the input: crop what lies outside it, pad what they missed.
    const ct = b.op('ConvTranspose', [g, weight], { ...common, output_padding: attr.ints(outputPadding.map((p) => Math.max(0, p))) });
    const axes = range(w.spatial, 2);
    return b.op('Slice', [ct, b.ints(axes.map(() => 0)), b.ints(dims as number[]), b.ints(axes)]);
  }
  if (outDims) throw new Error('transposedWindow: output sizes given for a dynamic input');
  // Sizes known only at run time: without end padding the result covers every input row the
  // windows reached (and maybe more); crop it to the input, then zero-pad rows never reached.
  const noEndPads = [...w.pads.slice(0, w.spatial), ...new Array(w.spatial).fill(0)];
  const ct = b.op('ConvTranspose', [g, weight], { ...common, pads: attr.ints(noEndPads) });
  const axes = range(w.spatial, 2);
  const cropped = b.op('Slice', [ct, b.ints(axes.map(() => 0)), b.dimsOf(like, 2), b.ints(axes)]);
  return padEndTo(b, cropped, like);
}

/** Zero-pads `x` at the end of its spatial axes (2..) up to the runtime spatial size of `like`. */
export function padEndTo(b: Emitter, x: string, like: string): string {
  const rank = b.shapes.rank(like)!;
  const own = b.opset >= 15 ? b.op('Shape', [x], { start: 2 }) : b.op('Slice', [b.op('Shape', [x]), b.ints([2]), b.ints([rank])]);
  const missing = b.op('Sub', [b.dimsOf(like, 2), own]);
  const pads = b.op('Concat', [b.ints(new Array(rank + 2).fill(0)), missing], { axis: 0 });
  return b.op('Pad', [x, pads]);
}

export const Conv: GradientRule = (ctx) => {
  if (ctx.needs(1) || ctx.needs(2)) throw ctx.unsupported('its weights or bias depend on the differentiated values (only activation gradients are built)');
  const [x, w] = ctx.inputs;
  const win = windowOf(ctx, w);
  return [transposedWindow(ctx.b, ctx.gy, w, x, win, ctx.int('group', 1))];
};

export const ConvTranspose: GradientRule = (ctx) => {
  if (ctx.needs(1) || ctx.needs(2)) throw ctx.unsupported('its weights or bias depend on the differentiated values (only activation gradients are built)');
  if (ctx.ints('output_shape') || ctx.string('auto_pad', 'NOTSET') !== 'NOTSET') {
    throw ctx.unsupported('output_shape/auto_pad on ConvTranspose are not supported; use explicit pads');
  }
  const [, w] = ctx.inputs;
  const spatial = ctx.rank(ctx.inputs[0]) - 2;
  const ws = ctx.shapes.shape(w);
  const kernel = ctx.ints('kernel_shape') ?? (ws && ws.slice(2).every((d) => typeof d === 'number') ? (ws.slice(2) as number[]) : undefined);
  if (!kernel) throw ctx.unsupported('the kernel shape is not known statically');
  // ConvTranspose is the adjoint of Conv with the same attributes; the output_padding rows are
  // outside every window and drop out of the Conv.
  return [
    ctx.b.op('Conv', [ctx.gy, w], {
      strides: attr.ints(ctx.ints('strides') ?? new Array(spatial).fill(1)),
      dilations: attr.ints(ctx.ints('dilations') ?? new Array(spatial).fill(1)),
      pads: attr.ints(ctx.ints('pads') ?? new Array(2 * spatial).fill(0)),
      group: ctx.int('group', 1),
      kernel_shape: attr.ints(kernel),
    }),
  ];
};

export { windowOf, range };
export type { Window };
