// Arithmetic on symbolic dimensions. PyTorch exports compute shapes at run time (Shape →
// Gather → Mul → Concat → Reshape), so a symbolic batch turns into products like `3*batch`
// (ViT's multi-head reshape) and back (`3*batch / 3`). A dimension is kept as a monomial
// `coef * s1 * s2 ...` over the model's own symbols; sums of different terms and non-exact
// divisions are unknown (null), never guessed.
//
// Strings the model declares are atomic symbols whatever characters they contain; only strings
// this table formatted itself are read back as products, so a declared `N*C` stays one symbol.
import type { ShapeDim } from './types';

interface Monomial {
  readonly coef: number;
  /** [symbol, power], sorted by symbol. */
  readonly factors: ReadonlyArray<readonly [string, number]>;
}

export class SymbolTable {
  private readonly composite = new Map<string, Monomial>();

  /** a * b; null when either is unknown. */
  mul(a: ShapeDim, b: ShapeDim): ShapeDim {
    if (a === null || b === null) return null;
    if (typeof a === 'number' && typeof b === 'number') return a * b;
    if (a === 0 || b === 0) return 0;
    const x = this.parse(a);
    const y = this.parse(b);
    const powers = new Map<string, number>(x.factors);
    for (const [s, p] of y.factors) powers.set(s, (powers.get(s) ?? 0) + p);
    return this.format({ coef: x.coef * y.coef, factors: [...powers] });
  }

  /** a / b when the quotient is an exact monomial (so integer and real division agree), else null. */
  divExact(a: ShapeDim, b: ShapeDim): ShapeDim {
    if (a === null || b === null || b === 0) return null;
    if (typeof a === 'number' && typeof b === 'number') return a % b === 0 ? a / b : null;
    const x = this.parse(a);
    const y = this.parse(b);
    if (x.coef % y.coef !== 0) return null;
    const powers = new Map<string, number>(x.factors);
    for (const [s, p] of y.factors) {
      const left = (powers.get(s) ?? 0) - p;
      if (left < 0) return null;
      if (left === 0) powers.delete(s);
      else powers.set(s, left);
    }
    return this.format({ coef: x.coef / y.coef, factors: [...powers] });
  }

  /** a + b: numbers, x + 0, and like terms (`batch + batch = 2*batch`); otherwise null. */
  add(a: ShapeDim, b: ShapeDim): ShapeDim {
    if (a === null || b === null) return null;
    if (typeof a === 'number' && typeof b === 'number') return a + b;
    if (b === 0) return a;
    if (a === 0) return b;
    return this.combine(a, b, 1);
  }

  sub(a: ShapeDim, b: ShapeDim): ShapeDim {
    if (a === null || b === null) return null;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (b === 0) return a;
    if (a === b) return 0;
    return this.combine(a, b, -1);
  }

  /** The product of dims (1 for none); null when any is unknown. */
  product(dims: readonly ShapeDim[]): ShapeDim {
    let p: ShapeDim = 1;
    for (const d of dims) p = this.mul(p, d);
    return p;
  }

  /** True when both are symbolic with the same canonical form. */
  same(a: ShapeDim, b: ShapeDim): boolean {
    return a !== null && a === b;
  }

  private combine(a: number | string, b: number | string, sign: 1 | -1): ShapeDim {
    const x = this.parse(a);
    const y = this.parse(b);
    if (typeof a === 'number' || typeof b === 'number' || !sameFactors(x, y)) return null;
    const coef = x.coef + sign * y.coef;
    // Dimensions are never negative; a negative "dimension" is not something we can name.
    if (coef < 0) return null;
    return coef === 0 ? 0 : this.format({ coef, factors: x.factors });
  }

  private parse(d: number | string): Monomial {
    if (typeof d === 'number') return { coef: d, factors: [] };
    return this.composite.get(d) ?? { coef: 1, factors: [[d, 1]] };
  }

  private format(m: Monomial): ShapeDim {
    const factors = m.factors.filter(([, p]) => p !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (m.coef === 0) return 0;
    if (factors.length === 0) return m.coef;
    if (!Number.isSafeInteger(m.coef) || m.coef < 0) return null;
    if (m.coef === 1 && factors.length === 1 && factors[0][1] === 1) return factors[0][0];
    const parts: string[] = m.coef === 1 ? [] : [String(m.coef)];
    for (const [s, p] of factors) for (let i = 0; i < p; i++) parts.push(s);
    const text = parts.join('*');
    if (!this.composite.has(text)) this.composite.set(text, { coef: m.coef, factors });
    return text;
  }
}

function sameFactors(x: Monomial, y: Monomial): boolean {
  if (x.factors.length !== y.factors.length) return false;
  return x.factors.every(([s, p], i) => y.factors[i][0] === s && y.factors[i][1] === p);
}

/**
 * The value of a dimension once its symbols are bound (e.g. `{ batch: 2 }`): a number, or
 * undefined when it is unknown or uses an unbound symbol. Products written by SymbolTable
 * (`3*batch`) are evaluated factor by factor.
 */
export function evaluateDim(dim: ShapeDim, bindings: Readonly<Record<string, number>>): number | undefined {
  if (dim === null) return undefined;
  if (typeof dim === 'number') return dim;
  if (Object.prototype.hasOwnProperty.call(bindings, dim)) return bindings[dim];
  let value = 1;
  for (const part of dim.split('*')) {
    if (/^\d+$/.test(part)) value *= Number(part);
    else if (Object.prototype.hasOwnProperty.call(bindings, part)) value *= bindings[part];
    else return undefined;
  }
  return value;
}
