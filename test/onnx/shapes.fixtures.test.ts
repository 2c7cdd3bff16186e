// Static shape inference checked against onnxruntime on every fixture model: every node output
// is exposed as a graph output, the model runs on a batch of 2, and every dim we inferred
// (symbolic ones evaluated with batch = 2) must equal what onnxruntime produced. Folded values
// of shape arithmetic are checked against the run-time values too.
import { deepStrictEqual, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { ModelBuilder, valueInfo } from '../../src/engine/onnx/builder';
import { Graph } from '../../src/engine/onnx/graph';
import { readModelFile, serializeModel } from '../../src/engine/onnx/io';
import { analyseShapes, evaluateDim } from '../../src/engine/onnx/shapes';
import { isKnownShape } from '../../src/engine/onnx/shapes/dims';
import { dataTypeName, isFloatType } from '../../src/engine/onnx/tensor';
import { fixtureModels, fixtures } from '../helpers/fixtures';

const BATCH = 2;
const BINDINGS = { batch: BATCH };

/** Deterministic inputs (a fixed LCG), roughly uniform in [-2, 2). */
function randomInput(count: number, seed = 1234): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

const show = (s: readonly unknown[] | undefined) => (s ? `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : 'unknown');

describe('shape inference on the fixture models (checked against onnxruntime)', () => {
  const models = fixtureModels();
  if (models.length === 0) {
    it('needs the shared fixtures', (t) => {
      fixtures(t);
    });
  }

  for (const m of models) {
    it(m.name, async (t) => {
      if (!fixtures(t)) return;
      const model = readModelFile(m.path);
      const graph = Graph.fromModel(model, m.path);
      const { types, values, ruleErrors } = analyseShapes(graph);
      deepStrictEqual(ruleErrors, [], 'no rule tripped over a fixture node');

      // Coverage: node outputs whose shape is fully static or symbolic (no unknown dim).
      const activations = graph.activations();
      const floats = activations.filter((v) => isFloatType(types.get(v)?.dtype));
      const full = activations.filter((v) => isKnownShape(types.get(v)?.shape));
      const fullFloats = floats.filter((v) => isKnownShape(types.get(v)?.shape));
      const unknown = activations.filter((v) => !isKnownShape(types.get(v)?.shape));
      t.diagnostic(
        `${m.name}: ${fullFloats.length}/${floats.length} float activations and ${full.length}/${activations.length} node outputs fully inferred` +
          (unknown.length
            ? `; unknown: ${unknown
                .slice(0, 5)
                .map((v) => `${v} ${show(types.get(v)?.shape)}`)
                .join(', ')}`
            : ''),
      );
      // Every float activation of these exports is statically inferable (the only symbol is the
      // batch); anything less is a regression. Shape-arithmetic values may in general stay unknown.
      ok(fullFloats.length === floats.length, `${m.name}: only ${fullFloats.length}/${floats.length} float activations inferred`);
      ok(full.length / activations.length >= 0.95, `${m.name}: only ${full.length}/${activations.length} node outputs inferred`);

      // Expose every node output and run.
      const builder = ModelBuilder.extend(model);
      const existing = new Set(graph.outputs);
      for (const v of activations) {
        const dtype = types.get(v)?.dtype ?? 0;
        ok(dtype !== 0, `${m.name}: no element type inferred for ${v}`);
        if (!existing.has(v)) builder.graph.output.push(valueInfo(v, dtype));
      }
      const session = await ort.InferenceSession.create(serializeModel(builder.build()), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
      const mismatches: string[] = [];
      let checkedDims = 0;
      let checkedValues = 0;
      try {
        const inputShape = types.get('input')!.shape!.map((d) => evaluateDim(d, BINDINGS)!);
        const count = inputShape.reduce((a, b) => a * b, 1);
        const results = await session.run({ input: new ort.Tensor('float32', randomInput(count), inputShape) });
        for (const [name, tensor] of Object.entries(results)) {
          const inferred = types.get(name)!;
          if (dataTypeName(inferred.dtype) !== tensor.type) mismatches.push(`${name}: dtype ${dataTypeName(inferred.dtype)}, ORT ${tensor.type}`);
          if (!inferred.shape) continue;
          const actual = tensor.dims.map(Number);
          if (inferred.shape.length !== actual.length) {
            mismatches.push(`${name}: inferred ${show(inferred.shape)}, ORT ${show(actual)}`);
            continue;
          }
          inferred.shape.forEach((d, i) => {
            if (d === null) return;
            const expected = evaluateDim(d, BINDINGS);
            checkedDims++;
            if (expected !== actual[i]) mismatches.push(`${name}: inferred ${show(inferred.shape)}, ORT ${show(actual)}`);
          });
          const folded = values.get(name);
          if (folded) {
            const data = Array.from(tensor.data as ArrayLike<number | bigint | boolean>, Number);
            folded.data.forEach((e, i) => {
              if (e === null) return;
              const want = evaluateDim(e, BINDINGS);
              checkedValues++;
              // INT64 sentinels (slice to the end) are folded clamped to +-(2^53 - 1).
              const sentinel =
                want !== undefined && Math.abs(want) === Number.MAX_SAFE_INTEGER && Math.sign(want) === Math.sign(data[i]) && Math.abs(data[i]) >= want;
              const close = sentinel || (want !== undefined && Math.abs(want - data[i]) <= 1e-6 * Math.max(1, Math.abs(want)));
              if (!close) mismatches.push(`${name}: folded value [${i}] = ${e}, ORT ${data[i]}`);
            });
          }
        }
      } finally {
        await session.release();
      }
      t.diagnostic(`${m.name}: ${checkedDims} dims and ${checkedValues} folded values equal onnxruntime's`);
      deepStrictEqual(mismatches.slice(0, 20), [], `${m.name}: ${mismatches.length} mismatches`);
    });
  }
});
