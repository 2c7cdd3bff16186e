import { describe, it } from 'node:test';
import { attr } from '../../src/engine/onnx/builder';
import { gradCheck, weight } from './check';

type ConvCase = { name: string; x: number[]; w: number[]; attrs: Record<string, unknown>; declared?: (number | string | null)[] };

const convCases: ConvCase[] = [
  { name: '3x3 stride 1 pad 1', x: [2, 3, 7, 7], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: '3x3 stride 2 pad 1 (odd input: uncovered row)', x: [1, 2, 8, 9], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '7x7 stride 2 pad 3 (stem)', x: [1, 3, 16, 16], w: [4, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } },
  { name: '1x1 stride 2 (downsample)', x: [1, 4, 7, 7], w: [6, 4, 1, 1], attrs: { strides: [2, 2] } },
  { name: 'dilation 2, asymmetric pads', x: [1, 2, 9, 8], w: [2, 2, 3, 3], attrs: { dilations: [2, 2], pads: [2, 1, 0, 2] } },
  { name: 'groups 2', x: [1, 4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: 'depthwise stride 2', x: [1, 3, 9, 9], w: [3, 1, 3, 3], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'auto_pad SAME_UPPER stride 2', x: [1, 2, 7, 6], w: [3, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'auto_pad SAME_LOWER stride 2, 4x4 kernel', x: [1, 2, 7, 7], w: [2, 2, 4, 4], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { name: 'auto_pad VALID stride 3', x: [1, 2, 10, 8], w: [2, 2, 3, 2], attrs: { auto_pad: 'VALID', strides: [3, 2] } },
  { name: '1-D conv', x: [2, 2, 11], w: [3, 2, 3], attrs: { strides: [2], pads: [1, 0] } },
  {
    name: 'symbolic batch and spatial dims (runtime padding)',
    x: [2, 2, 8, 9],
    w: [3, 2, 3, 3],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
    declared: ['N', 2, 'H', 'W'],
  },
];

const toAttrs = (a: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.isArray(v) ? attr.ints(v as number[]) : (v as number | string)]));

describe('autodiff: Conv', () => {
  for (const c of convCases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: c.x }],
        declared: c.declared ? { x: c.declared } : undefined,
        build: (b, dt) => {
          const w = weight(b, dt, 'w', c.w, 7);
          const bias = weight(b, dt, 'bias', [c.w[0]], 8);
          return b.op('Conv', ['x', w, bias], toAttrs(c.attrs));
        },
      });
    });
  }
});

describe('autodiff: ConvTranspose', () => {
  const cases: ConvCase[] = [
    { name: 'stride 2 pad 1 output_padding 1', x: [1, 3, 4, 5], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
    { name: 'group 2 dilation 2', x: [1, 4, 4, 4], w: [4, 1, 3, 3], attrs: { group: 2, dilations: [2, 2] } },
  ];
  for (const c of cases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: c.x }],
        build: (b, dt) => b.op('ConvTranspose', ['x', weight(b, dt, 'w', c.w, 3)], toAttrs(c.attrs)),
      });
    });
  }
});
