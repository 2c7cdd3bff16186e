import { describe, it } from 'node:test';
import { attr, DataType } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

describe('autodiff: data movement', () => {
  it('Identity, Dropout (inference), Cast float→double→float', async (t) => {
    await gradCheck(t, {
      floatOnly: true,
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (b) => {
        const d = b.op('Dropout', [b.op('Identity', ['x'])]);
        return b.op('Mul', [b.op('Cast', [b.op('Cast', [d], { to: DataType.DOUBLE })], { to: DataType.FLOAT }), 'x']);
      },
    });
  });
  it('Flatten axis 2', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4, 2] }], build: (b) => b.op('Flatten', ['x'], { axis: 2 }) });
  });
  it('Reshape with -1 and 0, symbolic batch', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      declared: { x: ['N', 3, 4] },
      build: (b) => b.op('Reshape', ['x', b.int64s('s', [0, -1, 2])]),
    });
  });
  it('Transpose with perm, and default (reverse)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (b) => b.op('Transpose', [b.op('Transpose', ['x'], { perm: attr.ints([1, 2, 0]) })]),
    });
  });
  it('Squeeze / Unsqueeze (axes inputs)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 1, 3] }],
      build: (b) => b.op('Unsqueeze', [b.op('Squeeze', ['x', b.int64s('a', [1])]), b.int64s('u', [0, -1])]),
    });
  });
  it('Expand (broadcast to a bigger shape)', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [3, 1] }], build: (b) => b.op('Expand', ['x', b.int64s('s', [2, 3, 4])]) });
  });
  it('Concat of three (one input twice), axis 1, symbolic batch', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [2, 1, 4] },
      ],
      declared: { a: ['N', 3, 4], b: ['N', 1, 4] },
      build: (b) => b.op('Concat', ['a', 'b', 'a'], { axis: 1 }),
    });
  });
  it('Concat axis -1 with runtime sizes', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [2, 5] },
      ],
      declared: { a: ['N', 'A'], b: ['N', 'B'] },
      build: (b) => b.op('Concat', ['a', 'b'], { axis: -1 }),
    });
  });
  it('Split (sizes input), one output unused', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 7] }],
      build: (b) => {
        const [p, , r] = b.node('Split', ['x', b.int64s('sizes', [2, 3, 2])], { axis: 1 }, { outputCount: 3 });
        return b.op('Mul', [p, r]);
      },
    });
  });
  it('Split equal parts', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [4, 3] }],
      build: (b) => {
        const [p, q] = b.node('Split', ['x'], { axis: 0 }, { outputCount: 2 });
        return b.op('Sub', [p, q]);
      },
    });
  });
  it('Slice: two axes, negative start, step 2, INT64_MAX end', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 5, 7] }],
      build: (b) => b.op('Slice', ['x', b.int64s('st', [-4, 1]), b.int64s('en', [9223372036854775807n, 6]), b.int64s('ax', [1, 2]), b.int64s('sp', [1, 2])]),
    });
  });
  it('Slice: negative step', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 6] }],
      build: (b) => b.op('Slice', ['x', b.int64s('st', [-1]), b.int64s('en', [-9223372036854775807n]), b.int64s('ax', [1]), b.int64s('sp', [-2])]),
    });
  });
  it('Slice + Concat (cyclic shift, as torch.roll exports)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 5, 3] }],
      declared: { x: ['N', 5, 3] },
      build: (b) =>
        b.op(
          'Concat',
          [
            b.op('Slice', ['x', b.int64s('a0', [-2]), b.int64s('a1', [9223372036854775807n]), b.int64s('ax', [1])]),
            b.op('Slice', ['x', b.int64s('b0', [0]), b.int64s('b1', [-2]), b.int64s('bx', [1])]),
          ],
          { axis: 1 },
        ),
    });
  });
  it('Gather scalar index on axis 1 (class token)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 4, 3] }],
      build: (b) => b.op('Gather', ['x', b.initializer('i', DataType.INT64, [], [0])], { axis: 1 }),
    });
  });
  it('Gather 2-D indices with repeats and negatives, axis 0', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [5, 3] }],
      build: (b) => b.op('Gather', ['x', b.initializer('i', DataType.INT64, [2, 3], [0, 4, -1, 2, 2, 0])], { axis: 0 }),
    });
  });
  it('Gather axis -1 with int32 indices', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (b) => b.op('Gather', ['x', b.initializer('i', DataType.INT32, [3], [3, 1, 3])], { axis: -1 }),
    });
  });
  it('Pad constant (pads input, symbolic dims)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      declared: { x: ['N', 'C', 4] },
      build: (b) => b.op('Pad', ['x', b.int64s('p', [0, 1, 2, 0, 2, 1])]),
    });
  });
  it('a non-differentiable branch (Shape → Reshape target) stops the gradient', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      declared: { x: ['N', 3, 4] },
      build: (b) => {
        const y = b.op('Relu', ['x']);
        return b.op('Reshape', [b.op('Transpose', [y], { perm: attr.ints([0, 2, 1]) }), b.op('Shape', ['x'])]);
      },
    });
  });
});
