// Types through control flow: an If's outputs are those of its branches, a Loop's those of its
// body. The branches are analysed with the enclosing scope visible (they read outer values by
// name), so a value computed inside a branch gets the same rules as one in the main graph.
// Where the branches disagree the result says only what both say: the rank when both agree, each
// dim where both agree; a differing dim is unknown (null), never one side's guess.
import { findAttr } from '../attributes';
import { DataType, type GraphProto } from '../types';
import type { NodeContext, RuleOutput } from './context';
import type { ShapeInference } from './inference';
import type { ShapeDim, ValueType } from './types';

/** Analyses `body` with its formal inputs typed as `inputs` inside the scope `outer`; one entry per body output. */
export type BodyAnalyser = (body: GraphProto, inputs: ReadonlyArray<ValueType | undefined>, outer: ShapeInference) => RuleOutput[];

export type ControlFlowRule = (ctx: NodeContext, scope: ShapeInference, analyse: BodyAnalyser) => Array<RuleOutput | undefined>;

/** How many times a Loop body is re-analysed until its carried types stop changing (each pass can only forget dims). */
const MAX_LOOP_PASSES = 8;

function subgraph(ctx: NodeContext, name: string): GraphProto {
  const g = findAttr(ctx.node.proto, name)?.g;
  if (!g) ctx.fail(`it has no "${name}" graph attribute`);
  return g;
}

/** What two descriptions of one value both say (two If branches, or a Loop value before and after an iteration). */
export function joinTypes(a: ValueType | undefined, b: ValueType | undefined, fail: (m: string) => never): ValueType {
  if (!a || !b) return { dtype: a?.dtype || b?.dtype || 0 };
  if (a.dtype && b.dtype && a.dtype !== b.dtype) fail(`its branches give element types ${a.dtype} and ${b.dtype} for one output`);
  const dtype = a.dtype || b.dtype;
  if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { dtype };
  return { dtype, shape: a.shape.map((d, i): ShapeDim => (d === b.shape![i] ? d : null)) };
}

/**
 * If: a condition known statically (folded to a constant) selects its branch, whose values —
 * known contents included — are the outputs; otherwise both branches are analysed and joined.
 */
const ifRule: ControlFlowRule = (ctx, scope, analyse) => {
  const thenBranch = subgraph(ctx, 'then_branch');
  const elseBranch = subgraph(ctx, 'else_branch');
  const cond = ctx.scalar(0);
  if (cond !== undefined) return analyse(cond ? thenBranch : elseBranch, [], scope);
  const a = analyse(thenBranch, [], scope);
  const b = analyse(elseBranch, [], scope);
  if (a.length !== b.length) ctx.fail(`its branches have ${a.length} and ${b.length} outputs`);
  return a.map((t, i) => joinTypes(t, b[i], (m) => ctx.fail(m)));
};

/**
 * Loop(M, cond, v...) with body (iter, cond, v...) → (cond, v..., scan...): carried values keep
 * the rank of their initial value, their dims where every iteration agrees (the body is analysed
 * again with the joined types until they are stable); scan outputs gain a leading axis, of
 * length M when no condition can stop the loop early.
 */
const loopRule: ControlFlowRule = (ctx, scope, analyse) => {
  const body = subgraph(ctx, 'body');
  const carriedCount = Math.max(0, ctx.inputCount - 2);
  const counters: ValueType[] = [
    { dtype: DataType.INT64, shape: [] },
    { dtype: DataType.BOOL, shape: [] },
  ];
  let carried: ValueType[] = Array.from({ length: carriedCount }, (_, i) => ctx.type(i + 2));
  let outputs = analyse(body, [...counters, ...carried], scope);
  for (let pass = 1; ; pass++) {
    const next = carried.map((c, i) => loopCarried(c, outputs[i + 1]));
    if (next.every((t, i) => sameType(t, carried[i]))) break;
    carried = pass < MAX_LOOP_PASSES ? next : next.map((t) => ({ dtype: t.dtype, ...(t.shape ? { shape: t.shape.map(() => null) } : {}) }));
    outputs = analyse(body, [...counters, ...carried], scope);
    if (pass >= MAX_LOOP_PASSES) break;
  }
  const trips: ShapeDim = !ctx.has(1) && ctx.has(0) ? (ctx.scalar(0) ?? null) : null;
  const scans = outputs.slice(1 + carriedCount).map((t): RuleOutput => ({ dtype: t.dtype, ...(t.shape ? { shape: [trips, ...t.shape] } : {}) }));
  return [...carried.map((t): RuleOutput => ({ ...t })), ...scans];
};

/** A carried value after one more iteration: the initial rank, the dims both agree on. */
function loopCarried(before: ValueType, after: ValueType | undefined): ValueType {
  const dtype = before.dtype || after?.dtype || 0;
  const shape = before.shape ?? after?.shape;
  if (!shape) return { dtype };
  const other = after?.shape?.length === shape.length ? after.shape : undefined;
  return { dtype, shape: shape.map((d, i) => (other && other[i] === d ? d : null)) };
}

function sameType(a: ValueType, b: ValueType): boolean {
  return a.dtype === b.dtype && a.shape?.length === b.shape?.length && (a.shape ?? []).every((d, i) => d === b.shape![i]);
}

export const CONTROL_FLOW: Readonly<Record<string, ControlFlowRule>> = { If: ifRule, Loop: loopRule };
