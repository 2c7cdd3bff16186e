// Gradients on the shared fixture models against PyTorch's (refs/<case>/gradient.npy), and a
// NaN/Inf check for random inputs.
import { ok } from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildGradientGraph } from '../../src/engine/autodiff';
import { DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { readModelFile, serializeModel } from '../../src/engine/onnx/io';
import type { ModelProto } from '../../src/engine/onnx/types';
import { FIXTURES_DIR, fixtures, loadNpy } from '../helpers/fixtures';

interface RefIndex {
  onnx_model: string;
  onnx_mapping: { tensor: string };
  target_classes: number[];
}

const cases = FIXTURES_DIR && existsSync(join(FIXTURES_DIR, 'refs')) ? readdirSync(join(FIXTURES_DIR, 'refs')).sort() : [];

/**
 * A copy of the model in which every consumer of `tensor` reads `tensor + delta` instead, with
 * `delta` a new input: feeding delta = (PyTorch activation − ORT activation) runs the rest of the
 * network from PyTorch's activation, which separates the gradient computation from forward noise.
 */
function withDelta(model: ModelProto, tensor: string, shape: number[]): { model: ModelProto; shifted: string } {
  const b = ModelBuilder.extend(model);
  b.input('camlens_delta', DataType.FLOAT, shape);
  const shifted = b.op('Add', [tensor, 'camlens_delta']);
  b.graph.node = b.graph.node.map((n) =>
    n.input.includes(tensor) && n.output[0] !== shifted ? { ...n, input: n.input.map((i) => (i === tensor ? shifted : i)) } : n,
  );
  if (b.graph.output.some((o) => o.name === tensor)) throw new Error('tensor is a graph output');
  return { model: b.build(), shifted };
}

async function gradientFor(modelPath: string, tensor: string, input: Float32Array, inputShape: number[], classes: number[], reference?: Float32Array) {
  let model = readModelFile(modelPath);
  const inputName = model.graph!.input[0].name!;
  const output = model.graph!.output[0].name!;
  const baseNodes = model.graph!.node.length;
  const feeds: Record<string, ort.Tensor> = { [inputName]: new ort.Tensor('float32', input, inputShape) };
  let wrt = tensor;
  if (reference) {
    const probe = ModelBuilder.extend(model);
    probe.output(tensor, DataType.FLOAT);
    const s = await ort.InferenceSession.create(serializeModel(probe.build()), { intraOpNumThreads: 2 });
    const t = (await s.run(feeds))[tensor];
    await s.release();
    const ortValues = t.data as Float32Array;
    const delta = Float32Array.from(reference, (v, i) => v - ortValues[i]);
    const shifted = withDelta(model, tensor, [...t.dims]);
    model = shifted.model;
    wrt = shifted.shifted;
    feeds.camlens_delta = new ort.Tensor('float32', delta, [...t.dims]);
  }
  const built = Date.now();
  const grad = buildGradientGraph(model, { target: output, wrt: [wrt] });
  const buildMs = Date.now() - built;
  const session = await ort.InferenceSession.create(serializeModel(grad.model), {
    intraOpNumThreads: 2,
    graphOptimizationLevel: (process.env.CAMLENS_ORT_OPT as 'all' | undefined) ?? 'all',
  });
  try {
    const n = inputShape[0];
    const dims = model.graph!.output[0].type?.tensorType?.shape?.dim ?? [];
    const k = Number(dims[1]?.dimValue ?? 0);
    ok(k > 0, 'logit count is declared');
    const onehot = new Float32Array(n * k);
    classes.forEach((c, i) => {
      onehot[i * k + c] = 1;
    });
    feeds[grad.cotangent] = new ort.Tensor('float32', onehot, [n, k]);
    const out = await session.run(feeds);
    return { gradient: out[grad.gradients[wrt]], buildMs, nodes: grad.model.graph!.node.length - baseNodes };
  } finally {
    await session.release();
  }
}

function compare(ours: Float32Array, ref: Float32Array): { maxDiff: number; maxRef: number; rel: number } {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ours.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return { maxDiff, maxRef, rel: maxDiff / maxRef };
}

/**
 * Cases where onnxruntime's forward pass differs from PyTorch's enough (README: 9.7e-5 at the
 * layer for mobilenet_v2, BatchNorm folded into the Conv weights) that some ReLU6 inputs within
 * ~1e-4 of 0 fall on the other side of the kink: the masks differ, so the gradients do too, by
 * ~1e-2 relative. Run from PyTorch's own activation, the same backward graph matches to <1e-6
 * (asserted for every case below); from input.npy the figure is reported, not asserted, here.
 */
const FORWARD_KINK_FLIPS = new Set(['mobilenet_v2_features14_224']);

describe('autodiff: fixture models match PyTorch gradients', () => {
  if (cases.length === 0) {
    it('fixture reference gradients', (t) => {
      fixtures(t);
    });
    return;
  }
  for (const name of cases) {
    it(name, async (t) => {
      const dir = fixtures(t);
      if (!dir) return;
      const caseDir = join(dir, 'refs', name);
      const index = JSON.parse(readFileSync(join(caseDir, 'index.json'), 'utf8')) as RefIndex;
      const ref = loadNpy(join(caseDir, 'gradient.npy'));
      const input = loadNpy(join(caseDir, 'input.npy'));
      // shapes cases store the gradient of images 0-3 only; each image is independent (eval mode)
      const n = ref.shape[0];
      const per = input.data.length / input.shape[0];
      const x = input.data.slice(0, n * per);
      const classes = index.target_classes.slice(0, n);
      const shape = [n, ...input.shape.slice(1)];
      const { gradient, buildMs, nodes } = await gradientFor(join(dir, index.onnx_model), index.onnx_mapping.tensor, x, shape, classes);
      ok(JSON.stringify([...gradient.dims]) === JSON.stringify(ref.shape), `gradient shape [${gradient.dims}] vs reference [${ref.shape}]`);
      const direct = compare(gradient.data as Float32Array, ref.data);
      const act = loadNpy(join(caseDir, 'activation.npy'));
      const fromAct = compare(
        (await gradientFor(join(dir, index.onnx_model), index.onnx_mapping.tensor, x, shape, classes, act.data)).gradient.data as Float32Array,
        ref.data,
      );
      t.diagnostic(
        `${name}: from input.npy max|ours-ref| = ${direct.maxDiff.toExponential(3)}, max|ref| = ${direct.maxRef.toExponential(3)}, ratio ${direct.rel.toExponential(3)} (limit 1e-4); from PyTorch's activation ratio ${fromAct.rel.toExponential(3)}; backward ${nodes} nodes, built in ${buildMs} ms`,
      );
      ok(fromAct.rel <= 1e-4, `${name} (from PyTorch's activation): ratio ${fromAct.rel.toExponential(3)} > 1e-4`);
      if (FORWARD_KINK_FLIPS.has(name)) {
        t.diagnostic(`${name}: known forward-noise kink flips (see FORWARD_KINK_FLIPS); the input.npy ratio is reported, not asserted`);
      } else {
        ok(direct.rel <= 1e-4, `${name}: max|ours-ref| / max|ref| = ${direct.rel.toExponential(3)} > 1e-4`);
      }
    });
  }
});

describe('autodiff: fixture gradients are finite for random inputs', () => {
  it('no NaN/Inf', async (t) => {
    const dir = fixtures(t);
    if (!dir) return;
    const seen = new Set<string>();
    for (const name of cases) {
      const index = JSON.parse(readFileSync(join(dir, 'refs', name, 'index.json'), 'utf8')) as RefIndex;
      if (seen.has(index.onnx_model)) continue;
      seen.add(index.onnx_model);
      const input = loadNpy(join(dir, 'refs', name, 'input.npy'));
      const shape = [2, ...input.shape.slice(1)];
      let s = 12345;
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
        s = (s * 1103515245 + 12345) >>> 0;
        return (s / 2 ** 32 - 0.5) * 6;
      });
      const { gradient } = await gradientFor(join(dir, index.onnx_model), index.onnx_mapping.tensor, x, shape, [1, 2]);
      const data = gradient.data as Float32Array;
      const bad = data.findIndex((v) => !Number.isFinite(v));
      let max = 0;
      for (const v of data) max = Math.max(max, Math.abs(v));
      t.diagnostic(`${index.onnx_model}: ${data.length} gradient values finite, max |g| = ${max.toExponential(3)}`);
      ok(bad < 0, `${index.onnx_model}: non-finite gradient value at ${bad}`);
    }
  });
});

describe('autodiff: gradient with respect to the model input (whole network)', () => {
  it('resnet18: d score / d input matches PyTorch (input_grad.npy)', async (t) => {
    const dir = fixtures(t);
    if (!dir) return;
    const caseDir = join(dir, 'refs', 'resnet18_layer4_224');
    if (!existsSync(join(caseDir, 'input_grad.npy'))) {
      t.skip('input_grad.npy not in this fixture set');
      return;
    }
    const index = JSON.parse(readFileSync(join(caseDir, 'index.json'), 'utf8')) as RefIndex;
    const input = loadNpy(join(caseDir, 'input.npy'));
    const ref = loadNpy(join(caseDir, 'input_grad.npy'));
    const model = readModelFile(join(dir, index.onnx_model));
    const { gradient, nodes } = await gradientFor(join(dir, index.onnx_model), model.graph!.input[0].name!, input.data, input.shape, index.target_classes);
    const ours = gradient.data as Float32Array;
    const c = compare(ours, ref.data);
    // Through 17 ReLUs and a MaxPool from the input, a few pre-activations (or window maxima)
    // lie within onnxruntime's forward noise of a kink, so one ~7x7 patch can differ (observed:
    // 107 of 150528 values, all in one patch at rows 169-177, columns 0-3). Everything else must
    // match to 1e-4 of max|ref|.
    let off = 0;
    for (let i = 0; i < ours.length; i++) if (Math.abs(ours[i] - ref.data[i]) > 1e-4 * c.maxRef) off++;
    t.diagnostic(
      `resnet18 input gradient: max|ours-ref| = ${c.maxDiff.toExponential(3)}, max|ref| = ${c.maxRef.toExponential(3)}, ratio ${c.rel.toExponential(3)}; ${off} of ${ours.length} values off by more than 1e-4·max|ref|; backward ${nodes} nodes`,
    );
    ok(off <= ours.length * 1e-3, `${off} values differ by more than 1e-4·max|ref|`);
  });

  it('every fixture model: input gradients exist and are finite for random inputs', async (t) => {
    const dir = fixtures(t);
    if (!dir) return;
    const seen = new Set<string>();
    for (const name of cases) {
      const index = JSON.parse(readFileSync(join(dir, 'refs', name, 'index.json'), 'utf8')) as RefIndex;
      if (seen.has(index.onnx_model)) continue;
      seen.add(index.onnx_model);
      const model = readModelFile(join(dir, index.onnx_model));
      const inputName = model.graph!.input[0].name!;
      const dims = model.graph!.input[0].type!.tensorType!.shape!.dim.map((d) => Number(d.dimValue ?? 0));
      const shape = [2, ...dims.slice(1)];
      let s = 99;
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
        s = (s * 1103515245 + 12345) >>> 0;
        return (s / 2 ** 32 - 0.5) * 4;
      });
      const { gradient, nodes } = await gradientFor(join(dir, index.onnx_model), inputName, x, shape, [0, 1]);
      const data = gradient.data as Float32Array;
      let max = 0;
      let bad = 0;
      for (const v of data) {
        if (!Number.isFinite(v)) bad++;
        else max = Math.max(max, Math.abs(v));
      }
      t.diagnostic(`${index.onnx_model}: input gradient ${data.length} values, max |g| = ${max.toExponential(3)}, ${nodes} backward nodes`);
      ok(bad === 0 && max > 0, `${index.onnx_model}: ${bad} non-finite values, max ${max}`);
    }
  });
});
