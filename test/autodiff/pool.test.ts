import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

const ints = (a: Record<string, number[] | number | string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.isArray(v) ? attr.ints(v) : v]));

type PoolCase = { name: string; x: number[]; attrs: Record<string, number[] | number | string>; declared?: (number | string)[]; opset?: number };

const maxCases: PoolCase[] = [
  { name: '3x3 stride 2 pad 1 (ResNet stem: overlapping windows)', x: [2, 3, 9, 9], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '2x2 stride 2', x: [1, 2, 6, 8], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { name: '3x3 stride 1 dilation 2', x: [1, 2, 8, 8], attrs: { kernel_shape: [3, 3], dilations: [2, 2] } },
  { name: 'ceil_mode', x: [1, 2, 7, 7], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  { name: 'symbolic batch', x: [3, 2, 6, 6], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, declared: ['N', 2, 6, 6] },
  { name: 'opset 13 model (raised to 16 for ScatterElements reduction)', x: [1, 2, 6, 6], attrs: { kernel_shape: [3, 3], strides: [1, 1] }, opset: 13 },
];

describe('autodiff: MaxPool', () => {
  for (const c of maxCases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        opset: c.opset,
        inputs: [{ name: 'x', shape: c.x }],
        declared: c.declared ? { x: c.declared } : undefined,
        build: (b) => b.op('MaxPool', ['x'], ints(c.attrs)),
      });
    });
  }
});

const avgCases: PoolCase[] = [
  { name: '2x2 stride 2', x: [2, 3, 6, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { name: '3x3 stride 2 pad 1, count_include_pad 0', x: [1, 2, 7, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  {
    name: '3x3 stride 2 pad 1, count_include_pad 1',
    x: [1, 2, 7, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  { name: '3x3 stride 2 ceil_mode', x: [1, 2, 8, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  {
    name: '3x3 stride 2 ceil_mode pad 1 count_include_pad 1',
    x: [1, 2, 8, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    name: 'symbolic batch and spatial dims',
    x: [2, 2, 7, 6],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 0, 0, 1] },
    declared: ['N', 2, 'H', 'W'],
  },
];

describe('autodiff: AveragePool', () => {
  for (const c of avgCases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: c.x }],
        declared: c.declared ? { x: c.declared } : undefined,
        build: (b) => b.op('AveragePool', ['x'], ints(c.attrs)),
      });
    });
  }
});

describe('autodiff: global pooling', () => {
  it('GlobalAveragePool', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], build: (b) => b.op('GlobalAveragePool', ['x']) });
  });
  it('GlobalAveragePool, symbolic spatial dims', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], declared: { x: ['N', 3, 'H', 'W'] }, build: (b) => b.op('GlobalAveragePool', ['x']) });
  });
  it('GlobalMaxPool', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], build: (b) => b.op('GlobalMaxPool', ['x']) });
  });
});
