// Every method's cost on one real model (issue 20's figure): ms and onnxruntime runs per
// explanation, each against Grad-CAM's, for the table against pytorch-grad-cam
// (scripts/refs/pgc_method_times.py; bench/methods-vs-pgc.mjs joins the two).
// The model is bench/lib/models.mjs's (ResNet-50 by default, BENCH_MODEL=resnet18 for the fixtures'
// one), its last block's output as the layer (RefineCAM: the stage before's too, as the pgc script
// gives it layer3 and layer4), a fixed class, one 224² NCHW .npy input, one worker for all methods.
// Each method's request is what `camlens explain --method M --layer L --class K` asks, less the
// overlay PNG (as the panel asks): the CLI's per-method defaults, unless an override below is set;
// a line whose settings differ from the CLI's says so (`settings`, `cli_defaults: false`).
// Methods are timed round-robin (the machine drifts; one method's samples are spread over the run),
// BENCH_SETTLE_MS apart, after one warm-up each (BENCH_WARMUP=0: none but Grad-CAM's, for the slow
// methods). Interleaving swaps sessions (the worker keeps one gradient session per model: Grad-CAM's
// and ShapleyCAM's differ), so a timed explanation that waited for a session build is run again at
// once and only the warm one kept, while it took under BENCH_RERUN_BELOW_MS; a longer one (Score-CAM,
// RISE...) is kept with its session time taken off and counted in `cold_samples`.
// One line per method: median wall ms through the worker (IPC included), the worker's timings_ms
// medians, model runs and the rows they carried (notes.modelRuns / modelRunRows), and the median of
// the per-round ratios to Grad-CAM's wall time; then a summary line with ShapleyCAM / Grad-CAM.
// Usage: node esbuild.mjs && node bench/methods.mjs > methods.jsonl
// Env: BENCH_METHODS (comma list; default every registry method and every attribution method;
// gradcam is always added for the ratios), BENCH_REPEATS (5), BENCH_CLASS (1), BENCH_SETTLE_MS
// (300), BENCH_WARMUP (1), BENCH_RERUN_BELOW_MS (10000), BENCH_INPUT (/tmp/camlens-methods-input.npy: written with
// seeded values in [-1, 1) when absent; the pgc script reads the same file), BENCH_MODEL,
// BENCH_MODEL_PATH, BENCH_LAYER. Setting overrides (each a CLI flag of the methods it applies to):
// BENCH_SCORECAM_CHANNELS, BENCH_BATCH_SIZE, BENCH_IG_STEPS, BENCH_NOISE_SAMPLES, BENCH_RISE_MASKS,
// BENCH_OCCLUSION_WINDOW, BENCH_OCCLUSION_STRIDE.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, npyBytes, startWorker } from './lib/client.mjs';
import { benchModel } from './lib/models.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const emit = (o) => console.log(JSON.stringify({ bench: 'methods', ...o }));
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const classIndex = Number(process.env.BENCH_CLASS ?? 1);
const settle = Number(process.env.BENCH_SETTLE_MS ?? 300);
const warmup = process.env.BENCH_WARMUP !== '0';
const rerunBelow = Number(process.env.BENCH_RERUN_BELOW_MS ?? 10000);
const inputPath = process.env.BENCH_INPUT ?? '/tmp/camlens-methods-input.npy';

const inputSpace = (id) => id in lib.INPUT_SPACE_INFO;
const allMethods = [...Object.keys(lib.LAYER_CAMS), ...Object.keys(lib.INPUT_SPACE_INFO)];
const applies =
  (...methods) =>
  (m) =>
    methods.includes(m);
// env → the CLI flag it sets, for the methods that take that flag.
const OVERRIDES = [
  ['BENCH_SCORECAM_CHANNELS', 'scorecam-channels', applies('scorecam')],
  ['BENCH_BATCH_SIZE', 'batch-size', (m) => inputSpace(m) || lib.LAYER_CAMS[m]?.channelRuns !== 'none'],
  ['BENCH_IG_STEPS', 'ig-steps', applies('integrated-gradients')],
  ['BENCH_NOISE_SAMPLES', 'noise-samples', applies('smoothgrad', 'vargrad')],
  ['BENCH_RISE_MASKS', 'masks', applies('rise')],
  ['BENCH_OCCLUSION_WINDOW', 'window', applies('occlusion')],
  ['BENCH_OCCLUSION_STRIDE', 'stride', applies('occlusion')],
];

const model = benchModel();
if (model.skipped) {
  emit({ skipped: model.skipped });
  process.exit(0);
}
const wanted = process.env.BENCH_METHODS ? process.env.BENCH_METHODS.split(',').map((s) => s.trim()) : allMethods;
const unknown = wanted.filter((m) => !allMethods.includes(m));
if (unknown.length) {
  console.error(`BENCH_METHODS: unknown ${unknown.join(', ')}; known: ${allMethods.join(', ')}`);
  process.exit(2);
}
const methods = [...new Set(['gradcam', ...wanted])];
if (!existsSync(inputPath)) {
  mkdirSync(dirname(inputPath), { recursive: true });
  writeFileSync(inputPath, npyBytes([1, 3, 224, 224], 7));
}

/** The flags `camlens explain` would get for `method`, and those of them that are not the CLI's defaults. */
function flagsOf(method) {
  const info = lib.LAYER_CAMS[method];
  // FullGrad takes every bias and input-space methods the input: a --layer would only be ignored (with a warning).
  const layer = inputSpace(method) || info.layers === 'biases' ? [] : info.layers === 'several' ? [model.earlierLayer, model.layer] : [model.layer];
  const settings = Object.fromEntries(
    OVERRIDES.filter(([env, , on]) => process.env[env] !== undefined && on(method)).map(([env, flag]) => [flag, process.env[env]]),
  );
  return { values: { method, class: String(classIndex), ep: 'cpu', ...(layer.length ? { layer } : {}), ...settings }, settings };
}

const plan = methods.map((method) => {
  const { values, settings } = flagsOf(method);
  const params = { ...lib.explainParamsFromArgs(values, model.path, inputPath), overlay: false, pictures: false };
  return { method, params, settings, samples: [], cold: 0, reruns: 0, last: undefined, failed: undefined };
});

const { call, kill } = startWorker();
const explainOnce = async (p) => {
  const t0 = performance.now();
  const r = await call('explain', p.params);
  return { wall: performance.now() - t0, r };
};
try {
  for (const p of plan) {
    try {
      // Without the warm-up (BENCH_WARMUP=0, for the slow methods) the first round builds the sessions: see the re-run rule.
      if (warmup || p.method === 'gradcam') await explainOnce(p);
    } catch (e) {
      p.failed = String(e?.message ?? e);
      emit({ method: p.method, error: p.failed });
    }
  }
  const live = plan.filter((p) => !p.failed);
  for (let i = 0; i < repeats; i++) {
    for (const p of live) {
      let s = await explainOnce(p);
      for (let tries = 0; s.r.timings_ms.session > 0 && s.wall < rerunBelow && tries < 2; tries++) {
        p.reruns++;
        s = await explainOnce(p);
      }
      if (s.r.timings_ms.session > 0) p.cold++;
      p.samples.push({ ms: s.wall - s.r.timings_ms.session, timings: s.r.timings_ms });
      p.last = s.r;
      await sleep(settle);
    }
  }
  const grad = live.find((p) => p.method === 'gradcam');
  const round = (v, d = 10) => Math.round(v * d) / d;
  const ratioToGradcam = (p) => (grad?.samples.length ? round(median(p.samples.map((s, i) => s.ms / grad.samples[i].ms)), 1000) : undefined);
  for (const p of live) {
    const info = lib.LAYER_CAMS[p.method] ?? lib.INPUT_SPACE_INFO[p.method];
    const keys = Object.keys(p.samples[0].timings);
    emit({
      model: model.name,
      method: p.method,
      reference: info.referenceName,
      layers: p.last.layers.length > 3 ? `${p.last.layers.length} values (${p.last.layers[0]} …)` : p.last.layers,
      class: classIndex,
      size: 224,
      repeats,
      warmup,
      threads: availableParallelism(),
      median_ms: round(median(p.samples.map((s) => s.ms))),
      timings_ms: Object.fromEntries(keys.map((k) => [k, round(median(p.samples.map((s) => s.timings[k])))])),
      model_runs: p.last.notes.modelRuns,
      model_run_rows: p.last.notes.modelRunRows,
      ratio_to_gradcam: ratioToGradcam(p),
      cli_defaults: Object.keys(p.settings).length === 0,
      ...(Object.keys(p.settings).length ? { settings: p.settings } : {}),
      cold_samples: p.cold,
      session_reruns: p.reruns,
      warnings: p.last.warnings.map((w) => w.code),
      notes: p.last.notes,
    });
  }
  const shapley = live.find((p) => p.method === 'shapleycam');
  emit({
    summary: true,
    model: model.name,
    input: inputPath,
    repeats,
    methods: live.length,
    failed: plan.filter((p) => p.failed).map((p) => p.method),
    gradcam_ms: grad ? round(median(grad.samples.map((s) => s.ms))) : undefined,
    ...(shapley ? { shapleycam_over_gradcam: ratioToGradcam(shapley), shapleycam_runs: shapley.last.notes.modelRuns } : {}),
  });
  if (plan.some((p) => p.failed)) process.exitCode = 1;
} finally {
  await kill();
}
