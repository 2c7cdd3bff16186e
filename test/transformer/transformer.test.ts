import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { explain } from '../../src/engine/explain';
import { suggestCamLayer } from '../../src/engine/layers';
import { analyseModel, loadModel } from '../../src/engine/model';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { findAttentionSoftmax, requireAttention } from '../../src/engine/transformer/attention';
import { discardLowest, fuseHeads, rollout } from '../../src/engine/transformer/rollout';
import { fixtures, loadNpy } from '../helpers/fixtures';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pearson } from '../../src/engine/metrics/stats';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

/** Straightforward full-matrix rollout in float64 (vit-explain's loop, rows normalised by their sums). */
function referenceRollout(layers: { data: Float32Array; heads: number; n: number }[], fusion: 'mean' | 'max' | 'min'): Float64Array {
  const n = layers[0].n;
  let result: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (const l of layers) {
    const a = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => {
        const vals = Array.from({ length: l.heads }, (_, h) => l.data[h * n * n + i * n + j]);
        return fusion === 'mean' ? vals.reduce((s, v) => s + v, 0) / l.heads : fusion === 'max' ? Math.max(...vals) : Math.min(...vals);
      }),
    );
    const m = a.map((row, i) => row.map((v, j) => (v + (i === j ? 1 : 0)) / 2));
    const norm = m.map((row) => {
      const s = row.reduce((x, y) => x + y, 0);
      return row.map((v) => v / s);
    });
    result = norm.map((row) => result[0].map((_, j) => row.reduce((s, v, k) => s + v * result[k][j], 0)));
  }
  return Float64Array.from(result[0]);
}

function randomAttention(heads: number, n: number, seed: number): Float32Array {
  let s = seed;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += out[(h * n + i) * n + j] = Math.exp(3 * r());
      for (let j = 0; j < n; j++) out[(h * n + i) * n + j] /= sum;
    }
  return out;
}

/** One self-attention block over tokens [1, 5, 4] (class token + 2x2 patches), plus a classifier softmax. */
function tinyAttentionModel(withAttention = true) {
  const b = ModelBuilder.create(17);
  const x = b.input('tokens', DataType.FLOAT, [1, 5, 4]);
  const w = (name: string, seed: number) =>
    b.floats(
      name,
      [4, 4],
      Float32Array.from({ length: 16 }, (_, i) => Math.sin(i * seed)),
    );
  const ln = b.op(
    'LayerNormalization',
    [x, b.floats('g', [4], new Float32Array(4).fill(1)), b.floats('bb', [4], new Float32Array(4))],
    { axis: -1 },
    { name: '/blk/ln_1' },
  );
  const q = b.op('MatMul', [ln, w('wq', 1)]);
  const k = b.op('MatMul', [ln, w('wk', 2)]);
  const v = b.op('MatMul', [ln, w('wv', 3)]);
  let mixed = v;
  if (withAttention) {
    const scores = b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 2, 1] })]);
    const p = b.op('Softmax', [scores], { axis: -1 }, { name: '/blk/attn/Softmax' });
    mixed = b.op('MatMul', [b.op('Dropout', [p]), v]);
  } else {
    b.op('Softmax', [q], { axis: 1 }, { name: '/blk/gate/Softmax' }); // over tokens: not attention
  }
  const pooled = b.op('ReduceMean', [mixed], { axes: [1], keepdims: 0 });
  b.op('Softmax', [pooled], { axis: -1 }, { name: '/head/Softmax', outputs: ['probs'] });
  b.output('probs', DataType.FLOAT, [1, 4]);
  return analyseModel(b.build(), withAttention ? 'tiny-attention' : 'tiny-no-attention');
}

describe('transformer: attention discovery', () => {
  it('finds the Softmax feeding P·V (through Dropout) and reports the others as considered', () => {
    const m = tinyAttentionModel();
    const d = findAttentionSoftmax(m);
    deepEqual(
      d.attention.map((a) => a.node),
      ['/blk/attn/Softmax'],
    );
    ok(d.considered.some((c) => c.node === '/head/Softmax' && /rank 2/.test(c.reason)));
    const s = suggestCamLayer(m)!;
    equal(m.graph.producerOf(s.value)!.name, '/blk/ln_1');
    equal(s.kind, 'tokens');
  });

  it('fails with an error naming every Softmax considered when no attention is found', () => {
    const m = tinyAttentionModel(false);
    throws(
      () => requireAttention(m),
      (e: unknown) =>
        e instanceof CamLensError &&
        /No attention probabilities found/.test(e.message) &&
        /"\/blk\/gate\/Softmax" \(softmax over axis 1/.test(e.message) &&
        /"\/head\/Softmax"/.test(e.message),
    );
  });
});

describe('transformer: rollout', () => {
  it('matches a full-matrix reference for mean, max and min head fusion', () => {
    const n = 5,
      heads = 3;
    const layers = [1, 2, 3].map((s) => ({ data: randomAttention(heads, n, s), heads, n }));
    for (const fusion of ['mean', 'max', 'min'] as const) {
      const r = rollout(
        layers.map((l) => ({ data: l.data, shape: [1, heads, n, n] })),
        { headFusion: fusion },
      );
      const ref = referenceRollout(layers, fusion);
      deepEqual(r.grid, { extraTokens: 1, h: 2, w: 2 });
      for (let j = 0; j < n; j++) ok(Math.abs(r.row[j] - ref[j]) < 1e-6, `${fusion} token ${j}: ${r.row[j]} vs ${ref[j]}`);
      equal(Math.max(...r.map), 1);
    }
    // [B·heads, N, N] layout gives the same answer.
    const flat = rollout(
      layers.map((l) => ({ data: l.data, shape: [heads, n, n] })),
      { heads },
    );
    const four = rollout(layers.map((l) => ({ data: l.data, shape: [1, heads, n, n] })));
    deepEqual(Array.from(flat.map), Array.from(four.map));
  });

  it('identity attention keeps the class token on itself; uniform attention spreads evenly', () => {
    const n = 5;
    const eye = new Float32Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 1 : 0));
    const r = rollout([{ data: eye, shape: [1, 1, n, n] }]);
    equal(r.row[0], 1);
    deepEqual(Array.from(r.map), [0, 0, 0, 0]);
    const uni = rollout([{ data: new Float32Array(n * n).fill(1 / n), shape: [1, 1, n, n] }]);
    deepEqual(Array.from(uni.map), [1, 1, 1, 1]);
  });

  it('discards the lowest fraction but never flat index 0; fuses heads', () => {
    const a = Float64Array.of(0.01, 0.5, 0.2, 0.02, 0.3, 0.9);
    discardLowest(a, 0.5);
    deepEqual(Array.from(a), [0.01, 0.5, 0, 0, 0.3, 0.9]);
    throws(() => discardLowest(a, 1), /discard ratio/);
    const t = { data: Float32Array.of(1, 2, 3, 4, 5, 0, 7, 1), shape: [1, 2, 2, 2] };
    deepEqual(Array.from(fuseHeads(t, 'max')), [5, 2, 7, 4]);
    deepEqual(Array.from(fuseHeads(t, 'min')), [1, 0, 3, 1]);
    deepEqual(Array.from(fuseHeads(t, 'mean')), [3, 1, 5, 2.5]);
    throws(
      () =>
        rollout([
          { data: new Float32Array(16), shape: [1, 1, 4, 4] },
          { data: new Float32Array(25), shape: [1, 1, 5, 5] },
        ]),
      /disagree on the token count/,
    );
  });
});

describe('transformer: vit_tiny fixture', () => {
  it('suggests encoder_layer_3/ln_1 and finds the 4 attention Softmax nodes', (t) => {
    const root = fixtures(t);
    if (!root) return;
    const m = loadModel(join(root, 'models/vit_tiny.onnx'));
    equal(suggestCamLayer(m)!.value, '/encoder/layers/encoder_layer_3/ln_1/LayerNormalization_output_0');
    const att = requireAttention(m);
    equal(att.length, 4);
    ok(
      att.every((a, i) => a.node.includes(`encoder_layer_${i}/`)),
      att.map((a) => a.node).join(', '),
    );
  });

  it('gradcam on the suggested layer matches pytorch-grad-cam; rollout and attention-gradcam end to end', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const ref = join(root, 'refs/vit_tiny_block3_ln1_224');
    const modelPath = join(root, 'models/vit_tiny.onnx');
    const input = join(ref, 'input.npy');
    const g = await explain({ modelPath, input, classIndex: 3, saveTensors: true }, { sessions });
    const lowres = loadNpy(join(ref, 'cam_GradCAM_lowres.npy'));
    const c = pearson(
      g.explanations[0].camRaw.data,
      lowres.data.map((v) => Math.max(v, 0)),
    ); // reference lowres is before ReLU
    ok(c >= 0.999, `gradcam raw correlation ${c}`);
    const cf = pearson(g.explanations[0].cam.data, loadNpy(join(ref, 'cam_GradCAM.npy')).data);
    ok(cf >= 0.99, `gradcam final correlation ${cf}`);
    t.diagnostic(`vit_tiny gradcam vs pytorch-grad-cam: raw r = ${c.toFixed(6)}, final r = ${cf.toFixed(6)}`);

    const r = await explain({ modelPath, input, method: 'attention-rollout' }, { sessions });
    equal(r.method, 'attention-rollout');
    equal(r.layers.length, 4);
    equal(r.explanations[0].classIndex, r.predictions[0].index);
    equal(r.explanations[0].camRaw.width, 14);
    // Independent reference from the tapped attention probabilities.
    const { runWithTaps } = await import('../../src/engine/runtime/tapRunner');
    const m = loadModel(modelPath);
    const npy = loadNpy(input);
    const taps = await runWithTaps(
      m,
      sessions,
      { [m.graph.inputs[0]]: { dtype: 'float32', dims: npy.shape, data: npy.data } },
      { taps: r.layers, stats: false },
    );
    const layers = r.layers.map((v) => {
      const tt = taps.taps.find((x) => x.value === v)!.tensor!;
      const heads = tt.dims.length === 4 ? tt.dims[1] : tt.dims[0];
      return { data: tt.data as Float32Array, heads, n: tt.dims[tt.dims.length - 1] };
    });
    equal(layers[0].n, 197);
    equal(layers[0].heads, 3);
    const refRow = referenceRollout(layers, 'mean').slice(1);
    const rc = pearson(r.explanations[0].camRaw.data, refRow);
    ok(rc >= 0.999, `rollout correlation ${rc}`);
    t.diagnostic(`vit_tiny rollout vs full-matrix float64 reference: r = ${rc.toFixed(8)}`);
    ok(r.explanations[0].cam.data.every((v) => v >= 0 && v <= 1 + 1e-6));

    const ag = await explain({ modelPath, input, method: 'attention-gradcam', classIndex: 3, headFusion: 'max', discardRatio: 0.9 }, { sessions });
    equal(ag.notes.headFusion, 'max');
    const prod = ag.explanations[0].cam.data;
    ok(prod.every((v) => v >= 0 && v <= 1 + 1e-6));
    ok(Math.max(...prod) > 0.99);
    await rejects(explain({ modelPath, input, method: 'attention-rollout', scales: [1, 0.5] }, { sessions }), /Multi-scale fusion is not available/);
  });

  it('swin_mini: gradcam on the NHWC norm output matches pytorch-grad-cam', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const ref = join(root, 'refs/swin_mini_norm_224');
    const r = await explain(
      { modelPath: join(root, 'models/swin_mini.onnx'), input: join(ref, 'input.npy'), classIndex: 8, layers: ['/norm/LayerNormalization_output_0'] },
      { sessions },
    );
    const lowres = loadNpy(join(ref, 'cam_GradCAM_lowres.npy'));
    equal(r.explanations[0].camRaw.width, 14);
    const c = pearson(
      r.explanations[0].camRaw.data,
      lowres.data.map((v) => Math.max(v, 0)),
    );
    ok(c >= 0.999, `swin gradcam raw correlation ${c}`);
    const fin = loadNpy(join(ref, 'cam_GradCAM.npy'));
    const cf = pearson(r.explanations[0].cam.data, fin.data);
    ok(cf >= 0.99, `swin gradcam final correlation ${cf}`);
    t.diagnostic(`swin_mini gradcam vs pytorch-grad-cam: raw r = ${c.toFixed(6)}, final r = ${cf.toFixed(6)}`);
  });

  it('swin_mini: windowed attention has no class token, so rollout says why', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const modelPath = join(root, 'models/swin_mini.onnx');
    await rejects(
      explain({ modelPath, input: join(root, 'refs/swin_mini_norm_224/input.npy'), method: 'attention-rollout' }, { sessions }),
      (e: unknown) => e instanceof CamLensError && /class token|token count/.test(e.message),
    );
  });
});

describe('transformer: camlens explain', () => {
  it('--method attention-rollout --head-fusion max --discard-ratio 0.5; bad option values are usage errors', async (t) => {
    const root = fixtures(t);
    if (!root) return;
    const out = mkdtempSync(join(tmpdir(), 'camlens-vit-'));
    const model = join(root, 'models/vit_tiny.onnx');
    const input = join(root, 'refs/vit_tiny_block3_ln1_224/input.npy');
    const bin = resolve(__dirname, '../../../bin/camlens.js');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'explain', model, input, '--method', 'attention-rollout', ...args, '--out', out], { encoding: 'utf8' });
    const r = cli('--head-fusion', 'max', '--discard-ratio', '0.5');
    equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(out, 'input.json'), 'utf8'));
    equal(json.method, 'attention-rollout');
    equal(json.notes.headFusion, 'max');
    equal(json.notes.discardRatio, 0.5);
    deepEqual(loadNpy(join(out, 'input.cam_raw.npy')).shape, [14, 14]);
    const bad = cli('--head-fusion', 'median');
    ok(bad.status !== 0 && /--head-fusion/.test(bad.stderr), bad.stderr);
    const bad2 = cli('--discard-ratio', '1');
    ok(bad2.status !== 0 && /--discard-ratio/.test(bad2.stderr), bad2.stderr);
  });
});
