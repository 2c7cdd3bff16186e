// Any scalar of any value as the target: the spec syntax, classes and top-1 as elements of the
// scores, an element / the max / the sum of an internal value checked against finite
// differences of the model cut at the CAM layer, and the CLI's --target / --box and S.json fields.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { CamLensError } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { analyseModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { runGradient } from '../../src/engine/pipeline/gradientRun';
import { runTarget } from '../../src/engine/pipeline/targetRun';
import { SessionCache } from '../../src/engine/runtime/sessions';
import type { PlainTensor } from '../../src/engine/runtime/tapRunner';
import { extractModel } from '../../src/engine/surgery/extract';
import { flatIndex, formatTargetSpec, parseTargetSpec, unravelIndex, type TargetSpec } from '../../src/engine/targets/spec';
import { randomArray, tinyCnn } from '../helpers/models';
import { YOLO_LIKE, yoloLike } from '../helpers/yolo';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const ctx = { sessions, provider: { provider: 'cpu' as const } };

describe('target specs', () => {
  it('parses VALUE@i,j,k, VALUE@max and VALUE@sum (the last @ splits)', () => {
    deepEqual(parseTargetSpec('output0@0,5,120'), { value: 'output0', select: { kind: 'index', index: [0, 5, 120] } });
    deepEqual(parseTargetSpec('/a@b/Conv_output_0@max'), { value: '/a@b/Conv_output_0', select: { kind: 'max' } });
    deepEqual(parseTargetSpec('x@sum'), { value: 'x', select: { kind: 'sum' } });
    equal(formatTargetSpec(parseTargetSpec('x@1,2')), 'x@1,2');
    for (const bad of ['x', '@max', 'x@', 'x@1,-2', 'x@1.5', 'x@first'])
      throws(
        () => parseTargetSpec(bad),
        (e: unknown) => e instanceof CamLensError && e.code === 'BAD_ARGUMENT',
        bad,
      );
  });

  it('ravels and unravels row-major indices, and names the value when an index is outside it', () => {
    equal(flatIndex('v', [2, 3, 4], [1, 2, 3]), 23);
    deepEqual(unravelIndex(23, [2, 3, 4]), [1, 2, 3]);
    throws(() => flatIndex('v', [2, 3], [0, 3]), /Element \[0, 3\] is not in value "v" of shape \[2, 3\]/);
    throws(() => flatIndex('v', [2, 3], [0]), /one index per dim/);
  });
});

describe('target runs', () => {
  const model = analyseModel(tinyCnn(), 'memory://targets/tiny-cnn.onnx');
  const valueOf = (node: string) => model.graph.nodes.find((n) => n.name === node)!.outputs[0];
  const layer = valueOf('/block1/relu/Relu');
  const inner = valueOf('/block2/relu/Relu'); // [1, 16, 16, 16]
  const input: PlainTensor = { dtype: 'float32', dims: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, 21, 1) };
  const base = { layers: [layer], softmax: false };

  it('a class is the element [0, c] of the scores and top-1 is their max: the same gradients as the one-hot rows', async () => {
    const top = await runTarget(model, ctx, base, input, { value: 'logits', select: { kind: 'max' } });
    equal(top.target.index.length, 2);
    const c = top.target.index[1];
    equal(top.target.score, Math.max(...top.run.scores));
    const element = await runTarget(model, ctx, base, input, { value: 'logits', select: { kind: 'index', index: [0, c] } });
    const oneHot = await runGradient(model, ctx, { output: 'logits', layers: [layer], softmax: false, top1InGraph: false }, input, {
      classes: [c],
      classCount: 4,
    });
    deepEqual(element.run.gradients[layer].data, oneHot.gradients[layer].data);
    deepEqual(top.run.gradients[layer].data, oneHot.gradients[layer].data);
  });

  /** d(scalar)/d(layer) · u by central differences of the model cut at the layer. */
  async function directional(spec: TargetSpec, u: Float32Array, act: PlainTensor): Promise<number> {
    const tail = await ort.InferenceSession.create(serializeModel(extractModel(model.proto, model.graph, [layer], [spec.value], model.shapes)));
    const scalar = async (a: Float32Array) => {
      const v = (await tail.run({ [layer]: new ort.Tensor('float32', a, act.dims) }))[spec.value].data as Float32Array;
      if (spec.select.kind === 'sum') return v.reduce((s, x) => s + x, 0);
      if (spec.select.kind === 'max') return Math.max(...v);
      return v[flatIndex(spec.value, [1, 16, 16, 16], spec.select.index)];
    };
    const h = 1e-3;
    const a = act.data as Float32Array;
    const plus = a.map((x, i) => x + h * u[i]);
    const minus = a.map((x, i) => x - h * u[i]);
    const d = ((await scalar(plus)) - (await scalar(minus))) / (2 * h);
    await tail.release();
    return d;
  }

  for (const spec of [
    { value: inner, select: { kind: 'index', index: [0, 3, 9, 6] } },
    { value: inner, select: { kind: 'max' } },
    { value: inner, select: { kind: 'sum' } },
  ] as TargetSpec[]) {
    it(`an internal value as the target (${spec.select.kind}): its gradient agrees with finite differences`, async () => {
      if (spec.select.kind === 'index') {
        // A live element of channel 3 (a ReLU's zero has no gradient to check).
        const scores = (await runTarget(model, ctx, base, input, { value: inner, select: { kind: 'max' } })).run.scores;
        const p = scores.subarray(3 * 256, 4 * 256).findIndex((v) => v > 0.05);
        spec.select.index = [0, 3, Math.floor(p / 16), p % 16];
      }
      const r = await runTarget(model, ctx, base, input, spec);
      const g = r.run.gradients[layer].data as Float32Array;
      const act = r.run.activations[layer];
      deepEqual(r.run.scoreDims, [1, 16, 16, 16]);
      if (spec.select.kind === 'index') equal(r.target.score, r.run.scores[flatIndex(inner, [1, 16, 16, 16], spec.select.index)]);
      if (spec.select.kind === 'max') equal(r.target.score, Math.max(...r.run.scores));
      const u = randomArray(g.length, 9, 1);
      let analytic = 0;
      for (let i = 0; i < g.length; i++) analytic += g[i] * u[i];
      const fd = await directional(spec, u, act);
      ok(Math.abs(analytic) > 1e-3, `the directional derivative ${analytic} is not trivially zero`);
      ok(Math.abs(analytic - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `${spec.select.kind}: ${analytic} vs ${fd}`);
    });
  }

  it('an element outside the value, or a value that does not exist, is an error naming it', async () => {
    await rejects(
      runTarget(model, ctx, base, input, { value: inner, select: { kind: 'index', index: [0, 16, 0, 0] } }),
      /not in value .* of shape \[1, 16, 16, 16\]/,
    );
    await rejects(
      runTarget(model, ctx, base, input, { value: 'nope', select: { kind: 'max' } }),
      (e: unknown) => e instanceof CamLensError && e.code === 'UNKNOWN_VALUE',
    );
  });
});

describe('--target and --box on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-targets-'));
  const tiny = join(dir, 'tiny.onnx');
  writeFileSync(tiny, serializeModel(tinyCnn()));
  const image = join(dir, 'x.npy');
  writeNpy(image, randomArray(3 * 32 * 32, 4, 1), [1, 3, 32, 32]);
  const yolo = join(dir, 'yolo.onnx');
  writeFileSync(yolo, serializeModel(yoloLike({ size: 64 })));
  const yoloInput = join(dir, 'y.npy');
  writeNpy(
    yoloInput,
    randomArray(3 * 64 * 64, 5, 1).map((v) => v + 0.5),
    [1, 3, 64, 64],
  );
  // The built CLI (bin/camlens.js → dist/cli.js, which forks dist/worker.js).
  const bin = resolve(__dirname, '../../../bin/camlens.js');
  function run(...argv: string[]) {
    const r = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  it('--target VALUE@i,j,k,l on an internal value: S.json names the value, the index and its score', async () => {
    const inner = analyseModel(tinyCnn(), tiny).graph.nodes.find((n) => n.name === '/block2/relu/Relu')!.outputs[0];
    const r = run('explain', tiny, image, '--out', join(dir, 'a'), '--target', `${inner}@0,2,3,4`, '--ep', 'cpu');
    equal(r.code, 0, r.err);
    const json = JSON.parse(readFileSync(join(dir, 'a', 'x.json'), 'utf8'));
    deepEqual(json.target.index, [0, 2, 3, 4]);
    equal(json.target.value, inner);
    equal(typeof json.target.score, 'number');
    deepEqual(json.predictions, []);
    ok(r.out.includes(`${inner}@0,2,3,4 = `), r.out);
    const bad = run('explain', tiny, image, '--out', join(dir, 'b'), '--target', 'logits@zero');
    equal(bad.code, 2, bad.err);
  });

  it("--box N on a detector: S.json lists the detections and the target is the N-th one's class score", async () => {
    const r = run('explain', yolo, yoloInput, '--out', join(dir, 'd'), '--box', '1', '--conf', '0.3', '--layer', YOLO_LIKE.neckP3, '--ep', 'cpu');
    equal(r.code, 0, r.err);
    const json = JSON.parse(readFileSync(join(dir, 'd', 'y.json'), 'utf8'));
    ok(json.detections.length >= 2);
    const d = json.detections[1];
    deepEqual(Object.keys(d).sort(), ['anchor', 'box', 'class', 'index', 'label', 'score']);
    deepEqual(json.target.index, d.index);
    equal(json.target.value, YOLO_LIKE.output);
    equal(json.class, d.class);
    equal(d.box.length, 4);
    // batch takes --box too (one row per detection explained): the same target as explain's.
    const batch = run('batch', yolo, yoloInput, '--out', join(dir, 'e'), '--box', '1', '--conf', '0.3', '--layer', YOLO_LIKE.neckP3, '--ep', 'cpu');
    equal(batch.code, 0, batch.err);
    const row = JSON.parse(readFileSync(join(dir, 'e', 'y.json'), 'utf8'));
    deepEqual(row.explanations[0].target.index, d.index);
  });

  it('explain() reports the target of a class explanation too', async () => {
    const r = await explain({ modelPath: tiny, input: image, classIndex: 2 }, { sessions });
    deepEqual(r.explanations[0].target?.index, [0, 2]);
    equal(r.explanations[0].target?.value, 'logits');
    equal(r.explanations[0].target?.score, r.predictions.find((p) => p.index === 2)?.score);
  });
});
