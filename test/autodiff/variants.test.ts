// Rule variants: a named rule set replaces entries of the one table (guided backpropagation's ReLU).
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildGradientGraph, GRADIENT_RULES, rulesFor, RULE_VARIANTS } from '../../src/engine/autodiff';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';

/** d(sum(y·w))/dx for y = op(x) under a rule set. */
async function inputGradient(op: string, x: number[], w: number[], rules: 'standard' | 'guided', attrs: Record<string, number> = {}): Promise<number[]> {
  const b = ModelBuilder.create(17);
  b.input('x', DataType.FLOAT, [x.length]);
  const inputs = op === 'Clip' ? ['x', b.floats('lo', [], [0]), b.floats('hi', [], [6])] : ['x'];
  const y = b.op(op, inputs, Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attr.float(v)])));
  b.output(y);
  const g = buildGradientGraph(b.build(), { target: y, wrt: ['x'], rules });
  const s = await ort.InferenceSession.create(serializeModel(g.model));
  const out = await s.run({
    x: new ort.Tensor('float32', Float32Array.from(x), [x.length]),
    [g.cotangent]: new ort.Tensor('float32', Float32Array.from(w), [w.length]),
  });
  await s.release();
  return [...(out[g.gradients.x].data as Float32Array)];
}

describe('autodiff: rule variants', () => {
  it("'guided' replaces Relu only and keeps every other rule of the table", () => {
    deepStrictEqual(Object.keys(RULE_VARIANTS.guided), ['Relu']);
    const guided = rulesFor('guided');
    ok(guided.Relu !== GRADIENT_RULES.Relu);
    for (const op of Object.keys(GRADIENT_RULES)) if (op !== 'Relu') equal(guided[op], GRADIENT_RULES[op], op);
    equal(rulesFor('standard'), GRADIENT_RULES);
  });
  it('guided Relu passes the gradient only where the input and the incoming gradient are both positive', async () => {
    const x = [-1, -1, 2, 2, 0.5, 3];
    const w = [1, -1, 1, -1, 0, 2];
    deepStrictEqual(await inputGradient('Relu', x, w, 'standard'), [0, 0, 1, -1, 0, 2]);
    deepStrictEqual(await inputGradient('Relu', x, w, 'guided'), [0, 0, 1, 0, 0, 2]);
  });
  it('Clip (ReLU6) and LeakyRelu keep their true derivatives under guided (pytorch-grad-cam swaps nn.ReLU only)', async () => {
    const x = [-1, 2, 7, 3];
    const w = [1, -1, 1, -2];
    deepStrictEqual(await inputGradient('Clip', x, w, 'guided'), await inputGradient('Clip', x, w, 'standard'));
    deepStrictEqual(await inputGradient('LeakyRelu', x, w, 'guided', { alpha: 0.1 }), await inputGradient('LeakyRelu', x, w, 'standard', { alpha: 0.1 }));
  });
});
