// Gemm, MatMul (numpy semantics: 1-D operands, broadcast batch dims) and Einsum.
import { DataType } from '../../types';
import type { NodeContext, ShapeRule } from '../context';
import { broadcastShapes, unifyDim } from '../dims';
import type { ShapeDim } from '../types';

function checkInner(ctx: NodeContext, k1: ShapeDim, k2: ShapeDim): void {
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    ctx.fail(`inner dimensions differ: ${k1} vs ${k2}`);
  }
}

export const gemm: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const a = ctx.shape(0);
  const b = ctx.shape(1);
  if (a && a.length !== 2) ctx.fail(`A has rank ${a.length}, expected 2`);
  if (b && b.length !== 2) ctx.fail(`B has rank ${b.length}, expected 2`);
  const transA = ctx.int('transA', 0) !== 0;
  const transB = ctx.int('transB', 0) !== 0;
  const m = a ? a[transA ? 1 : 0] : null;
  const ka = a ? a[transA ? 0 : 1] : null;
  const kb = b ? b[transB ? 1 : 0] : null;
  const n = b ? b[transB ? 0 : 1] : null;
  checkInner(ctx, ka, kb);
  return { dtype, shape: [m, n] };
};

export const matMul: ShapeRule = (ctx) => {
  const dtype = ctx.opType === 'MatMulInteger' ? DataType.INT32 : ctx.dtype(0);
  const a = ctx.shape(0);
  const b = ctx.shape(1);
  if (!a || !b) return { dtype };
  if (a.length === 0 || b.length === 0) ctx.fail('MatMul operands must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  checkInner(ctx, a2[a2.length - 1], b2[b2.length - 2]);
  const batch = broadcastShapes(ctx, [a2.slice(0, -2), b2.slice(0, -2)])!;
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return { dtype, shape: out };
};

interface Term {
  letters: string[];
  ellipsis: number;
}

function parseTerm(ctx: NodeContext, text: string): Term {
  const parts = text.split('...');
  if (parts.length > 2) ctx.fail(`equation term "${text}" has more than one ellipsis`);
  const letters: string[] = [];
  let ellipsis = -1;
  parts.forEach((part, k) => {
    if (k === 1) ellipsis = letters.length;
    for (const ch of part) {
      if (!/[A-Za-z]/.test(ch)) ctx.fail(`equation term "${text}" has an invalid character "${ch}"`);
      letters.push(ch);
    }
  });
  return { letters, ellipsis };
}

export const einsum: ShapeRule = (ctx) => {
  const dtype = ctx.dtype(0);
  const equation = ctx.string('equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = equation.split('->');
  const terms = lhs.split(',').map((t) => parseTerm(ctx, t));
  const inputs = ctx.node.inputs.map((_, i) => ctx.shape(i));
  if (terms.length !== inputs.length) ctx.fail(`equation "${equation}" has ${terms.length} operands for ${inputs.length} inputs`);
  if (inputs.some((s) => !s)) return { dtype };
  const fail = (m: string): never => ctx.fail(`equation "${equation}": ${m}`);
  const sizes = new Map<string, ShapeDim>();
  const ellipsisShapes: ShapeDim[][] = [];
  terms.forEach((term, i) => {
    const shape = inputs[i]!;
    const extra = shape.length - term.letters.length;
    if (term.ellipsis < 0 ? extra !== 0 : extra < 0) fail(`operand ${i} has rank ${shape.length}, the term "${lhs.split(',')[i]}" does not match it`);
    const at = term.ellipsis < 0 ? term.letters.length : term.ellipsis;
    if (term.ellipsis >= 0) ellipsisShapes.push(shape.slice(at, at + extra));
    term.letters.forEach((letter, j) => {
      const d = shape[j < at ? j : j + extra];
      const prev = sizes.get(letter);
      // A letter may be 1 on one operand and n on another (broadcast), as numpy allows.
      sizes.set(letter, prev === undefined || prev === 1 ? d : d === 1 ? prev : unifyDim(prev, d, fail));
    });
  });
  const ellipsisDims = ellipsisShapes.length ? broadcastShapes(ctx, ellipsisShapes)! : [];
  let out: ShapeDim[];
  if (rhs !== undefined) {
    const term = parseTerm(ctx, rhs);
    out = term.letters.map((l) => {
      if (!sizes.has(l)) fail(`output letter "${l}" does not appear in the inputs`);
      return sizes.get(l)!;
    });
    if (term.ellipsis >= 0) out.splice(term.ellipsis, 0, ...ellipsisDims);
  } else {
    const counts = new Map<string, number>();
    for (const t of terms) for (const l of t.letters) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts]
      .filter(([, c]) => c === 1)
      .map(([l]) => l)
      .sort();
    out = [...ellipsisDims, ...once.map((l) => sizes.get(l)!)];
  }
  return { dtype, shape: out };
};
