// Resize (scales or sizes, optional axes and aspect-ratio policy) and the older Upsample.
import type { NodeContext, ShapeRule } from '../context';
import type { ShapeDim } from '../types';

/** floor(in * scale) as onnxruntime computes it (float32 product). */
function scaled(ctx: NodeContext, d: ShapeDim, scale: ShapeDim): ShapeDim {
  if (d === null || typeof scale !== 'number' || !(scale > 0)) return null;
  if (typeof d === 'string') return Number.isInteger(scale) ? ctx.symbols.mul(d, scale) : null;
  return Math.floor(Math.fround(Math.fround(d) * scale));
}

function resizeWith(ctx: NodeContext, x: ShapeDim[], axes: number[], scales?: ShapeDim[], sizes?: ShapeDim[]): ShapeDim[] {
  const shape = [...x];
  if (sizes) {
    if (sizes.length !== axes.length) ctx.fail(`sizes has ${sizes.length} entries for ${axes.length} axes`);
    const policy = ctx.string('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') {
      axes.forEach((a, k) => (shape[a] = sizes[k]));
      return shape;
    }
    // not_larger / not_smaller: one scale for all axes, then round half up.
    const ratios = axes.map((a, k) => {
      const d = x[a];
      const s = sizes[k];
      return typeof d === 'number' && typeof s === 'number' && d > 0 ? s / d : null;
    });
    if (ratios.some((r) => r === null)) {
      axes.forEach((a) => (shape[a] = null));
      return shape;
    }
    const scale = policy === 'not_larger' ? Math.min(...(ratios as number[])) : Math.max(...(ratios as number[]));
    axes.forEach((a) => (shape[a] = Math.floor((x[a] as number) * scale + 0.5)));
    return shape;
  }
  if (scales) {
    if (scales.length !== axes.length) ctx.fail(`scales has ${scales.length} entries for ${axes.length} axes`);
    axes.forEach((a, k) => (shape[a] = scaled(ctx, x[a], scales[k])));
    return shape;
  }
  axes.forEach((a) => (shape[a] = null));
  return shape;
}

/** An optional input that is given and not an empty tensor (Resize passes [] for "absent"). */
function present(ctx: NodeContext, i: number): boolean {
  if (!ctx.has(i)) return false;
  const n = ctx.length(i);
  return n !== 0;
}

export const resize: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  if (!x) return { dtype };
  const axesAttr = ctx.opset >= 18 ? ctx.ints('axes') : undefined;
  const axes = axesAttr ? axesAttr.map((a) => ctx.axis(a, x.length)) : x.map((_, i) => i);
  if (ctx.opset < 11) return { dtype, shape: resizeWith(ctx, x, axes, ctx.list(1) ?? undefined) };
  if (present(ctx, 3)) {
    const sizes = ctx.list(3);
    return { dtype, shape: sizes ? resizeWith(ctx, x, axes, undefined, sizes) : resizeWith(ctx, x, axes) };
  }
  if (present(ctx, 2)) return { dtype, shape: resizeWith(ctx, x, axes, ctx.list(2)) };
  // Neither given (or empty tensors of unknown contents): dims on the axes are unknown.
  return { dtype, shape: resizeWith(ctx, x, axes) };
};

export const upsample: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const x = ctx.shape(0);
  if (!x) return { dtype };
  const scales = ctx.opset < 9 ? ctx.floats('scales') : ctx.list(1);
  return {
    dtype,
    shape: resizeWith(
      ctx,
      x,
      x.map((_, i) => i),
      scales,
    ),
  };
};
