// Score-CAM's channel runs at their floor (issue 17): the batch size chosen by measurement, one
// reused buffer for the masked inputs, and the opt-in channel budget (Faster Score-CAM).
import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { channelsByVariance, scoreCamMaskedInputs, type FeatureMaps } from '../../src/engine/cam';
import { explainParamsFromArgs } from '../../src/cli/commands/explain';
import { explain } from '../../src/engine/explain';
import { BatchSizer, batchCandidates } from '../../src/engine/pipeline/batchSizer';
import { SessionCache } from '../../src/engine/runtime/sessions';

const sessions = new SessionCache();
after(() => sessions.releaseAll());

describe('Score-CAM batch size by measurement', () => {
  it('tries each candidate twice, times the second run, and keeps the fastest per image', () => {
    deepEqual(batchCandidates(32), [4, 8, 16, 32]);
    deepEqual(batchCandidates(3), [3]);
    const sizer = new BatchSizer(32, undefined, 2048);
    // ms per run: a first run of a new size is slow (onnxruntime's one-off cost), then 16 is the fastest per image.
    const perImage: Record<number, number> = { 4: 3, 8: 2.5, 16: 2, 32: 2.2 };
    const sizes: number[] = [];
    for (let left = 2048; left > 0 && sizes.length < 12;) {
      const b = sizer.next(left);
      const first = sizes.filter((s) => s === b).length === 0;
      sizer.record(b, b * perImage[b] + (first ? 100 : 0));
      sizes.push(b);
      left -= b;
    }
    deepEqual(sizes.slice(0, 8), [4, 4, 8, 8, 16, 16, 32, 32]);
    deepEqual(sizes.slice(8), [16, 16, 16, 16]);
    equal(sizer.choice.batchSize, 16);
    deepEqual(sizer.choice.msPerImage, perImage);
  });

  it('uses the batch size the user set, and the largest when the work is too small to try them', () => {
    const fixed = new BatchSizer(32, 8, 2048);
    equal(fixed.next(2048), 8);
    equal(fixed.choice.batchSize, 8);
    const small = new BatchSizer(32, undefined, 100);
    equal(small.next(100), 32);
    equal(small.next(5), 5);
  });
});

describe('Score-CAM masked inputs and channel budget', () => {
  const activations: FeatureMaps = {
    shape: [1, 4, 2, 2],
    // channel 0: constant; 1: small spread; 2: large spread; 3: medium spread
    data: Float32Array.of(1, 1, 1, 1, 0, 0.1, 0, 0.1, 0, 5, 0, 5, 0, 1, 2, 3),
  };

  it('ranks channels by activation variance, largest first', () => {
    deepEqual(channelsByVariance(activations, 0, 4), [2, 3, 1, 0]);
    deepEqual(channelsByVariance(activations, 0, 2), [2, 3]);
  });

  it('builds a batch into a reused buffer exactly as into a fresh one', () => {
    const input = { shape: [1, 3, 4, 4], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) };
    const fresh = scoreCamMaskedInputs(input, activations, 0, [1, 2, 3]);
    const buffer = new Float32Array(4 * 48).fill(7);
    const reused = scoreCamMaskedInputs(input, activations, 0, [1, 2, 3], buffer);
    equal(reused.data.buffer, buffer.buffer);
    deepEqual(reused.data, fresh.data);
    deepEqual(reused.shape, fresh.shape);
  });

  it('--scorecam-channels: a positive count, for Score-CAM only (never silently ignored)', () => {
    equal(explainParamsFromArgs({ method: 'scorecam', 'scorecam-channels': '64' }, 'm.onnx', 'x.png').scorecamChannels, 64);
    throws(
      () => explainParamsFromArgs({ method: 'gradcam', 'scorecam-channels': '64' }, 'm.onnx', 'x.png'),
      /Score-CAM's channel budget; the method is gradcam/,
    );
    throws(() => explainParamsFromArgs({ method: 'scorecam', 'scorecam-channels': '0' }, 'm.onnx', 'x.png'), /--scorecam-channels/);
  });

  it('explains with a channel budget: fewer runs, an approximate map, said so in the notes', async () => {
    const base = { modelPath: 'demo/model.onnx', input: 'demo/images/star_2.png', method: 'scorecam' as const, classIndex: 1 };
    const exact = await explain({ ...base, batchSize: 4 }, { sessions });
    const all = await explain({ ...base, batchSize: 4, scorecamChannels: 100_000 }, { sessions });
    // A budget of every channel is the exact method.
    deepEqual(all.explanations[0].cam.data, exact.explanations[0].cam.data);
    equal(all.notes.approximate, undefined);
    const few = await explain({ ...base, batchSize: 4, scorecamChannels: 4 }, { sessions });
    ok(String(few.notes.approximate).includes('4 of'), String(few.notes.approximate));
    equal(few.notes.scorecamChannels, 4);
    ok(Number(few.notes.channelRuns) <= 2, `${few.notes.channelRuns} runs`);
    ok(Number(few.notes.channelRuns) < Number(exact.notes.channelRuns));
    ok(few.explanations[0].cam.data.every((v) => v >= 0 && v <= 1 + 1e-6));
  });
});
