// The one gradient run explain() and the batch share: fed one-hot rows give the same gradients
// as the in-graph top-1, row by row; the class count is required only where a class is fed.
import { deepEqual, equal, notDeepEqual, ok, rejects, throws } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { analyseModel, type LoadedModel } from '../../src/engine/model';
import { buildGradientModel, type GradientModelSpec } from '../../src/engine/pipeline/gradientModel';
import { parseModel } from '../../src/engine/onnx/io';
import { ModelBuilder } from '../../src/engine/onnx/builder';
import { oneHotRows, requireClassCount, runGradient, staticClassCount } from '../../src/engine/pipeline/gradientRun';
import { topIndices } from '../../src/engine/pipeline/predictions';
import { SessionCache } from '../../src/engine/runtime/sessions';
import type { PlainTensor } from '../../src/engine/runtime/tapRunner';
import { randomArray, tinyCnn } from '../helpers/models';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const model = analyseModel(tinyCnn(), 'memory://gradient-run/tiny-cnn.onnx');
const layer = model.graph.nodes.find((n) => n.name === '/block2/relu/Relu')!.outputs[0];
const input: PlainTensor = { dtype: 'float32', dims: [3, 3, 32, 32], data: randomArray(3 * 3 * 32 * 32, 11, 1) };
const spec = (top1InGraph: boolean): GradientModelSpec => ({ output: 'logits', layers: [layer], softmax: false, top1InGraph });
const ctx = { sessions, provider: { provider: 'cpu' as const } };

describe('the gradient run', () => {
  it('feeds one one-hot row per input row: the top-1 classes fed give the in-graph top-1 gradients', async () => {
    const top1 = await runGradient(model, ctx, spec(true), input);
    equal(top1.scores.length, 3 * 4);
    const best = [0, 1, 2].map((r) => topIndices(top1.scores.subarray(r * 4, r * 4 + 4), 1)[0]);
    const fed = await runGradient(model, ctx, spec(false), input, { classes: best, classCount: 4 });
    deepEqual(fed.scores, top1.scores);
    deepEqual(fed.activations[layer].dims, [3, 16, 16, 16]);
    deepEqual(fed.gradients[layer].data, top1.gradients[layer].data);
    const other = best.map((c) => (c + 1) % 4);
    const changed = await runGradient(model, ctx, spec(false), input, { classes: other, classCount: 4 });
    notDeepEqual(changed.gradients[layer].data, top1.gradients[layer].data);
    equal(changed.provider, 'cpu');
  });

  it('feeds a given cotangent as is (region targets)', async () => {
    const cotangent = oneHotRows([2, 0, 3], 4);
    const a = await runGradient(model, ctx, spec(false), input, { cotangent });
    const b = await runGradient(model, ctx, spec(false), input, { classes: [2, 0, 3], classCount: 4 });
    deepEqual(a.gradients[layer].data, b.gradients[layer].data);
  });

  it('refuses a fed-cotangent model without a target, and stops when cancelled', async () => {
    await rejects(runGradient(model, ctx, spec(false), input), /needs a target/);
    const controller = new AbortController();
    controller.abort();
    await rejects(
      runGradient(model, { ...ctx, signal: controller.signal }, spec(true), input),
      (e: Error) => e.name === 'AbortError' && /cancelled/.test(e.message),
    );
  });

  it('one-hot rows: row r is 1 at classes[r]', () => {
    const t = oneHotRows([1, 0], 3);
    deepEqual(t.dims, [2, 3]);
    deepEqual([...t.data], [0, 1, 0, 1, 0, 0]);
  });
});

describe('the top-1 backward behind a classifier head', () => {
  const nodesOf = (m: LoadedModel, s: GradientModelSpec) => parseModel(buildGradientModel(m, s).bytes).graph!.node;
  for (const [what, m] of [
    ['transB 1 (a Linear layer)', model],
    ['transB 0, alpha 0.5', analyseModel(tinyCnn({ transB: 0, alpha: 0.5 }), 'memory://gradient-run/tiny-cnn-other-head.onnx')],
  ] as const) {
    it(`starts at the head's input with the best class's weight row: ${what}`, async () => {
      const nodes = nodesOf(m, spec(true));
      ok(
        nodes.some((n) => n.name === 'camlens::top1/head/Gather'),
        'the weight row is gathered',
      );
      equal(nodes.filter((n) => n.opType === 'Gemm').length, 1, 'no backward Gemm: only the forward head');
      const top1 = await runGradient(m, ctx, spec(true), input);
      const best = [0, 1, 2].map((r) => topIndices(top1.scores.subarray(r * 4, r * 4 + 4), 1)[0]);
      const fed = await runGradient(m, ctx, spec(false), input, { classes: best, classCount: 4 });
      deepEqual(fed.scores, top1.scores);
      deepEqual(top1.gradients[layer].data, fed.gradients[layer].data);
    });
  }

  const headless = (nodes: ReturnType<typeof nodesOf>) => !nodes.some((n) => n.name?.startsWith('camlens::top1/head/'));

  it('is not taken where the backward graph needs the head: softmax, ReST, the logits as a layer', () => {
    for (const s of [{ softmax: true }, { rest: true }, { layers: [layer, 'logits'] }])
      ok(headless(nodesOf(model, { ...spec(true), ...s })), JSON.stringify(s));
  });

  it('gives NaN gradients, not a clean map of some class, when the scores hold a NaN', async () => {
    const proto = tinyCnn();
    const bias = proto.graph!.initializer.find((t) => t.name === 'fc.bias')!;
    bias.floatData = [0, Number.NaN, 0, 0];
    bias.rawData = undefined;
    const m = analyseModel(proto, 'memory://gradient-run/tiny-cnn-nan-bias.onnx');
    ok(!headless(nodesOf(m, spec(true))));
    const top1 = await runGradient(m, ctx, spec(true), input);
    ok(top1.scores.some(Number.isNaN));
    ok(top1.gradients[layer].data.every(Number.isNaN));
  });

  it('is not taken where the bias depends on the input: its path is differentiated too', async () => {
    const b = ModelBuilder.extend(tinyCnn());
    const gemm = b.graph.node.find((n) => n.opType === 'Gemm')!;
    gemm.input[2] = b.op('ReduceMean', [gemm.input[0]], { axes: [1], keepdims: 1 }, { name: '/fc/bias_from_input' });
    // The ReduceMean is appended after the Gemm: moved before it, as a graph's order must be.
    b.graph.node.splice(b.graph.node.indexOf(gemm), 0, b.graph.node.pop()!);
    const m = analyseModel(b.build(), 'memory://gradient-run/tiny-cnn-bias-from-input.onnx');
    ok(headless(nodesOf(m, spec(true))));
    const top1 = await runGradient(m, ctx, spec(true), input);
    const best = [0, 1, 2].map((r) => topIndices(top1.scores.subarray(r * 4, r * 4 + 4), 1)[0]);
    const fed = await runGradient(m, ctx, spec(false), input, { classes: best, classCount: 4 });
    deepEqual(top1.gradients[layer].data, fed.gradients[layer].data);
  });
});

describe('the class count', () => {
  const symbolic = { shapes: new Map([['scores', { dtype: 1, shape: ['batch', 'classes'] }]]) } as unknown as LoadedModel;

  it("is the output's last dim where the model states it", () => {
    equal(staticClassCount(model, 'logits'), 4);
    equal(requireClassCount(model, 'logits'), 4);
  });

  it('is undefined where it is optional (top-1 runs, batch row checks) and an error naming the output where a class is fed', () => {
    equal(staticClassCount(symbolic, 'scores'), undefined);
    throws(
      () => requireClassCount(symbolic, 'scores'),
      (e: unknown) =>
        e instanceof CamLensError && e.code === 'BAD_ARGUMENT' && /classes of output "scores" is not known statically; explain the top-1 class/.test(e.message),
    );
  });
});
