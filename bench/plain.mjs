// Explain against plain onnxruntime at its best (issue 17, item 3: explain <= 1.10x the plain
// forward). A real export (bench/lib/models.mjs: ResNet-50 by default, BENCH_MODEL=resnet18 for
// the fixtures' one), NCHW float32 .npy inputs at each of BENCH_SIZES, Grad-CAM on the last block,
// top-1 class. The baseline is bench/lib/plain-forward.cjs, a separate process running
// onnxruntime-node with all graph optimisations, one thread per core and spinning chosen by
// measurement; it also times the model an explanation runs (forward + backward to the layer,
// built by buildGradientModel) under the same settings: is the explanation's own run ~ the forward?
// CamLens is measured through its worker:
//   panel: the request the panel sends (no overlay PNG; the map at the layer's size when it is
//          the layer's map upsampled; no pictures when the panel holds this image's, as it
//          does from its second explanation of it on), wall time including IPC; and
//          panel+view: that plus the host's result message and the map the webview draws;
//   cli:   the request `camlens explain` sends and the files it writes (S.json, S.cam.npy,
//          S.cam_raw.npy, S.overlay.png), wall time; and the S.json's timings_ms.total.
// One line per size: absolute medians of every side and each ratio as the median of the ratios of
// adjacent pairs (plain, gradient model, panel, cli run in turn, BENCH_REPEATS times). And the
// floor of a model run in a process of its own, as the panel's worker is: the plain forward plus
// what a request and its answer cost on this machine (bench/lib/echo-child.cjs: a process that
// holds its thread for the forward's time and answers, over the worker's kind of IPC), and with the
// explanation's own model in place of the forward (ratio_floor_with_backward). ratio_panel_worker_total
// is the panel request as the worker times it (timings_ms.total), the measure the CLI figure uses.
// Usage: node esbuild.mjs && node bench/plain.mjs
// Env: BENCH_REPEATS (11), BENCH_SIZES (224,512), BENCH_MODEL (resnet50|resnet18), BENCH_MODEL_PATH,
// BENCH_LAYER, BENCH_SETTLE_MS (300: pause between sides, so that no side pays another's spinning threads;
// with 10 ms the explanation model, run right after the plain one in the plain process, measured
// 1.39x the forward on ResNet-50 224², 1.02x with 300 ms).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, npyBytes, startWorker } from './lib/client.mjs';
import { benchModel } from './lib/models.mjs';
import { startPlain } from './lib/plain.mjs';

const require = createRequire(import.meta.url);
const lib = require(resolve('dist/bench/lib.js'));
const repeats = Number(process.env.BENCH_REPEATS ?? 11);
const sizes = (process.env.BENCH_SIZES ?? '224,512').split(',').map(Number);
const settle = Number(process.env.BENCH_SETTLE_MS ?? 300);
const emit = (o) => console.log(JSON.stringify({ bench: 'plain', ...o }));
const model = benchModel();
if (model.skipped) {
  emit({ skipped: model.skipped });
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-plain-'));

const { call, kill } = startWorker();
const echo = fork(resolve('bench/lib/echo-child.cjs'), [], { serialization: 'advanced' });
/** ms of a request to echo-child that holds its thread for `holdMs`, less that hold: the IPC alone. */
const ipcRoundTrip = (holdMs) =>
  new Promise((done) => {
    const t0 = performance.now();
    echo.once('message', () => done(performance.now() - t0 - holdMs));
    echo.send(holdMs);
  });
try {
  const loaded = lib.loadModel(model.path);
  const gradientModel = join(dir, 'gradient.onnx');
  writeFileSync(
    gradientModel,
    lib.buildGradientModel(loaded, { output: loaded.graph.outputs[0], layers: [model.layer], softmax: false, top1InGraph: true }).bytes,
  );
  for (const size of sizes) {
    const npy = join(dir, `input${size}.npy`);
    writeFileSync(npy, npyBytes([1, 3, size, size], 7));
    const plain = await startPlain({ model: model.path, npy, gradientModel });
    const out = join(dir, `out${size}`);
    const panelParams = {
      modelPath: model.path,
      input: npy,
      method: 'gradcam',
      layers: [model.layer],
      overlay: false,
      mapsAt: 'layer',
      provider: { provider: 'cpu' },
    };
    const cliParams = lib.cliExplainRequest(lib.explainParamsFromArgs({ layer: [model.layer], ep: 'cpu' }, model.path, npy));
    const pictures = new lib.PictureReuse();
    let shown;
    const panel = async () => {
      const t0 = performance.now();
      const held = pictures.held;
      const answer = await call('explain', held !== undefined ? { ...panelParams, picturesHeld: held } : panelParams);
      const t1 = performance.now();
      // As the panel: the webview keeps the picture of the image it shows (explainController.ts).
      const drawn = lib.withShownMap(lib.explainView(pictures.complete(answer), 1, { picture: !shown }), shown);
      if (!drawn.cam.data.length) throw new Error('the panel view has no map');
      shown = drawn;
      return { ms: t1 - t0, withView: performance.now() - t0, timings: answer.timings_ms };
    };
    const cli = async () => {
      const t0 = performance.now();
      const r = await call('explain', cliParams);
      await lib.writeExplanation(out, 'input', r);
      return { ms: performance.now() - t0, timings: r.timings_ms };
    };
    for (let i = 0; i < 3; i++) {
      await plain.run('run');
      await plain.run('run-gradient');
      await panel();
      await cli();
    }
    const side = { plain: [], ipc: [], gradient: [], panel: [], panelView: [], panelRun: [], panelTotal: [], cli: [], cliTotal: [], cliRun: [] };
    let last;
    for (let i = 0; i < repeats; i++) {
      side.plain.push(await plain.run('run'));
      await sleep(settle);
      side.ipc.push(await ipcRoundTrip(side.plain.at(-1)));
      await sleep(settle);
      side.gradient.push(await plain.run('run-gradient'));
      await sleep(settle);
      // The worker's first request after the plain process ran measured slower than its second
      // (224²: its run 34 against 30 ms): panel and CLI take turns at going first.
      const panelSide = async () => {
        const p = await panel();
        side.panel.push(p.ms);
        side.panelView.push(p.withView);
        side.panelRun.push(p.timings.run);
        side.panelTotal.push(p.timings.total);
        await sleep(settle);
      };
      const cliSide = async () => {
        last = await cli();
        side.cli.push(last.ms);
        side.cliTotal.push(last.timings.total);
        side.cliRun.push(last.timings.run);
        await sleep(settle);
      };
      if (i % 2 === 0) {
        await panelSide();
        await cliSide();
      } else {
        await cliSide();
        await panelSide();
      }
    }
    plain.exit();
    const ratio = (xs) => Math.round(median(xs.map((v, i) => v / side.plain[i])) * 1000) / 1000;
    const ms = (xs) => Math.round(median(xs) * 10) / 10;
    emit({
      model: model.name,
      layer: model.layer,
      size,
      repeats,
      plain_settings: plain.ready,
      plain_forward_ms: ms(side.plain),
      ipc_round_trip_ms: Math.round(median(side.ipc) * 100) / 100,
      gradient_model_ms: ms(side.gradient),
      panel_ms: ms(side.panel),
      panel_with_view_ms: ms(side.panelView),
      // where the panel's time goes: the worker's run, its whole request (timings_ms.total), the rest is IPC
      panel_run_ms: ms(side.panelRun),
      panel_worker_total_ms: ms(side.panelTotal),
      cli_with_files_ms: ms(side.cli),
      cli_timings_total_ms: ms(side.cliTotal),
      cli_run_ms: ms(side.cliRun),
      ratio_gradient_model: ratio(side.gradient),
      ratio_panel: ratio(side.panel),
      // the floor: a worker that did nothing but the plain forward would still take this much
      ratio_floor_of_a_worker: ratio(side.plain.map((v, i) => v + side.ipc[i])),
      ratio_panel_vs_floor: Math.round(median(side.panel.map((v, i) => v / (side.plain[i] + side.ipc[i]))) * 1000) / 1000,
      // the floor of a worker that ran the explanation's own model (forward + backward) and nothing else
      ratio_floor_with_backward: ratio(side.gradient.map((v, i) => v + side.ipc[i])),
      ratio_panel_with_view: ratio(side.panelView),
      // the panel request as the worker times it (timings_ms.total, as the CLI figure is): no IPC
      ratio_panel_worker_total: ratio(side.panelTotal),
      ratio_panel_run: ratio(side.panelRun),
      ratio_cli_with_files: ratio(side.cli),
      ratio_cli_timings_total: ratio(side.cliTotal),
      last_cli_timings_ms: Object.fromEntries(Object.entries(last.timings).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    });
  }
} finally {
  echo.kill();
  await kill();
  rmSync(dir, { recursive: true, force: true });
}
