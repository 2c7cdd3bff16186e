// Dimension helpers shared by the rules: numpy broadcasting with symbolic and unknown dims,
// merging two views of the same dim, and reading declared ValueInfo types.
import { int64ToNumber } from '../int64';
import type { ValueInfoProto } from '../types';
import type { NodeContext } from './context';
import type { ShapeDim, ValueType } from './types';

export const isStaticShape = (s: readonly ShapeDim[] | undefined): s is number[] => !!s && s.every((d) => typeof d === 'number');

export const isKnownShape = (s: readonly ShapeDim[] | undefined): boolean => !!s && s.every((d) => d !== null);

/**
 * One broadcast dimension. 1 yields to the other side; equal dims stay; a static dim > 1 wins
 * over an unknown or symbolic one (which must then be 1 or equal); two different static
 * dims > 1 are a contradiction (reported through `fail`).
 */
export function broadcastDim(a: ShapeDim, b: ShapeDim, fail: (message: string) => never): ShapeDim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  if (typeof a === 'number' && typeof b === 'number') {
    fail(`dimensions ${a} and ${b} do not broadcast`);
  }
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  // Two different symbols, or unknowns: either could be 1 at run time.
  return null;
}

/** Numpy broadcasting of several shapes; undefined when any rank is unknown. */
export function broadcastShapes(ctx: NodeContext, shapes: ReadonlyArray<readonly ShapeDim[] | undefined>): ShapeDim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: ShapeDim[] = new Array(rank).fill(1);
  const fail = (m: string): never => ctx.fail(`inputs [${shapes.map((s) => fmt(s!)).join('], [')}] cannot broadcast: ${m}`);
  for (const s of shapes) {
    const off = rank - s!.length;
    for (let i = 0; i < s!.length; i++) out[off + i] = broadcastDim(out[off + i], s![i], fail);
  }
  return out;
}

/**
 * Two descriptions of the same dim (e.g. the non-axis dims of Concat inputs): a number beats
 * a symbol beats unknown; two different numbers are a contradiction.
 */
export function unifyDim(a: ShapeDim, b: ShapeDim, fail: (message: string) => never): ShapeDim {
  if (a === null) return b;
  if (b === null) return a;
  if (typeof a === 'number' && typeof b === 'number' && a !== b) fail(`dimensions ${a} and ${b} must be equal`);
  if (typeof a === 'number') return a;
  return typeof b === 'number' ? b : a;
}

export const fmt = (s: readonly ShapeDim[]): string => s.map((d) => (d === null ? '?' : String(d))).join(', ');

/** The type a ValueInfoProto declares; undefined when it declares no tensor type. */
export function declaredType(v: ValueInfoProto | undefined): ValueType | undefined {
  const t = v?.type?.tensorType;
  if (!t) return undefined;
  const type: ValueType = { dtype: t.elemType ?? 0 };
  if (t.shape) {
    // protobufjs keeps proto2 defaults on the prototype: an unset dim_value reads as 0, so
    // only an own property counts as set.
    type.shape = (t.shape.dim ?? []).map((d): ShapeDim => {
      if (d.dimParam) return d.dimParam;
      if (!Object.prototype.hasOwnProperty.call(d, 'dimValue') || d.dimValue === undefined || d.dimValue === null) return null;
      const n = int64ToNumber(d.dimValue);
      return n >= 0 ? n : null;
    });
  }
  return type;
}

/**
 * The rule's result refined by what the model declares. The rule decides where it knows (it
 * computed from the actual inputs); declared dims fill in what it left unknown, and a declared
 * number is never replaced by a symbol or by null.
 */
export function mergeDeclared(rule: ValueType | undefined, declared: ValueType | undefined): ValueType {
  if (!declared) return rule ?? { dtype: 0 };
  if (!rule) return { dtype: declared.dtype, ...(declared.shape ? { shape: [...declared.shape] } : {}) };
  const dtype = rule.dtype || declared.dtype;
  if (!rule.shape) return { dtype, ...(declared.shape ? { shape: [...declared.shape] } : {}) };
  if (!declared.shape || declared.shape.length !== rule.shape.length) return { dtype, shape: rule.shape };
  const shape = rule.shape.map((d, i) => {
    const dd = declared.shape![i];
    if (typeof d === 'number') return d;
    if (typeof dd === 'number') return dd;
    return d ?? dd;
  });
  return { dtype, shape };
}
