// The sliding-window arithmetic Conv and the pools share: kernel, strides, pads, dilations,
// auto_pad and ceil_mode, read and checked once.
import type { NodeContext } from '../context';
import type { ShapeDim } from '../types';

export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin_0..begin_n, end_0..end_n] */
  pads: number[];
  autoPad: string;
  ceil: boolean;
}

const AUTO_PADS = new Set(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID', '']);

export function readWindow(ctx: NodeContext, spatial: number, kernelFallback?: readonly ShapeDim[]): WindowAttrs | undefined {
  let kernel = ctx.ints('kernel_shape');
  if (!kernel) {
    if (!kernelFallback || !kernelFallback.every((d): d is number => typeof d === 'number')) return undefined;
    kernel = [...kernelFallback] as number[];
  }
  const strides = ctx.ints('strides') ?? new Array(spatial).fill(1);
  const dilations = ctx.ints('dilations') ?? new Array(spatial).fill(1);
  const pads = ctx.ints('pads') ?? new Array(spatial * 2).fill(0);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  const check = (name: string, list: number[], length: number, min: number) => {
    if (list.length !== length) ctx.fail(`attribute "${name}" has ${list.length} values, expected ${length} for ${spatial} spatial dims`);
    if (list.some((v) => !Number.isSafeInteger(v) || v < min)) ctx.fail(`attribute "${name}" = [${list.join(', ')}] must hold integers >= ${min}`);
  };
  check('kernel_shape', kernel, spatial, 1);
  check('strides', strides, spatial, 1);
  check('dilations', dilations, spatial, 1);
  check('pads', pads, spatial * 2, 0);
  if (!AUTO_PADS.has(autoPad)) ctx.fail(`auto_pad "${autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  return { kernel, strides, dilations, pads, autoPad: autoPad || 'NOTSET', ceil: ctx.int('ceil_mode', 0) === 1 };
}

/** Output length of one spatial axis of a Conv or pool. */
export function windowOutput(ctx: NodeContext, input: ShapeDim, w: WindowAttrs, axis: number, spatial: number): ShapeDim {
  const s = w.strides[axis];
  const dk = (w.kernel[axis] - 1) * w.dilations[axis] + 1;
  if (input === null) return null;
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
    if (typeof input === 'string') return s === 1 ? input : null;
    return Math.ceil(input / s);
  }
  const pad = w.autoPad === 'VALID' ? 0 : w.pads[axis] + w.pads[axis + spatial];
  if (typeof input === 'string') {
    // Only a window that preserves the length keeps a symbolic dim nameable.
    return s === 1 && pad - dk + 1 === 0 ? input : null;
  }
  const span = input + pad - dk;
  if (span < 0) {
    ctx.fail(`spatial axis ${axis}: input ${input} with pads ${pad} is smaller than the ${dk}-wide (dilated) kernel`);
  }
  if (!w.ceil) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  // The last window must start inside the input or the left padding (PyTorch, onnxruntime).
  const padBegin = w.autoPad === 'VALID' ? 0 : w.pads[axis];
  if ((out - 1) * s >= input + padBegin) out -= 1;
  return out;
}
