import { describe, it } from 'node:test';
import { gradCheck } from './check';

const binary: Array<{
  op: string;
  a: number[];
  b: number[];
  range?: [number, number];
  rangeB?: [number, number];
  declared?: Record<string, (number | string)[]>;
}> = [
  { op: 'Add', a: [2, 3, 4], b: [2, 3, 4] },
  { op: 'Add', a: [2, 3, 4], b: [4] },
  { op: 'Add', a: [2, 1, 4], b: [3, 1] },
  { op: 'Add', a: [2, 3, 4], b: [2, 3, 4], declared: { a: ['N', 3, 4], b: ['N', 3, 4] } },
  { op: 'Add', a: [2, 3, 4], b: [1, 3, 1], declared: { a: ['N', 'C', 4], b: [1, 'C', 1] } },
  { op: 'Sub', a: [3, 1, 5], b: [4, 1] },
  { op: 'Sub', a: [1], b: [2, 3] },
  { op: 'Mul', a: [2, 3, 4, 5], b: [1, 3, 1, 1] },
  { op: 'Mul', a: [2, 3], b: [2, 3] },
  { op: 'Div', a: [2, 3, 4], b: [3, 1], rangeB: [0.5, 2] },
  { op: 'Div', a: [4], b: [3, 4], rangeB: [-2, -0.5] },
  { op: 'Pow', a: [2, 3], b: [2, 3], range: [0.5, 2] },
  { op: 'Pow', a: [2, 3], b: [1], range: [0.5, 2] },
  { op: 'Min', a: [2, 3, 4], b: [3, 1] },
  { op: 'Max', a: [2, 3, 4], b: [4] },
];

describe('autodiff: binary elementwise with broadcasting', () => {
  for (const c of binary) {
    it(`${c.op} [${c.a}] with [${c.b}]${c.declared ? ' (symbolic dims)' : ''}`, async (t) => {
      await gradCheck(t, {
        inputs: [
          { name: 'a', shape: c.a, range: c.range },
          { name: 'b', shape: c.b, range: c.rangeB ?? c.range },
        ],
        declared: c.declared,
        build: (b) => b.op(c.op, ['a', 'b']),
      });
    });
  }
  it('Pow with a constant exponent 2 (as in exported LayerNorm/variance code)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (b, dt) => b.op('Pow', ['x', b.initializer('two', dt, [], [2])]),
    });
  });
  it('Where (condition from a comparison stops the gradient)', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [3, 1] },
      ],
      build: (b, dt) => b.op('Where', [b.op('Greater', ['a', b.initializer('z', dt, [], [0.1])]), 'a', 'b']),
    });
  });
  it('Sum and Mean (variadic, broadcasting)', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [3] },
        { name: 'c', shape: [2, 1] },
      ],
      build: (b) => b.op('Mul', [b.op('Sum', ['a', 'b', 'c']), b.op('Mean', ['a', 'b', 'c'])]),
    });
  });
});

const unary: Array<{ op: string; range?: [number, number] }> = [
  { op: 'Sqrt', range: [0.5, 3] },
  { op: 'Exp', range: [-2, 2] },
  { op: 'Log', range: [0.5, 3] },
  { op: 'Neg' },
  { op: 'Reciprocal', range: [0.5, 2] },
  { op: 'Abs' },
];

describe('autodiff: unary elementwise', () => {
  for (const c of unary) {
    it(c.op, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: [2, 3, 4], range: c.range }],
        declared: { x: ['N', 3, 4] },
        build: (b) => b.op(c.op, ['x']),
      });
    });
  }
});
