// Gradient checks of the ops a 3-D CNN uses, with three spatial dims (T, H, W).
import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck, weight } from '../autodiff/check';

const ints = (a: Record<string, number[] | number | string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.isArray(v) ? attr.ints(v) : v]));

describe('autodiff with 3 spatial dims', () => {
  const convs: { name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number | string> }[] = [
    { name: 'Conv 3x3x3 pad 1', x: [1, 2, 4, 5, 5], w: [3, 2, 3, 3, 3], attrs: { pads: [1, 1, 1, 1, 1, 1] } },
    {
      name: 'Conv stride 2 in time and space, asymmetric pads',
      x: [1, 2, 5, 6, 5],
      w: [2, 2, 3, 3, 2],
      attrs: { strides: [2, 2, 1], pads: [1, 0, 1, 0, 1, 0] },
    },
    { name: 'Conv (2+1)-D: spatial 1x3x3 then temporal 3x1x1', x: [1, 2, 4, 5, 5], w: [2, 2, 1, 3, 3], attrs: { pads: [0, 1, 1, 0, 1, 1] } },
    { name: 'Conv depthwise, dilation 2 in time', x: [1, 2, 6, 4, 4], w: [2, 1, 2, 3, 3], attrs: { group: 2, dilations: [2, 1, 1], pads: [0, 1, 1, 0, 1, 1] } },
  ];
  for (const c of convs) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: c.x }],
        build: (b, dt) => {
          let y = b.op('Conv', ['x', weight(b, dt, 'w', c.w, 3), weight(b, dt, 'bias', [c.w[0]], 4)], ints(c.attrs));
          if (c.name.startsWith('Conv (2+1)')) y = b.op('Conv', [y, weight(b, dt, 'wt', [2, 2, 3, 1, 1], 5)], ints({ pads: [1, 0, 0, 1, 0, 0] }));
          return y;
        },
      });
    });
  }
  it('MaxPool 2x2x2 stride 2', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [1, 2, 4, 4, 6] }],
      build: (b) => b.op('MaxPool', ['x'], ints({ kernel_shape: [2, 2, 2], strides: [2, 2, 2] })),
    });
  });
  it('MaxPool 1x3x3 stride 1x2x2 pad (space only)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [1, 2, 3, 5, 5] }],
      build: (b) => b.op('MaxPool', ['x'], ints({ kernel_shape: [1, 3, 3], strides: [1, 2, 2], pads: [0, 1, 1, 0, 1, 1] })),
    });
  });
  it('AveragePool 2x3x3 with pads, count_include_pad 0', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [1, 2, 4, 5, 5] }],
      build: (b) => b.op('AveragePool', ['x'], ints({ kernel_shape: [2, 3, 3], strides: [2, 2, 2], pads: [0, 1, 1, 0, 1, 1] })),
    });
  });
  it('GlobalAveragePool over T, H, W', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 3, 4, 4] }], build: (b) => b.op('GlobalAveragePool', ['x']) });
  });
});
