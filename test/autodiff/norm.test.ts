import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck, weight } from './check';

describe('autodiff: normalisation', () => {
  it('BatchNormalization (inference)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4, 5] }],
      declared: { x: ['N', 3, 4, 5] },
      build: (b, dt) =>
        b.op(
          'BatchNormalization',
          ['x', weight(b, dt, 'scale', [3], 1), weight(b, dt, 'bias', [3], 2), weight(b, dt, 'mean', [3], 3), weight(b, dt, 'var', [3], 4, 0.5, 2)],
          { epsilon: attr.float(1e-3) },
        ),
    });
  });
  it('BatchNormalization on [N, C]', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [4, 3] }],
      build: (b, dt) =>
        b.op('BatchNormalization', [
          'x',
          weight(b, dt, 'scale', [3], 1),
          weight(b, dt, 'bias', [3], 2),
          weight(b, dt, 'mean', [3], 3),
          weight(b, dt, 'var', [3], 4, 0.5, 2),
        ]),
    });
  });
  it('InstanceNormalization', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 3, 4, 5] }],
      build: (b, dt) => b.op('InstanceNormalization', ['x', weight(b, dt, 'scale', [3], 1), weight(b, dt, 'bias', [3], 2)], { epsilon: attr.float(1e-4) }),
    });
  });
  for (const [axis, shape] of [
    [-1, [2, 5, 6]],
    [1, [2, 3, 4]],
    [-2, [2, 3, 4]],
  ] as Array<[number, number[]]>) {
    it(`LayerNormalization axis ${axis} on [${shape}]`, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape }],
        declared: { x: ['N', ...shape.slice(1)] },
        build: (b, dt) => {
          const norm = shape.slice(axis < 0 ? shape.length + axis : axis);
          return b.op('LayerNormalization', ['x', weight(b, dt, 'scale', norm, 1), weight(b, dt, 'bias', norm, 2)], { axis, epsilon: attr.float(1e-5) });
        },
      });
    });
  }
});
