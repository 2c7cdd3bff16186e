// Score-CAM at its floor (issue 17, item 5): the floor is the masked forwards themselves,
// (channels run) x (plain onnxruntime's time per image at the batch size CamLens chose), with the
// plain session in a process of its own at its best settings (bench/lib/plain-forward.cjs, fed a
// [B, 3, S, S] batch). Target: `camlens explain --method scorecam` (wall time through the worker)
// <= 1.2x the floor. Each repeat measures the plain batch (median of BENCH_PLAIN_RUNS runs) right
// before a Score-CAM explanation; the ratio is the median over repeats of those pairs.
// Then the opt-in approximation (--scorecam-channels N, Faster Score-CAM): for each N of
// BENCH_AGREEMENT (default 32,128,512), its time against the exact run and the Pearson
// correlation of its map with the exact map (final and layer-resolution maps).
// Model: bench/lib/models.mjs (ResNet-50 export by default), layer4, BENCH_SIZE (224).
// Usage: node esbuild.mjs && node bench/scorecam.mjs
// Env: BENCH_REPEATS (11), BENCH_PLAIN_RUNS (3), BENCH_SIZE (224), BENCH_AGREEMENT ('' skips it),
// BENCH_SCORECAM_CHANNELS (time a channel budget instead of every channel: a quick check of
// the ratio, which is per channel), BENCH_MODEL / BENCH_MODEL_PATH / BENCH_LAYER.
// The exact run on ResNet-50 224 takes (2,048 channels x the per-image time): minutes per repeat.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, npyBytes, startWorker } from './lib/client.mjs';
import { benchModel } from './lib/models.mjs';
import { startPlain } from './lib/plain.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const repeats = Number(process.env.BENCH_REPEATS ?? 11);
const plainRuns = Number(process.env.BENCH_PLAIN_RUNS ?? 3);
const size = Number(process.env.BENCH_SIZE ?? 224);
const budget = process.env.BENCH_SCORECAM_CHANNELS ? Number(process.env.BENCH_SCORECAM_CHANNELS) : undefined;
const agreement = (process.env.BENCH_AGREEMENT ?? '32,128,512').split(',').filter(Boolean).map(Number);
const emit = (o) => console.log(JSON.stringify({ bench: 'scorecam', ...o }));
const model = benchModel();
if (model.skipped) {
  emit({ skipped: model.skipped });
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-scorecam-'));
const input = join(dir, 'input.npy');
writeFileSync(input, npyBytes([1, 3, size, size], 7));
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const { call, kill } = startWorker();
const scorecam = async (channels) => {
  const t0 = performance.now();
  const r = await call('explain', {
    modelPath: model.path,
    input,
    method: 'scorecam',
    layers: [model.layer],
    overlay: false,
    provider: { provider: 'cpu' },
    ...(channels ? { scorecamChannels: channels } : {}),
  });
  return { ms: performance.now() - t0, r };
};

try {
  // The first explanation builds the sessions and shows the batch size CamLens chooses.
  const first = await scorecam(budget);
  const batch = Number(first.r.notes.channelBatchSize ?? 32);
  const batchNpy = join(dir, `batch${batch}.npy`);
  writeFileSync(batchNpy, npyBytes([batch, 3, size, size], 11));
  const plain = await startPlain({ model: model.path, npy: batchNpy });
  const plainBatch = async () => {
    const xs = [];
    for (let i = 0; i < plainRuns; i++) xs.push(await plain.run());
    return median(xs);
  };
  const pairs = [];
  let exact = budget ? undefined : first.r;
  for (let i = 0; i < repeats; i++) {
    const perImage = (await plainBatch()) / batch;
    const { ms, r } = await scorecam(budget);
    exact ??= r;
    const masked = Number(r.notes.channelsMasked);
    // The floor: every masked image at plain onnxruntime's per-image time, plus the zero image of constant channels.
    const floor = (masked + (Number(r.notes.channelsSkipped) > 0 ? 1 : 0)) * perImage;
    pairs.push({ ms, floor, perImage, masked, runs: Number(r.notes.channelRuns), runMs: Number(r.notes.channelRunMs), maskMs: Number(r.notes.channelMaskMs) });
  }
  plain.exit();
  const last = pairs[pairs.length - 1];
  if (last)
    emit({
      model: model.name,
      layer: model.layer,
      size,
      repeats,
      plain_settings: plain.ready,
      batch_size: batch,
      channels_masked: last.masked,
      channels_skipped: Number(first.r.notes.channelsSkipped),
      ...(budget ? { scorecam_channels: budget } : {}),
      runs: last.runs,
      plain_ms_per_image: round(median(pairs.map((p) => p.perImage)), 2),
      floor_ms: round(median(pairs.map((p) => p.floor))),
      scorecam_ms: round(median(pairs.map((p) => p.ms))),
      // Inside the worker: the masked runs alone and the building of their inputs.
      channel_runs_ms: round(median(pairs.map((p) => p.runMs))),
      mask_building_ms: round(median(pairs.map((p) => p.maskMs))),
      ratio_to_floor: round(median(pairs.map((p) => p.ms / p.floor)), 3),
      target: '<= 1.2',
    });
  if (agreement.length) {
    // The exact map and its time (sessions are warm: `first` built them).
    const exactRun = budget || !pairs.length ? await scorecam() : { r: exact, ms: median(pairs.map((p) => p.ms)) };
    exact = exactRun.r;
    const exactMs = exactRun.ms;
    for (const n of agreement) {
      const { ms, r } = await scorecam(n);
      emit({
        figure: 'approximate',
        scorecam_channels: n,
        of: Number(exact.notes.channelsMasked) + Number(exact.notes.channelsSkipped),
        ms: round(ms),
        exact_ms: round(exactMs),
        time_ratio_to_exact: round(ms / exactMs, 3),
        pearson_final: round(lib.pearson(r.explanations[0].cam.data, exact.explanations[0].cam.data), 4),
        pearson_layer: round(lib.pearson(r.explanations[0].camRaw.data, exact.explanations[0].camRaw.data), 4),
        note: r.notes.approximate,
      });
    }
  }
} finally {
  await kill();
  rmSync(dir, { recursive: true, force: true });
}
