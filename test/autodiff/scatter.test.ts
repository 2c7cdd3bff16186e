// Scatters and gathers (rules/scatter.ts): first-order checks against finite differences.
import { describe, it } from 'node:test';
import { throws } from 'node:assert/strict';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { CamLensError } from '../../src/engine/errors';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { gradCheck } from './check';

describe('autodiff: scatters and gathers', () => {
  it('ScatterElements (no reduction): data loses the overwritten positions, updates gather them', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'x', shape: [3, 4] },
        { name: 'u', shape: [2, 4] },
      ],
      build: (b) => b.op('ScatterElements', ['x', b.int64s('i', [0, 2, 1, 0, 2, 1, 0, 2], [2, 4]), 'u'], { axis: 0 }),
    });
  });
  it('ScatterElements (reduction add, repeated indices)', async (t) => {
    await gradCheck(t, {
      opset: 16,
      inputs: [
        { name: 'x', shape: [2, 5] },
        { name: 'u', shape: [2, 3] },
      ],
      build: (b) => b.op('ScatterElements', ['x', b.int64s('i', [4, 4, 0, 1, -1, 1], [2, 3]), 'u'], { axis: 1, reduction: 'add' }),
    });
  });
  it('ScatterND (no reduction and add)', async (t) => {
    for (const reduction of ['none', 'add']) {
      await gradCheck(t, {
        opset: 16,
        inputs: [
          { name: 'x', shape: [4, 3] },
          { name: 'u', shape: [2, 3] },
        ],
        build: (b) => b.op('ScatterND', ['x', b.int64s('i', [3, 1], [2, 1]), 'u'], { reduction }),
      });
    }
  });
  it('GatherElements (repeated indices sum)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (b) => b.op('GatherElements', ['x', b.int64s('i', [0, 0, 2, 1, 2, 2, 0, 1], [2, 4])], { axis: 0 }),
    });
  });
  it('GatherND (repeated index rows sum)', async (t) => {
    await gradCheck(t, { inputs: [{ name: 'x', shape: [4, 3] }], build: (b) => b.op('GatherND', ['x', b.int64s('i', [1, 3, 1], [3, 1])]) });
  });
  it('ScatterElements with reduction mul is refused with a typed error', () => {
    const b = ModelBuilder.create(16);
    b.input('x', DataType.FLOAT, [2, 2]);
    const y = b.op('ScatterElements', ['x', b.int64s('i', [0, 1], [1, 2]), b.floats('u', [1, 2], [1, 2])], { axis: 0, reduction: 'mul' });
    b.output(y);
    throws(
      () => buildGradientGraph(b.build(), { target: y, wrt: ['x'] }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && /reduction 'mul'/.test(e.message),
    );
  });
});
