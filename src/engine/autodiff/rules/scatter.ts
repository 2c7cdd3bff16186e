// Scatters and the gathers that are their adjoints. The backward graphs of Slice and MaxPool
// (ScatterElements) and of Gather (ScatterND) are made of them, so a second-order pass (a
// Hessian-vector product differentiates a backward graph) needs these rules; each gather's own
// backward is a scatter-add, which closes the loop.
import type { GradientRule, RuleContext } from '../rule';

/** reduction 'none' overwrites the data at the indices (their gradient is cut there); 'add' passes it whole. */
function reductionOf(ctx: RuleContext): 'none' | 'add' {
  const reduction = ctx.string('reduction', 'none');
  if (reduction !== 'none' && reduction !== 'add') throw ctx.unsupported(`reduction '${reduction}' is not supported (only none and add)`);
  return reduction;
}

export const ScatterElements: GradientRule = (ctx) => {
  const { b } = ctx;
  const [, indices, updates] = ctx.inputs;
  const axis = ctx.int('axis', 0);
  const reduction = reductionOf(ctx);
  const data = !ctx.needs(0) ? undefined : reduction === 'add' ? ctx.gy : b.op('ScatterElements', [ctx.gy, indices, b.zerosLike(updates)], { axis });
  const upd = ctx.needs(2) ? b.op('GatherElements', [ctx.gy, indices], { axis }) : undefined;
  return [data, undefined, upd];
};

export const ScatterND: GradientRule = (ctx) => {
  const { b } = ctx;
  const [, indices, updates] = ctx.inputs;
  const reduction = reductionOf(ctx);
  const data = !ctx.needs(0) ? undefined : reduction === 'add' ? ctx.gy : b.op('ScatterND', [ctx.gy, indices, b.zerosLike(updates)]);
  return [data, undefined, ctx.needs(2) ? b.op('GatherND', [ctx.gy, indices]) : undefined];
};
