// Resize (nearest, linear, cubic; any coordinate transformation but tf_crop_and_resize) is
// separable and linear: along each resized axis y = M·x with M [out, in]. M is obtained at run
// time by resizing an identity matrix along its first axis with the node's own attributes, so
// ORT's exact interpolation weights are reused; the gradient is gyᵀ·M per axis.
import { TypedAttr, type AttrValue } from '../../onnx/builder';
import { range } from '../emitter';
import type { GradientRule } from '../rule';

export const Resize: GradientRule = (ctx) => {
  const { b } = ctx;
  const [x, , scales, sizes] = ctx.inputs;
  if (ctx.string('coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize')
    throw ctx.unsupported('coordinate_transformation_mode tf_crop_and_resize is not supported');
  if (ctx.ints('axes')) throw ctx.unsupported('the axes attribute is not supported');
  const r = ctx.rank(x);
  const sx = ctx.shapes.shape(x);
  const y = ctx.outputs[0];
  const sy = ctx.shapes.shape(y);
  const scaleValues = scales ? ctx.shapes.numbers(scales) : undefined;
  if (scales && !scaleValues && !sizes) throw ctx.unsupported(`its scales ("${scales}") are computed at run time`);
  const resized = range(r).filter((a) => {
    if (scaleValues) return scaleValues[a] !== 1;
    return !(sx && sy && typeof sx[a] === 'number' && sx[a] === sy[a]);
  });
  const attrs: Record<string, AttrValue> = {};
  for (const a of ctx.node.proto.attribute) {
    if (a.name === 'axes' || a.name === 'keep_aspect_ratio_policy') continue;
    attrs[a.name!] = new TypedAttr(a.type!, a.type === 1 ? a.f : a.type === 2 ? a.i : a.type === 3 ? new TextDecoder().decode(a.s) : a.ints);
  }
  const dtype = b.dtypeOf(x);
  let g = ctx.gy;
  for (const a of resized) {
    const n = b.dimsOf(x, a, a + 1);
    const square = b.filled(b.op('Concat', [n, n], { axis: 0 }), 0, dtype);
    const eye = b.op('EyeLike', [square]);
    const matrix = scaleValues
      ? b.op('Resize', [eye, '', b.constantFloats([scaleValues[a], 1])], attrs)
      : b.op('Resize', [eye, '', '', b.op('Concat', [b.dimsOf(y, a, a + 1), n], { axis: 0 })], attrs);
    // move axis a last, contract with M, move it back
    const perm = [...range(r).filter((i) => i !== a), a];
    const inverse = new Array<number>(r);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    g = b.transpose(b.op('MatMul', [b.transpose(g, perm), matrix]), inverse);
  }
  return [g];
};
