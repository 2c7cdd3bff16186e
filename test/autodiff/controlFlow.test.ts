// Gradients through a torchvision-style detector's post-processing: score threshold (NonZero →
// GatherND), TopK, batched NMS inside a run-time If (its kept indices are non-differentiable
// inputs of a Gather), a Loop computing an index, and an If decided statically on the gradient
// path (inlined). The box score's gradient is checked against finite differences; an If decided
// at run time or a Loop on the gradient path is a loud error, not a zero map.
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { subgraph } from '../helpers/models';
import { inlineStaticBranches } from '../../src/engine/surgery/inlineBranches';
import { gradCheck, randomValues, weight } from './check';

const I64 = DataType.INT64;
const BOOL = DataType.BOOL;

/** 16 anchors on a 4x4 grid, 2 px boxes (neighbours overlap at IoU 1/3, so NMS at 0.3 drops some). */
const BOXES = Array.from({ length: 16 }, (_, a) => {
  const [x, y] = [a % 4, Math.floor(a / 4)];
  return [y, x, y + 2, x + 2];
}).flat();

/**
 * x [1, 2, 4, 4] → class probabilities per anchor → threshold → TopK → NMS (in an If on whether
 * any box is left, as torchvision's batched_nms) → the kept scores, scaled in an If whose
 * condition is a constant, picked at an index a Loop computes. Returns the scalar target.
 */
function detector(b: ModelBuilder, dtype: DataType, options: { runtimeScaleIf?: boolean; loopOnPath?: boolean } = {}): string {
  const logits = b.op('Conv', ['x', weight(b, dtype, 'w', [3, 2, 1, 1], 7)]);
  const probs = b.op('Softmax', [b.op('Reshape', [logits, b.initializer('s3', I64, [3], [1, 3, 16])])], { axis: 1 });
  const cls = b.op('Gather', [probs, b.initializer('one', I64, [], [1])], { axis: 1 }); // [1, 16]
  // score[score > thresh] as torchvision exports it
  const where = b.op('Transpose', [b.op('NonZero', [b.op('Greater', [cls, b.initializer('thresh', dtype, [], [0.2])])])], { perm: attr.ints([1, 0]) });
  const kept = b.op('GatherND', [cls, where]); // [m]
  const anchors = b.op('Gather', [where, b.initializer('col1', I64, [], [1])], { axis: 1 }); // [m]
  const k = b.op('Min', [b.op('Shape', [kept]), b.initializer('k8', I64, [1], [8])]);
  const [values, order] = b.node('TopK', [kept, k], { axis: 0 }, { outputCount: 2 });
  const boxes = b.op('Gather', [b.initializer('boxes', DataType.FLOAT, [16, 4], BOXES), b.op('Gather', [anchors, order])]);
  const any = b.op('Greater', [b.op('Size', [values]), b.initializer('zero', I64, [], [0])]);
  const nms = subgraph((e) => {
    const s = e.op('Cast', [e.op('Unsqueeze', [values, e.initializer('ax01', I64, [2], [0, 1])])], { to: DataType.FLOAT });
    const sel = e.op('NonMaxSuppression', [
      e.op('Unsqueeze', [boxes, e.initializer('ax0', I64, [1], [0])]),
      s,
      e.initializer('maxOut', I64, [1], [5]),
      e.initializer('iou', DataType.FLOAT, [1], [0.3]),
    ]);
    e.op(
      'Squeeze',
      [e.op('Gather', [sel, e.initializer('col2', I64, [1], [2])], { axis: 1 }), e.initializer('ax1', I64, [1], [1])],
      {},
      { outputs: ['keep_nms'] },
    );
    e.output('keep_nms', I64);
  });
  const none = subgraph((e) => {
    e.initializer('keep_none', I64, [0], []);
    e.output('keep_none', I64);
  });
  const keep = b.node('If', [any], { then_branch: attr.graph(nms), else_branch: attr.graph(none) }, { outputs: ['keep'] })[0];
  const scores = b.op('Gather', [values, keep]);
  // An If on the gradient path: decided statically (a constant) or at run time (from the input).
  const cond = options.runtimeScaleIf
    ? b.op('Greater', [b.op('ReduceSum', ['x'], { keepdims: 0 }), b.initializer('lo', dtype, [], [-1e9])])
    : b.initializer('yes', BOOL, [], [1]);
  const scaled = b.node(
    'If',
    [cond],
    {
      then_branch: attr.graph(subgraph((t) => t.output(t.op('Mul', [scores, t.initializer('two', dtype, [], [2])], {}, { outputs: ['scaled_then'] }), dtype))),
      else_branch: attr.graph(subgraph((e) => e.output(e.op('Identity', [scores], {}, { outputs: ['scaled_else'] }), dtype))),
    },
    { outputs: ['scaled'] },
  )[0];
  // The index of the explained detection, counted by a Loop (int64: not on the gradient path).
  const count = subgraph((l) => {
    l.input('i', I64, []);
    l.input('c', BOOL, []);
    l.input('n', I64, []);
    l.op('Identity', ['c'], {}, { outputs: ['c_out'] });
    l.op('Add', ['n', l.initializer('inc', I64, [], [1])], {}, { outputs: ['n_out'] });
    l.output('c_out', BOOL);
    l.output('n_out', I64);
  });
  const index = b.node(
    'Loop',
    [b.initializer('trips', I64, [], [1]), '', b.initializer('start', I64, [], [0])],
    { body: attr.graph(count) },
    { outputs: ['index'] },
  )[0];
  if (options.loopOnPath) {
    const grow = subgraph((l) => {
      l.input('i2', I64, []);
      l.input('c2', BOOL, []);
      l.input('v', dtype, [null]);
      l.op('Identity', ['c2'], {}, { outputs: ['c2_out'] });
      l.op('Mul', ['v', 'v'], {}, { outputs: ['v_out'] });
      l.output('c2_out', BOOL);
      l.output('v_out', dtype);
    });
    const squared = b.node('Loop', [b.initializer('trips2', I64, [], [2]), '', scaled], { body: attr.graph(grow) }, { outputs: ['squared'] })[0];
    return b.op('Gather', [squared, index]);
  }
  return b.op('Gather', [scaled, index]);
}

describe('autodiff: detector post-processing (TopK, GatherND, NMS in an If, Loop)', () => {
  it('the kept box score: gradient wrt the input matches finite differences', async (t) => {
    const r = await gradCheck(t, {
      floatOnly: true,
      step: 1e-3,
      inputs: [{ name: 'x', shape: [1, 2, 4, 4], values: randomValues(32, 11, -2, 2) }],
      build: (b, dtype) => detector(b, dtype),
    });
    ok(Math.abs(r.ad) > 1e-4, 'a real, non-zero gradient');
  });

  it('TopK values (axis 1), GatherElements and GatherND with repeated indices match finite differences', async (t) => {
    await gradCheck(t, {
      // well-separated values: finite differences must not reorder them
      inputs: [{ name: 'x', shape: [3, 5], values: Array.from({ length: 15 }, (_, i) => Math.sin(i * 7)) }],
      floatOnly: true,
      step: 1e-3,
      build: (b) => b.node('TopK', ['x', b.initializer('k', I64, [1], [2])], { axis: 1 }, { outputCount: 2 })[0],
    });
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (b) => b.op('GatherElements', ['x', b.initializer('i', I64, [2, 4], [0, 2, 2, 1, 2, 0, 0, 1])], { axis: 0 }),
    });
    await gradCheck(t, {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (b) => b.op('GatherND', ['x', b.initializer('i', I64, [3, 2], [0, 1, 2, 3, 0, 1])]),
    });
  });

  it('an If whose condition is a constant is inlined (its branch becomes main-graph nodes)', () => {
    const b = ModelBuilder.create(17);
    b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
    b.output(detector(b, DataType.FLOAT));
    const { model, inlined } = inlineStaticBranches(b.build());
    deepStrictEqual(Object.values(inlined), ['then']);
    const graph = Graph.fromModel(model);
    equal(graph.nodes.filter((n) => n.opType === 'If').length, 1, 'the run-time If (NMS) stays');
    ok(graph.producerOf('scaled_then'), 'the taken branch runs in the main graph');
    equal(graph.producerOf('scaled_else'), undefined);
  });

  it('an If decided at run time, or a Loop, on the gradient path: an error naming the node and what to target', () => {
    for (const [options, what] of [
      [{ runtimeScaleIf: true }, /\(If\): its condition ".*" is decided at run time.*--target/],
      [{ loopOnPath: true }, /\(Loop\): gradients through Loop bodies are not supported.*--target/],
    ] as const) {
      const b = ModelBuilder.create(17);
      b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
      const target = detector(b, DataType.FLOAT, options);
      b.output(target);
      throws(
        () => buildGradientGraph(b.build(), { target, wrt: ['x'] }),
        (e: unknown) => e instanceof CamLensError && e.code === 'UNSUPPORTED_OP' && what.test(e.message),
      );
    }
  });
});
