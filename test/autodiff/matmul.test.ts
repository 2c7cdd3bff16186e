import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

describe('autodiff: Gemm', () => {
  const variants = [
    { transA: 0, transB: 0, alpha: 1, beta: 1, c: [4] },
    { transA: 1, transB: 0, alpha: 0.5, beta: 2, c: [3, 4] },
    { transA: 0, transB: 1, alpha: 1.5, beta: 0.5, c: [3, 1] },
    { transA: 1, transB: 1, alpha: 1, beta: 1, c: [] as number[] },
  ];
  for (const v of variants) {
    it(`transA ${v.transA} transB ${v.transB} alpha ${v.alpha} beta ${v.beta} C [${v.c}]`, async (t) => {
      const a = v.transA ? [5, 3] : [3, 5];
      const m = v.transB ? [4, 5] : [5, 4];
      await gradCheck(t, {
        inputs: [{ name: 'a', shape: a }, { name: 'm', shape: m }, ...(v.c.length ? [{ name: 'c', shape: v.c }] : [])],
        build: (b) =>
          b.op('Gemm', v.c.length ? ['a', 'm', 'c'] : ['a', 'm'], { transA: v.transA, transB: v.transB, alpha: attr.float(v.alpha), beta: attr.float(v.beta) }),
      });
    });
  }
});

describe('autodiff: MatMul', () => {
  const shapes: Array<[number[], number[], string?]> = [
    [
      [3, 4],
      [4, 5],
    ],
    [
      [2, 3, 4],
      [2, 4, 5],
    ],
    [[2, 3, 4], [4, 5], 'broadcast 2-D weight'],
    [[2, 1, 3, 4], [3, 4, 2], 'batch broadcast both ways'],
    [[4], [2, 4, 5], '1-D left'],
    [[2, 3, 4], [4], '1-D right'],
    [[4], [4], 'dot'],
  ];
  for (const [a, m, note] of shapes) {
    it(`[${a}] x [${m}]${note ? ` (${note})` : ''}`, async (t) => {
      await gradCheck(t, {
        inputs: [
          { name: 'a', shape: a },
          { name: 'm', shape: m },
        ],
        build: (b) => b.op('MatMul', ['a', 'm']),
      });
    });
  }
  it('attention-like, symbolic batch: softmax(q kᵀ) v', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'q', shape: [2, 3, 5, 4] },
        { name: 'k', shape: [2, 3, 5, 4] },
        { name: 'v', shape: [2, 3, 5, 4] },
      ],
      declared: { q: ['N', 3, 5, 4], k: ['N', 3, 5, 4], v: ['N', 3, 5, 4] },
      build: (b) => {
        const kt = b.op('Transpose', ['k'], { perm: attr.ints([0, 1, 3, 2]) });
        return b.op('MatMul', [b.op('Softmax', [b.op('MatMul', ['q', kt])], { axis: -1 }), 'v']);
      },
    });
  });
});

describe('autodiff: Einsum', () => {
  const eqs: Array<[string, number[][]]> = [
    [
      'ij,jk->ik',
      [
        [3, 4],
        [4, 5],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    [
      'bhqd,bhkd->bhqk',
      [
        [2, 2, 3, 4],
        [2, 2, 5, 4],
      ],
    ],
    ['ij->j', [[3, 4]]],
    ['ij,j->i', [[3, 4], [4]]],
    [
      'ik,jk->ijk',
      [
        [2, 3],
        [4, 3],
      ],
    ],
  ];
  for (const [eq, shapes] of eqs) {
    it(eq, async (t) => {
      await gradCheck(t, {
        inputs: shapes.map((s, i) => ({ name: `x${i}`, shape: s })),
        build: (b) =>
          b.op(
            'Einsum',
            shapes.map((_, i) => `x${i}`),
            { equation: eq },
          ),
      });
    });
  }
});
