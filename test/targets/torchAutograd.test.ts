// Issue 16, "How it is checked": Grad-CAM for a scalar target at a value equals torch autograd's
// for the same model, input and element. test/fixtures/yolo-autograd (scripts/refs/yolo_autograd.py)
// holds a small YOLOv8-like detector written in PyTorch (C2f, SPPF, FPN/PAN neck, decoupled head
// with DFL, output [1, 8, 189]) exported to ONNX, and the raw Grad-CAM maps torch autograd gives at
// a neck layer for: one output element, the largest, the sum, one element of an internal neck
// value, and the top detection's class score (--box 0).
import { deepEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { explain } from '../../src/engine/explain';
import type { ExplainParams } from '../../src/engine/explainTypes';
import { pearson } from '../../src/engine/metrics/stats';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { parseTargetSpec } from '../../src/engine/targets/spec';
import { loadNpy } from '../helpers/fixtures';

const DIR = 'test/fixtures/yolo-autograd';
interface Case {
  value: string;
  index: number[];
  score: number;
  map: string;
}
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as {
  layer: string;
  cases: Record<'element' | 'max' | 'sum' | 'internal' | 'box0', Case>;
  box0: { class: number; anchor: number; score: number };
};

const sessions = new SessionCache();
after(() => sessions.releaseAll());

const run = (extra: Partial<ExplainParams>) =>
  explain({ modelPath: join(DIR, 'model.onnx'), input: join(DIR, 'input.npy'), layers: [index.layer], overlay: false, ...extra }, { sessions });

/** The raw map (layer resolution, after ReLU, before normalisation) against torch's: shape, Pearson, values. */
function checkRawMap(raw: { data: Float32Array; width: number; height: number }, c: Case): void {
  const ref = loadNpy(join(DIR, c.map));
  deepEqual([raw.height, raw.width], ref.shape);
  const p = pearson(raw.data, ref.data);
  ok(p >= 0.999, `Pearson ${p}`);
  let peak = 0;
  for (const v of ref.data) peak = Math.max(peak, v);
  ok(peak > 0, 'the reference map is not all zero');
  for (let i = 0; i < ref.data.length; i++) ok(Math.abs(raw.data[i] - ref.data[i]) <= 1e-4 * peak, `pixel ${i}: ${raw.data[i]} against torch ${ref.data[i]}`);
}

const spec = (c: Case, what: string) => parseTargetSpec(`${c.value}@${what}`);

describe('Grad-CAM at a scalar target equals torch autograd (YOLOv8-like, neck P3)', () => {
  const elementCases = [
    ['one element of the output (--target output0@0,5,40)', index.cases.element],
    ['one element of an internal neck value (the PAN P4 output)', index.cases.internal],
  ] as const;
  for (const [title, c] of elementCases) {
    it(title, async () => {
      const e = (await run({ target: spec(c, c.index.join(',')) })).explanations[0];
      deepEqual(e.target?.index, c.index);
      ok(Math.abs(e.target!.score - c.score) < 1e-4, `score ${e.target!.score} against ${c.score}`);
      checkRawMap(e.camRaw, c);
    });
  }

  it('the largest element of the output (--target output0@max)', async () => {
    const c = index.cases.max;
    const e = (await run({ target: spec(c, 'max') })).explanations[0];
    deepEqual(e.target?.index, c.index);
    ok(Math.abs(e.target!.score - c.score) < 1e-5 * Math.abs(c.score), `score ${e.target!.score} against ${c.score}`);
    checkRawMap(e.camRaw, c);
  });

  it('the sum of the output (--target output0@sum)', async () => {
    const c = index.cases.sum;
    const e = (await run({ target: spec(c, 'sum') })).explanations[0];
    equal(e.target?.reduce, 'sum');
    ok(Math.abs(e.target!.score - c.score) < 1e-4 * Math.abs(c.score), `score ${e.target!.score} against ${c.score}`);
    checkRawMap(e.camRaw, c);
  });

  it('the top detection (--box 0): the class score at its anchor CamLens decodes, NMS keeps and torch picks', async () => {
    const c = index.cases.box0;
    const r = await run({ box: 0 });
    const d = r.detections![0];
    equal(d.class, index.box0.class);
    equal(d.anchor, index.box0.anchor);
    const e = r.explanations[0];
    deepEqual(e.target?.index, c.index);
    ok(Math.abs(e.target!.score - c.score) < 1e-5, `score ${e.target!.score} against ${c.score}`);
    checkRawMap(e.camRaw, c);
  });
});
