import { describe, it } from 'node:test';
import { DataType } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

type Case = { name: string; x: number[]; scales?: number[]; sizes?: number[]; attrs: Record<string, string | number>; declared?: (number | string)[] };

const cases: Case[] = [
  { name: 'nearest x2 (scales)', x: [1, 2, 3, 4], scales: [1, 1, 2, 2], attrs: { mode: 'nearest' } },
  { name: 'linear half_pixel x2 (scales)', x: [2, 2, 3, 4], scales: [1, 1, 2, 2], attrs: { mode: 'linear' } },
  {
    name: 'linear align_corners to sizes 7x5',
    x: [1, 2, 3, 4],
    sizes: [1, 2, 7, 5],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' },
  },
  {
    name: 'linear downsample pytorch_half_pixel',
    x: [1, 1, 8, 6],
    sizes: [1, 1, 3, 4],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
  },
  {
    name: 'nearest asymmetric floor x1.5',
    x: [1, 2, 4, 4],
    scales: [1, 1, 1.5, 1.5],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
  },
  { name: 'cubic x2, symbolic batch', x: [2, 1, 4, 4], scales: [1, 1, 2, 2], attrs: { mode: 'cubic' }, declared: ['N', 1, 4, 4] },
];

describe('autodiff: Resize', () => {
  for (const c of cases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        inputs: [{ name: 'x', shape: c.x }],
        declared: c.declared ? { x: c.declared } : undefined,
        build: (b) => {
          const inputs = ['x', ''];
          if (c.scales) inputs.push(b.initializer('scales', DataType.FLOAT, [4], c.scales));
          else inputs.push('', b.int64s('sizes', c.sizes!));
          return b.op('Resize', inputs, c.attrs);
        },
      });
    });
  }
});
