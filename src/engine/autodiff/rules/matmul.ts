// Matrix products. MatMul follows numpy: 1-D operands get a unit axis, batch axes broadcast
// (their gradient is summed back to each operand's batch shape).
import { attr } from '../../onnx/builder';
import type { ShapeDim } from '../../onnx/shapes';
import type { GradientRule } from '../rule';
import { range } from '../emitter';

export const Gemm: GradientRule = (ctx) => {
  const { b } = ctx;
  const [a, m, c] = ctx.inputs;
  const alpha = ctx.float('alpha', 1);
  const beta = ctx.float('beta', 1);
  const ta = ctx.int('transA', 0);
  const tb = ctx.int('transB', 0);
  const gy = ctx.gy;
  // With A' = op(A), B' = op(B): dA' = alpha·gy·B'ᵀ, dB' = alpha·A'ᵀ·gy.
  const dA = !ctx.needs(0)
    ? undefined
    : ta === 0
      ? b.op('Gemm', [gy, m], { alpha: attr.float(alpha), transB: tb ? 0 : 1 })
      : b.op('Gemm', [m, gy], { alpha: attr.float(alpha), transA: tb, transB: 1 });
  const dB = !ctx.needs(1)
    ? undefined
    : tb === 0
      ? b.op('Gemm', [a, gy], { alpha: attr.float(alpha), transA: ta ? 0 : 1 })
      : b.op('Gemm', [gy, a], { alpha: attr.float(alpha), transA: 1, transB: ta });
  const dC = c && ctx.needs(2) ? b.reduceToShapeOf(beta === 1 ? gy : b.op('Mul', [gy, b.scalar(beta, gy)]), c, ctx.outputs[0]) : undefined;
  return [dA, dB, dC];
};

export const MatMul: GradientRule = (ctx) => {
  const { b } = ctx;
  const [a, m] = ctx.inputs;
  const y = ctx.outputs[0];
  const ra = ctx.rank(a);
  const rm = ctx.rank(m);
  let gy = ctx.gy;
  // Bring 1-D operands (and the gradient) to matrices.
  const a2 = ra === 1 ? b.unsqueeze(a, [0]) : a;
  const m2 = rm === 1 ? b.unsqueeze(m, [-1]) : m;
  if (ra === 1 && rm === 1) gy = b.unsqueeze(gy, [0, 1]);
  else if (ra === 1) gy = b.unsqueeze(gy, [-2]);
  else if (rm === 1) gy = b.unsqueeze(gy, [-1]);
  const ra2 = Math.max(ra, 2);
  const rm2 = Math.max(rm, 2);
  const swap = (r: number) => [...range(r - 2), r - 1, r - 2];
  const sy = ctx.shapes.shape(y);
  const sa = ctx.shapes.shape(a);
  const sm = ctx.shapes.shape(m);
  const batch: ShapeDim[] | undefined = sy && sa && sm ? sy.slice(0, Math.max(ra2, rm2) - 2) : undefined;
  const out: (string | undefined)[] = [undefined, undefined];
  if (ctx.needs(0)) {
    let g = b.op('MatMul', [gy, b.transpose(m2, swap(rm2))]);
    const aShape = sa && (ra === 1 ? [1, sa[0]] : sa);
    if (ra2 < Math.max(ra2, rm2) || !sameBatch(aShape, batch)) {
      const full = batch && aShape ? [...batch, ...aShape.slice(-2)] : undefined;
      g = b.reduceToShapeOf(g, ra === 1 ? a2 : a, full);
    }
    out[0] = ra === 1 ? b.reshapeLike(g, a) : g;
  }
  if (ctx.needs(1)) {
    let g = b.op('MatMul', [b.transpose(a2, swap(ra2)), gy]);
    const mShape = sm && (rm === 1 ? [sm[0], 1] : sm);
    if (rm2 < Math.max(ra2, rm2) || !sameBatch(mShape, batch)) {
      const full = batch && mShape ? [...batch, ...mShape.slice(-2)] : undefined;
      g = b.reduceToShapeOf(g, rm === 1 ? m2 : m, full);
    }
    out[1] = rm === 1 ? b.reshapeLike(g, m) : g;
  }
  return out;
};

/** True when the operand's batch dims are known to equal the output's (nothing to reduce). */
function sameBatch(shape: readonly ShapeDim[] | undefined, batch: readonly ShapeDim[] | undefined): boolean {
  if (!shape || !batch) return false;
  const own = shape.slice(0, -2);
  return own.length === batch.length && own.every((d, i) => d !== null && d === batch[i]);
}

export const Einsum: GradientRule = (ctx) => {
  const { b } = ctx;
  const eq = ctx.string('equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (rhs === undefined || eq.includes('.')) throw ctx.unsupported(`equation "${eq}" (ellipsis or implicit output) is not supported`);
  return ctx.inputs.map((x, i) => {
    if (!ctx.needs(i)) return undefined;
    const term = terms[i];
    if (new Set(term).size !== term.length) throw ctx.unsupported(`operand ${i} repeats an index (diagonal) in "${eq}"`);
    const others = terms.filter((_, k) => k !== i);
    const available = new Set([...rhs, ...others.join('')]);
    const kept = [...term].filter((c) => available.has(c)).join('');
    const inputs = [ctx.gy, ...ctx.inputs.filter((_, k) => k !== i)];
    let g = b.op('Einsum', inputs, { equation: `${[rhs, ...others].join(',')}->${kept}` });
    if (kept.length !== term.length) {
      // indices summed away only in this operand: the gradient is broadcast along them
      const missing = [...term].map((c, k) => (kept.includes(c) ? -1 : k)).filter((k) => k >= 0);
      g = b.op('Expand', [b.unsqueeze(g, missing), b.shapeOf(x)]);
    }
    return g;
  });
};
