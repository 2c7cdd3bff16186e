import { describe, it } from 'node:test';
import { throws } from 'node:assert/strict';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { gradCheck, weight } from './check';

type Case = {
  name: string;
  op: string;
  attrs?: Record<string, number | string>;
  range?: [number, number];
  extra?: 'clip' | 'clipMin' | 'prelu' | 'preluScalar';
  opset?: number;
};

const cases: Case[] = [
  { name: 'Relu', op: 'Relu' },
  { name: 'LeakyRelu alpha 0.1', op: 'LeakyRelu', attrs: { alpha: 0.1 } },
  { name: 'PRelu per-channel slope (broadcast, slope gradient too)', op: 'PRelu', extra: 'prelu' },
  { name: 'PRelu scalar slope', op: 'PRelu', extra: 'preluScalar' },
  { name: 'Clip min/max inputs (ReLU6)', op: 'Clip', extra: 'clip', range: [-3, 9] },
  { name: 'Clip min only', op: 'Clip', extra: 'clipMin' },
  { name: 'Sigmoid', op: 'Sigmoid', range: [-4, 4] },
  { name: 'Tanh', op: 'Tanh', range: [-3, 3] },
  { name: 'HardSigmoid', op: 'HardSigmoid', attrs: { alpha: 0.3, beta: 0.4 }, range: [-4, 4] },
  { name: 'HardSwish', op: 'HardSwish', range: [-5, 5] },
  { name: 'Softplus', op: 'Softplus', range: [-4, 4] },
  { name: 'Erf', op: 'Erf', range: [-2, 2] },
  { name: 'Gelu (op, exact)', op: 'Gelu', range: [-3, 3], opset: 20 },
  { name: 'Gelu (op, tanh approximation)', op: 'Gelu', attrs: { approximate: 'tanh' }, range: [-3, 3], opset: 20 },
];

describe('autodiff: activations', () => {
  for (const c of cases) {
    it(c.name, async (t) => {
      await gradCheck(t, {
        opset: c.opset,
        inputs: [{ name: 'x', shape: [2, 3, 4, 5], range: c.range }],
        declared: { x: ['N', 3, 4, 5] },
        build: (b, dt) => {
          const attrs = Object.fromEntries(Object.entries(c.attrs ?? {}).map(([k, v]) => [k, typeof v === 'number' ? attr.float(v) : v]));
          const inputs = ['x'];
          if (c.extra === 'clip') inputs.push(b.initializer('lo', dt, [], [0]), b.initializer('hi', dt, [], [6]));
          if (c.extra === 'clipMin') inputs.push(b.initializer('lo', dt, [], [0.2]));
          if (c.extra === 'prelu') inputs.push(weight(b, dt, 'slope', [3, 1, 1], 5, 0, 0.5));
          if (c.extra === 'preluScalar') inputs.push(weight(b, dt, 'slope', [1], 5, 0, 0.5));
          return b.op(c.op, inputs, attrs);
        },
      });
    });
  }
  it('an opset-6 model is refused with a typed error naming its opset (no defined upgrade below 7)', () => {
    const b = ModelBuilder.create(6);
    b.input('x', DataType.FLOAT, [2, 3]);
    const y = b.op('Clip', ['x'], { min: attr.float(0), max: attr.float(1) });
    b.output(y);
    throws(
      () => buildGradientGraph(b.build(), { target: y, wrt: ['x'] }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && /opset 6/.test(e.message) && /opset 7 and newer/.test(e.message),
    );
  });
  it('Relu in an opset-11 model: the opset is raised to 13 (no op whose meaning changes)', async (t) => {
    await gradCheck(t, { opset: 11, inputs: [{ name: 'x', shape: [2, 5] }], build: (b) => b.op('Relu', [b.op('Flatten', ['x'])]) });
  });
  // Old-opset models whose ops changed form or meaning: upgraded node by node, then differentiated.
  it('opset 9: Clip with min/max attributes, Slice with attributes, Pad with attributes', async (t) => {
    await gradCheck(t, {
      opset: 9,
      floatOnly: true,
      inputs: [{ name: 'x', shape: [1, 2, 5, 4], range: [-2, 2] }],
      build: (b) => {
        const c = b.op('Clip', ['x'], { min: attr.float(-0.5), max: attr.float(1) });
        const s = b.op('Slice', [c], { starts: [1], ends: [4], axes: [2] });
        return b.op('Pad', [s], { pads: [0, 0, 1, 0, 0, 0, 0, 2], value: attr.float(0.25) });
      },
    });
  });
  it('opset 9: Upsample (nearest, scales input) becomes Resize', async (t) => {
    await gradCheck(t, {
      opset: 9,
      floatOnly: true,
      inputs: [{ name: 'x', shape: [1, 2, 3, 3] }],
      build: (b) => b.op('Upsample', ['x', b.floats('scales', [4], [1, 1, 2, 2])], { mode: 'nearest' }),
    });
  });
  it('opset 11: Softmax over axis 1 of a rank-4 tensor keeps its 2-D coercion', async (t) => {
    await gradCheck(t, {
      opset: 11,
      inputs: [{ name: 'x', shape: [2, 3, 2, 2] }],
      build: (b) => b.op('Mul', [b.op('Softmax', ['x'], { axis: 1 }), b.op('Softmax', ['x'], { axis: 1 })]),
    });
  });
  it('Gelu decomposed (x * 0.5 * (1 + Erf(x / sqrt 2)), as exported by PyTorch)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [2, 7], range: [-3, 3] }],
      build: (b, dt) => {
        const e = b.op('Erf', [b.op('Div', ['x', b.initializer('s2', dt, [], [Math.SQRT2])])]);
        return b.op('Mul', [b.op('Mul', ['x', b.op('Add', [e, b.initializer('one', dt, [], [1])])]), b.initializer('half', dt, [], [0.5])]);
      },
    });
  });
  it('SiLU (Sigmoid + Mul, x used twice: contributions are summed)', async (t) => {
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 4], range: [-3, 3] }],
      build: (b) => b.op('Mul', ['x', b.op('Sigmoid', ['x'])]),
    });
  });
  it('PRelu slope on the differentiated path', async (t) => {
    await gradCheck(t, {
      inputs: [
        { name: 'x', shape: [2, 3, 4] },
        { name: 's', shape: [3, 1], range: [0, 0.5] },
      ],
      build: (b) => b.op('PRelu', ['x', 's']),
    });
  });
});
