// Sequence (CTC) targets on a tiny CTC-like recogniser built here: the CTC log-likelihood against
// a brute-force sum over every alignment in float64, its gradient at the CAM layer against finite
// differences of that brute-force score, [T, N, C] and [N, T, C] outputs and a Softmax output
// giving the same map, one time step as one element, and the layout errors.
import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { explain } from '../../src/engine/explain';
import { analyseModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { serializeModel } from '../../src/engine/onnx/io';
import type { ModelProto } from '../../src/engine/onnx/types';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { collapsePath, ctcScore, sequenceLayoutOf } from '../../src/engine/targets/ctc';
import { assertSameGradient, directionalCheck } from '../helpers/gradientCheck';
import { randomArray } from '../helpers/models';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const T = 6;
const C = 4; // blank 0 + three symbols
const LAYER = '/cnn/Relu_output_0';

/**
 * [1,3,8,24] → conv 8×4 stride (8,4) + ReLU → [1,6,1,6] → tokens [1,6,6] → MatMul → "logits"
 * [1,T,C] (NTC), its Transpose "logits_tnc" [T,1,C] and its Softmax "probs" [1,T,C].
 */
function tinyCtc(): ModelProto {
  const b = ModelBuilder.create(17);
  const x = b.input('input', DataType.FLOAT, [1, 3, 8, 24]);
  const w = b.floats('cnn.weight', [6, 3, 8, 4], randomArray(6 * 3 * 8 * 4, 31, 0.3));
  const c = b.op('Conv', [x, w], { kernel_shape: [8, 4], strides: [8, 4] }, { name: '/cnn/Conv' });
  b.op('Relu', [c], {}, { name: '/cnn/Relu', outputs: [LAYER] });
  const seq = b.op('Reshape', [LAYER, b.int64s('seq.shape', [1, 6, T])], {}, { name: '/Reshape' });
  const tokens = b.op('Transpose', [seq], { perm: [0, 2, 1] }, { name: '/Transpose' });
  b.op('MatMul', [tokens, b.floats('fc.w', [6, C], randomArray(6 * C, 32, 2))], {}, { name: '/fc/MatMul', outputs: ['logits'] });
  b.op('Transpose', ['logits'], { perm: [1, 0, 2] }, { name: '/tnc/Transpose', outputs: ['logits_tnc'] });
  b.op('Softmax', ['logits'], { axis: -1 }, { name: '/Softmax', outputs: ['probs'] });
  b.output('logits', DataType.FLOAT, [1, T, C]);
  b.output('logits_tnc', DataType.FLOAT, [T, 1, C]);
  b.output('probs', DataType.FLOAT, [1, T, C]);
  return b.build();
}

/** log P(labels) by summing every one of the C^T paths that collapses to `labels` (float64). */
function bruteForce(logits: ArrayLike<number>, labels: readonly number[]): number {
  const logp: number[][] = [];
  for (let t = 0; t < T; t++) {
    const row = Array.from({ length: C }, (_, c) => Number(logits[t * C + c]));
    const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    logp.push(row.map((v) => v - z));
  }
  let total = 0;
  const path = new Array<number>(T).fill(0);
  for (let n = 0; n < C ** T; n++) {
    let m = n;
    for (let t = 0; t < T; t++) {
      path[t] = m % C;
      m = Math.floor(m / C);
    }
    const out = collapsePath(path, 0);
    if (out.length !== labels.length || out.some((v, i) => v !== labels[i])) continue;
    total += Math.exp(path.reduce((s, c, t) => s + logp[t][c], 0));
  }
  return Math.log(total);
}

describe('CTC scores', () => {
  it('the forward-backward log-likelihood equals the brute-force sum over alignments, repeats and blanks included', () => {
    const data = randomArray(T * C, 7, 2);
    const logp = Array.from({ length: T }, (_, t) => {
      const row = Float64Array.from(data.subarray(t * C, (t + 1) * C));
      const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      return row.map((v) => v - z);
    });
    for (const labels of [[1, 2, 3], [2, 2], [1], [], [3, 1, 3, 1]]) {
      const r = ctcScore(logp, labels, 0);
      ok(Math.abs(r.logLikelihood - bruteForce(data, labels)) < 1e-9, `${labels}: ${r.logLikelihood} vs ${bruteForce(data, labels)}`);
      for (const g of r.posterior) ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-9, 'each step: posteriors sum to 1');
    }
    throws(() => ctcScore(logp, [1, 1, 1, 1], 0), /needs 7 time steps; the output has 6/);
    throws(() => ctcScore(logp, [0, 1], 0), /blank 0 excluded/);
  });

  it('reads the layout from the batch axis, and asks for it when the shape does not tell', () => {
    equal(sequenceLayoutOf('x', [1, 40, 6625]), 'NTC');
    equal(sequenceLayoutOf('x', [26, 1, 37]), 'TNC');
    throws(() => sequenceLayoutOf('x', [2, 3, 5]), /--sequence-layout TNC or NTC/);
    throws(() => sequenceLayoutOf('x', [1, 5]), /sequence targets need \[T, N, C\]/);
  });
});

describe('sequence targets through explain()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-ctc-'));
  const modelPath = join(dir, 'ctc.onnx');
  const proto = tinyCtc();
  writeFileSync(modelPath, serializeModel(proto));
  const inputPath = join(dir, 'x.npy');
  const x = randomArray(3 * 8 * 24, 33, 1).map((v) => v + 0.3);
  writeNpy(inputPath, x, [1, 3, 8, 24]);
  const model = analyseModel(proto, modelPath);
  const params = { modelPath, input: inputPath, layers: [LAYER], saveTensors: true, overlay: false };

  it('the whole sequence: the greedy decoding scored by CTC; its gradient matches finite differences of the brute-force score', async () => {
    const r = await explain({ ...params, output: 'logits', sequence: {} }, { sessions });
    const e = r.explanations[0];
    const seq = r.sequence!;
    equal(seq.layout, 'NTC');
    deepEqual(seq.decoded, collapsePath(seq.path, 0));
    ok(seq.decoded.length >= 1, `a non-empty decoding (${seq.path})`);
    equal(e.target?.reduce, 'ctc');
    deepEqual(e.target?.sequence, seq.decoded);
    // The score against the brute force from the model's own output.
    const session = await ort.InferenceSession.create(serializeModel(proto));
    const logits = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 8, 24]) })).logits.data as Float32Array;
    await session.release();
    ok(Math.abs(e.target!.score - bruteForce(logits, seq.decoded)) < 1e-5, `${e.target!.score} vs ${bruteForce(logits, seq.decoded)}`);
    // d score/d layer · u against central differences of the model cut at the layer.
    const act = e.activation!;
    const g = e.gradient!.data as Float32Array;
    const score = (out: Float32Array) => bruteForce(out, seq.decoded);
    const { analytic, fd } = await directionalCheck(model, LAYER, 'logits', act, g, randomArray(g.length, 34, 1), 1e-3, score);
    ok(Math.abs(analytic) > 1e-3, `non-trivial derivative ${analytic}`);
    ok(Math.abs(analytic - fd) <= 1e-2 * Math.max(1, Math.abs(fd)), `${analytic} vs ${fd}`);
  });

  it('a given label sequence; [T, N, C] and a Softmax output give the same score and map as the [N, T, C] logits', async () => {
    const labels = [2, 1];
    const ntc = await explain({ ...params, output: 'logits', sequence: { labels } }, { sessions });
    const tnc = await explain({ ...params, output: 'logits_tnc', sequence: { labels } }, { sessions });
    const probs = await explain({ ...params, output: 'probs', sequence: { labels } }, { sessions });
    equal(tnc.sequence?.layout, 'TNC');
    deepEqual(ntc.explanations[0].target?.sequence, labels);
    for (const other of [tnc, probs]) {
      ok(Math.abs(other.explanations[0].target!.score - ntc.explanations[0].target!.score) < 1e-5);
      assertSameGradient(ntc.explanations[0].gradient!.data as Float32Array, other.explanations[0].gradient!.data as Float32Array, 1e-4, 'same layer gradient');
    }
  });

  it('one time step is the element of its best symbol; a step outside the output is an error', async () => {
    const r = await explain({ ...params, output: 'logits', sequence: { step: 2 } }, { sessions });
    const c = r.sequence!.path[2];
    deepEqual(r.explanations[0].target?.index, [0, 2, c]);
    equal(r.explanations[0].classIndex, c);
    const tnc = await explain({ ...params, output: 'logits_tnc', sequence: { step: 2 }, classIndex: 1 }, { sessions });
    deepEqual(tnc.explanations[0].target?.index, [2, 0, 1]);
    await rejects(explain({ ...params, output: 'logits', sequence: { step: T } }, { sessions }), /has 6 time steps/);
    await rejects(explain({ ...params, output: 'logits', sequence: { labels: [4] } }, { sessions }), /Label 4 is not a symbol/);
  });

  it('a rank-3 output without a sequence option names the options; the CLI writes the decoding to S.json', () => {
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const run = (...argv: string[]) =>
      spawnSync(process.execPath, [bin, 'explain', modelPath, inputPath, '--layer', LAYER, '--ep', 'cpu', ...argv], { encoding: 'utf8' });
    const plain = run('--out', join(dir, 'plain'));
    equal(plain.status, 1, plain.stderr);
    ok(plain.stderr.includes('--ctc, --target-sequence or --sequence-step'), plain.stderr);
    const ctc = run('--out', join(dir, 'ctc'), '--ctc');
    equal(ctc.status, 0, ctc.stderr);
    const json = JSON.parse(readFileSync(join(dir, 'ctc', 'x.json'), 'utf8'));
    equal(json.target.reduce, 'ctc');
    equal(json.sequence.path.length, T);
    const bad = run('--out', join(dir, 'bad'), '--target-sequence', '1,x');
    equal(bad.status, 2, bad.stderr);
  });
});
