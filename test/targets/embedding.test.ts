// Similarity to a concept: the cosine similarity of a value to a reference embedding (a .npy
// vector, or the same value for a reference image) against a float64 computation, its gradient at
// the CAM layer against finite differences, and the errors for mismatched or zero embeddings and
// a layer the compared value is not computed from.
import { equal, ok, rejects } from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import { resolveModelConfig } from '../../src/engine/image/config';
import { analyseModel } from '../../src/engine/model';
import { writeNpy } from '../../src/engine/npy';
import { serializeModel } from '../../src/engine/onnx/io';
import { loadModelInput } from '../../src/engine/pipeline/input';
import { readValue } from '../../src/engine/pipeline/targetRun';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { cosineTarget } from '../../src/engine/targets/embedding';
import { directionalCheck } from '../helpers/gradientCheck';
import { randomArray, tinyCnn } from '../helpers/models';

const sessions = new SessionCache();
after(() => sessions.releaseAll());
const ctx = { sessions, provider: { provider: 'cpu' as const } };

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return dot / Math.sqrt(aa * bb);
};

describe('--target-embedding', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlens-embedding-'));
  const proto = tinyCnn();
  const modelPath = join(dir, 'cnn.onnx');
  writeFileSync(modelPath, serializeModel(proto));
  const model = analyseModel(proto, modelPath);
  const LAYER = model.graph.nodes.find((n) => n.name === '/block1/relu/Relu')!.outputs[0];
  const FLAT = model.graph.nodes.find((n) => n.name === '/Flatten')!.outputs[0]; // [N, 16]: the embedding
  const inputPath = join(dir, 'x.npy');
  const x = randomArray(3 * 32 * 32, 61, 1);
  writeNpy(inputPath, x, [1, 3, 32, 32]);
  const refPath = join(dir, 'ref.npy');
  const ref = randomArray(16, 62, 1).map((v) => v + 0.5);
  writeNpy(refPath, ref, [16]);
  const params = { modelPath, input: inputPath, layers: [LAYER], saveTensors: true, overlay: false };

  it('the cosine similarity of an internal value to a .npy vector: its value in float64 and its gradient by finite differences', async () => {
    const r = await explain({ ...params, embedding: refPath, embeddingValue: FLAT }, { sessions });
    const e = r.explanations[0];
    equal(e.target?.reduce, 'cosine');
    equal(e.target?.value, FLAT);
    equal(e.target?.reference, 'ref.npy');
    const v = (await readValue(model, ctx, FLAT, { dtype: 'float32', dims: [1, 3, 32, 32], data: x })).data as Float32Array;
    ok(Math.abs(e.target!.score - cosine(v, ref)) < 1e-6, `${e.target!.score} vs ${cosine(v, ref)}`);
    const act = e.activation!;
    const g = e.gradient!.data as Float32Array;
    // A direction mostly along the gradient: a random one moves the cosine less than float32 resolves.
    const gMax = Math.max(...g.map(Math.abs));
    const noise = randomArray(g.length, 63, 0.2);
    const u = g.map((w, i) => w / gMax + noise[i]);
    const { analytic, fd } = await directionalCheck(model, LAYER, FLAT, act, g, u, 1e-2, (out) => cosine(out, ref));
    ok(Math.abs(analytic) > 1e-3, `non-trivial ${analytic}`);
    ok(Math.abs(analytic - fd) <= 2e-2 * Math.abs(fd), `${analytic} vs ${fd}`);
  });

  it('a reference image: the same value of the same model for that image is the embedding', async () => {
    const image = resolve(__dirname, '../../../demo/images/circle_1.png');
    const r = await explain({ ...params, embedding: image }, { sessions });
    const config = resolveModelConfig(modelPath, proto, undefined, undefined);
    const refInput = await loadModelInput(image, model, config);
    const refLogits = (await readValue(model, ctx, 'logits', { dtype: 'float32', dims: refInput.dims, data: refInput.tensor })).data as Float32Array;
    const logits = (await readValue(model, ctx, 'logits', { dtype: 'float32', dims: [1, 3, 32, 32], data: x })).data as Float32Array;
    ok(Math.abs(r.explanations[0].target!.score - cosine(logits, refLogits)) < 1e-6);
    equal(r.explanations[0].target!.value, 'logits');
  });

  it('the fed cotangent is d cos / d v: central differences of the cosine in float64', () => {
    const v = randomArray(16, 65, 1);
    const { gradient, score } = cosineTarget('v', v, ref, 'ref');
    equal(score, cosine(v, ref));
    const h = 1e-6;
    for (let i = 0; i < 16; i++) {
      const plus = Float64Array.from(v);
      const minus = Float64Array.from(v);
      plus[i] += h;
      minus[i] -= h;
      const fd = (cosine(plus, ref) - cosine(minus, ref)) / (2 * h);
      ok(Math.abs(gradient[i] - fd) < 1e-7, `${i}: ${gradient[i]} vs ${fd}`);
    }
  });

  it('mismatched, zero and unreachable embeddings are errors; the CLI writes the target', async () => {
    const short = join(dir, 'short.npy');
    writeNpy(short, randomArray(5, 64), [5]);
    await rejects(explain({ ...params, embedding: short, embeddingValue: FLAT }, { sessions }), /has 5 elements; .* has 16 per input row/);
    const zero = join(dir, 'zero.npy');
    writeNpy(zero, new Float32Array(16), [16]);
    await rejects(explain({ ...params, embedding: zero, embeddingValue: FLAT }, { sessions }), /zero or not finite/);
    // The value compared is computed before the layer: its gradient there is zero.
    const first = model.graph.nodes.find((n) => n.name === '/block1/conv/Conv')!.outputs[0];
    const late = model.graph.nodes.find((n) => n.name === '/block2/relu/Relu')!.outputs[0];
    const big = join(dir, 'big.npy');
    writeNpy(big, randomArray(8 * 32 * 32, 66), [8 * 32 * 32]);
    await rejects(explain({ ...params, layers: [late], embedding: big, embeddingValue: first }, { sessions }), /Layer ".*" cannot reach/);
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const cli = spawnSync(
      process.execPath,
      [
        bin,
        'explain',
        modelPath,
        inputPath,
        '--out',
        join(dir, 'out'),
        '--target-embedding',
        refPath,
        '--embedding-value',
        FLAT,
        '--layer',
        LAYER,
        '--ep',
        'cpu',
      ],
      { encoding: 'utf8' },
    );
    equal(cli.status, 0, cli.stderr);
    equal(JSON.parse(readFileSync(join(dir, 'out', 'x.json'), 'utf8')).target.reduce, 'cosine');
    ok(cli.stdout.includes('@cosine = '), cli.stdout);
  });
});
