// Pooling. MaxPool's gradient goes to the argmax of each window: the forward node in the copy
// gets its Indices output, and the output gradient is scatter-added into a flat zero tensor
// (ScatterElements reduction='add', so overlapping windows that pick the same element sum).
// AveragePool is linear: its gradient is a ConvTranspose with a ones kernel applied to every
// (n, c) plane (folded into the batch axis), after dividing by each window's divisor.
import { attr } from '../../onnx/builder';
import type { GradientRule } from '../rule';
import { transposedWindow, windowOf } from './conv';

export const MaxPool: GradientRule = (ctx) => {
  const { b } = ctx;
  if (ctx.int('storage_order', 0) !== 0) throw ctx.unsupported('storage_order=1 (column-major indices) is not supported');
  b.requireOpset(16, `the gradient of MaxPool "${ctx.node.name}" (ScatterElements with reduction)`);
  const [x] = ctx.inputs;
  const indices = b.addForwardOutput(ctx.node, 1, `${ctx.outputs[0]}_indices`);
  const flat = b.ints([-1]);
  const zeros = b.op('Reshape', [b.zerosLike(x), flat]);
  const scattered = b.inFloat32(b.dtypeOf(x), [zeros, b.op('Reshape', [indices, flat]), b.op('Reshape', [ctx.gy, flat])], ([z, i, g]) =>
    b.op('ScatterElements', [z, i, g], { axis: 0, reduction: 'add' }),
  );
  return [b.reshapeLike(scattered, x)];
};

export const AveragePool: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x] = ctx.inputs;
  const y = ctx.outputs[0];
  const win = windowOf(ctx);
  const ceil = ctx.int('ceil_mode', 0) === 1;
  const includePad = ctx.int('count_include_pad', 0) === 1;
  const padded = win.pads.some((p) => p !== 0);
  const area = win.kernel.reduce((p, k) => p * k, 1);
  const ones = b.tensor([1, 1, ...win.kernel], new Array(area).fill(1), x);
  const staticOut = ctx.shapes.staticShape(y)?.slice(2);
  const staticIn = ctx.shapes.staticShape(x)?.slice(2);
  if (ceil && (!staticOut || !staticIn)) throw ctx.unsupported('ceil_mode needs static spatial sizes');

  // Fold (N, C) into the batch axis so that one single-channel kernel serves every plane.
  const folded = b.op('Reshape', [ctx.gy, b.op('Concat', [b.ints([-1, 1]), b.dimsOf(y, 2)], { axis: 0 })]);
  let scaled: string;
  if (!padded && !ceil) {
    scaled = b.op('Mul', [folded, b.scalar(1 / area, x)]);
  } else {
    // divisor_o = |valid window o| / AveragePool(ones)_o, which holds for every padding mode.
    const plane = b.filled(b.op('Concat', [b.ints([1, 1]), b.dimsOf(x, 2)], { axis: 0 }), 1, b.dtypeOf(x));
    const ratio = b.op('AveragePool', [plane], Object.fromEntries(ctx.node.proto.attribute.map((a) => [a.name!, attrValue(a)])));
    let pads = win.pads;
    if (ceil) {
      // extend the end padding so that a Conv yields the ceil-mode window count
      pads = [...win.pads];
      staticIn!.forEach((d, i) => {
        const ek = (win.kernel[i] - 1) * win.dilations[i] + 1;
        while (Math.floor((d + pads[i] + pads[i + win.spatial] - ek) / win.strides[i]) + 1 < staticOut![i]) pads[i + win.spatial]++;
      });
    }
    const valid = b.op('Conv', [plane, ones], {
      strides: attr.ints(win.strides),
      dilations: attr.ints(win.dilations),
      pads: attr.ints(pads),
      kernel_shape: attr.ints(win.kernel),
    });
    void includePad;
    scaled = b.op('Mul', [folded, b.op('Div', [ratio, valid])]);
  }
  const planeGrad = transposedWindow(b, scaled, ones, x, win, 1, ceil ? staticOut : undefined);
  return [b.reshapeLike(planeGrad, x)];
};

export const GlobalAveragePool: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x] = ctx.inputs;
  const spatial = ctx.shapes.shape(x)?.slice(2);
  let count: string;
  if (spatial && spatial.every((d) => typeof d === 'number')) {
    count = b.scalar(1 / (spatial as number[]).reduce((p, d) => p * d, 1), x);
  } else {
    const n = b.op('Cast', [b.op('ReduceProd', [b.dimsOf(x, 2)], { keepdims: 0 })], { to: ctx.shapes.dtype(x) || 1 });
    count = b.op('Reciprocal', [n]);
  }
  // Scaled before it is spread over the plane: one multiply per channel, not per pixel (the same values).
  return [b.op('Expand', [b.op('Mul', [ctx.gy, count]), b.shapeOf(x)])];
};

export const GlobalMaxPool: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x] = ctx.inputs;
  return [b.op('Where', [b.op('Equal', [x, ctx.outputs[0]]), ctx.gy, b.scalar(0, x)])];
};

import type { AttributeProto } from '../../onnx/types';
import type { AttrValue } from '../../onnx/builder';
import { TypedAttr } from '../../onnx/builder';

function attrValue(a: AttributeProto): AttrValue {
  return new TypedAttr(a.type!, a.type === 2 ? a.i : a.type === 1 ? a.f : a.type === 3 ? new TextDecoder().decode(a.s) : a.type === 7 ? a.ints : a.floats);
}
