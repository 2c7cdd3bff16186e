// Extension-host suite: runs INSIDE a real VS Code extension host (code-server via
// scripts/e2e.mjs, or desktop VS Code via @vscode/test-electron: npm run test:desktop).
// No mocha: a tiny runner that prints node-test-runner style lines and a summary, and writes
// the results to $CAMLENS_TEST_RESULTS when set. The workspace is a copy of demo/.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CamLensApi } from '../../src/host/extension';
import { encodeNpy } from '../../src/host/camPanel';
import { videoView } from '../../src/host/videoView';
import { frameRgb, S, T, tiny3dCnn } from '../video/tiny3d';

type Test = { name: string; fn: () => Promise<void> };
const tests: Test[] = [];
const test = (name: string, fn: () => Promise<void>) => tests.push({ name, fn });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let api: CamLensApi;
const folder = () => vscode.workspace.workspaceFolders![0].uri;
const model = () => vscode.Uri.joinPath(folder(), 'model.onnx');
const image = (n = 'circle_1.png') => vscode.Uri.joinPath(folder(), 'images', n);

test('the extension activates quickly and returns its API', async () => {
  const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'camlens' && e.packageJSON?.publisher === 'camlens');
  assert.ok(ext, 'camlens extension not found');
  api = (await ext.activate()) as CamLensApi;
  assert.ok(api?.worker, 'activate() returned no API');
  console.log(`    activation took ${api.activationMs.toFixed(1)} ms`);
  assert.ok(api.activationMs < 1000, `activation took ${api.activationMs} ms`);
  assert.equal(api.worker.pid, undefined, 'the worker must not start at activation');
});

test('every CamLens command is registered and in the CamLens category', async () => {
  const all = new Set(await vscode.commands.getCommands(true));
  const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'camlens')!;
  const contributed = ext.packageJSON.contributes.commands as Array<{ command: string; category: string }>;
  for (const c of contributed) {
    assert.ok(all.has(c.command), `${c.command} not registered`);
    assert.equal(c.category, 'CamLens');
  }
  for (const id of ['camlens.explainModel', 'camlens.openLayerTree', 'camlens.filterByOpType', 'camlens.useAsCamLayer', 'camlens.showStatistics', 'camlens.copyName', 'camlens.batchExport']) {
    assert.ok(all.has(id), `${id} missing`);
  }
});

test('the worker answers (ping, layers of the demo model)', async () => {
  const pong = await api.worker.request('ping', {});
  assert.ok(pong.pid > 0);
  const r = await api.worker.request('layers', { modelPath: model().fsPath });
  assert.ok(r.layers.length > 5, 'too few layers');
  assert.ok(r.suggestion?.value, 'no suggested CAM layer');
  assert.ok(r.summary.parameterCount > 0);
});

test('Open Layer Tree shows the model and marks the suggested layer', async () => {
  const r = (await vscode.commands.executeCommand('camlens.openLayerTree', model())) as { layers: number; suggestion: string | null };
  assert.ok(r && r.layers > 5, 'openLayerTree returned nothing');
  assert.equal(api.tree.model?.fsPath, model().fsPath);
  const roots = api.tree.getChildren();
  assert.ok(roots.length > 0, 'tree has no roots');
  const suggested = api.tree.data!.layers.find((l) => l.suggested)!;
  assert.equal(suggested.name, r.suggestion);
});

test('filter by op type narrows the tree to those ops', async () => {
  api.tree.setOpFilter(['Relu']);
  const items = api.tree.getChildren();
  assert.ok(items.length > 0 && items.every((n) => n.kind === 'value' && n.layer.op === 'Relu'), 'filter did not apply');
  api.tree.setOpFilter(undefined);
  assert.ok(api.tree.getChildren().some((n) => n.kind === 'scope'));
});

test('taps persist in workspace state and survive a worker restart', async () => {
  const m = model().fsPath;
  const value = api.tree.data!.layers.find((l) => l.op === 'Relu')!.name;
  await api.taps.add(m, value);
  assert.ok(api.taps.list(m).includes(value), 'not persisted');
  let listed = await api.worker.request('taps.list', { modelPath: m });
  assert.ok(listed.taps.some((t) => t.value === value), 'not registered in the worker');
  const restartsBefore = api.worker.restarts;
  const exited = new Promise((r) => api.worker.once('exit', r));
  process.kill(api.worker.pid!, 'SIGKILL');
  await exited;
  const { restored } = await api.taps.restore(m);
  assert.deepEqual(restored, [value]);
  assert.equal(api.worker.restarts, restartsBefore + 1);
  listed = await api.worker.request('taps.list', { modelPath: m });
  assert.ok(listed.taps.some((t) => t.value === value), 'not re-registered after the restart');
  await api.taps.remove(m, value);
  assert.ok(!api.taps.list(m).includes(value));
  listed = await api.worker.request('taps.list', { modelPath: m });
  assert.ok(!listed.taps.some((t) => t.value === value), 'still registered after removal');
});

test('explain opens the CAM panel with a map at the input size', async () => {
  const t0 = Date.now();
  const r = await api.explain(model(), [image()]);
  console.log(`    explain: ${r.method} → ${r.explanations[0].label} in ${Date.now() - t0} ms (${r.ep})`);
  const e = r.explanations[0];
  assert.equal(e.cam.data.length, e.cam.width * e.cam.height);
  assert.equal(e.cam.width, r.image.width);
  assert.ok(r.predictions.length > 0);
  const panel = api.panel(model());
  assert.ok(panel, 'no panel');
  // The panel draws the overlay itself; "Save overlay" has the worker encode it as shown.
  assert.equal(e.overlayPng, undefined, 'the panel asked for no overlay PNG');
  panel.state.colormap = 'viridis';
  const png = Buffer.from(await panel.overlayAsShown(e));
  assert.equal(png.toString('latin1', 1, 4), 'PNG');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [r.image.width, r.image.height]);
  panel.state.colormap = 'jet';
  const jet = Buffer.from(await panel.overlayAsShown(e));
  assert.ok(!jet.equals(png), 'the colormap shown is the one saved');
});

test('switching the method changes the map', async () => {
  const panel = api.panel(model())!;
  const before = panel.last!.explanations[0].cam.data;
  panel.state.method = 'eigencam';
  const next = panel.nextResult();
  await panel.explain();
  const r = await next;
  assert.equal(r.method, 'eigencam');
  const after = r.explanations[0].cam.data;
  let diff = 0;
  for (let i = 0; i < after.length; i++) diff += Math.abs(after[i] - before[i]);
  assert.ok(diff / after.length > 1e-3, `maps are the same (mean |Δ| ${diff / after.length})`);
});

test('a killed worker is restarted by the next explain', async () => {
  const panel = api.panel(model())!;
  const restarts = api.worker.restarts;
  const exited = new Promise((r) => api.worker.once('exit', r));
  process.kill(api.worker.pid!, 'SIGKILL');
  await exited;
  const next = panel.nextResult();
  await panel.explain();
  const r = await next;
  assert.ok(r.explanations.length === 1);
  assert.equal(api.worker.restarts, restarts + 1);
});

test('an unreadable image is reported, not thrown', async () => {
  const bad = vscode.Uri.joinPath(folder(), 'labels.txt');
  const panel = api.panel(model())!;
  panel.state.images = [bad.fsPath];
  panel.state.imageIndex = 0;
  const next = panel.nextResult().then(() => undefined, (e: Error) => e);
  await panel.explain();
  const err = await next;
  assert.ok(err instanceof Error, 'expected an error');
  assert.ok(panel.lastError && panel.lastError.length > 5, 'no error message kept for the panel');
  console.log(`    panel shows: ${panel.lastError}`);
});

test('CamLens: Run Leak Check… (explain × 5) reports a verdict per metric and the panel shows it', async () => {
  const report = (await vscode.commands.executeCommand('camlens.runLeakCheck', model(), image(), { scenario: 'explain', iterations: 5 })) as
    { verdict: string; scenarios: Array<{ scenario: string; metrics: Array<{ metric: string; verdict: string }> }> } | undefined;
  assert.ok(report, 'no report');
  assert.ok(['no leak', 'suspected leak'].includes(report.verdict), `verdict ${report.verdict}`);
  assert.ok(report.scenarios[0]?.metrics.some((m) => m.metric === 'rss'), 'no rss metric');
  console.log(`    leak check (5 iterations, not a real judgement): ${report.verdict}`);
});

test('the panel computes metrics with a random baseline for the current explanation', async () => {
  const panel = api.panel(model());
  assert.ok(panel, 'no panel');
  panel.state.images = [image().fsPath]; // the test before left an unreadable "image" there
  panel.state.imageIndex = 0;
  const v = await panel.computeMetrics();
  assert.ok(v, 'no metrics');
  assert.ok(Number.isFinite(v.metrics.deletion_auc) && Number.isFinite(v.metrics.random_deletion_auc), JSON.stringify(v.metrics));
  assert.ok((v.curves.deletion?.length ?? 0) > 2, 'no deletion curve');
  console.log(`    deletion AUC ${v.metrics.deletion_auc.toFixed(3)} (random ${v.metrics.random_deletion_auc.toFixed(3)}), insertion AUC ${v.metrics.insertion_auc?.toFixed(3)} in ${v.ms} ms`);
});

test('a video model: the panel explains a .npy clip and gets T maps, the frames and the temporal weights', async () => {
  const dir = vscode.Uri.joinPath(folder(), 'video-e2e');
  const videoModel = vscode.Uri.joinPath(dir, 'tiny3d.onnx');
  const clip = vscode.Uri.joinPath(dir, 'clip.npy');
  await vscode.workspace.fs.createDirectory(dir);
  try {
    await vscode.workspace.fs.writeFile(videoModel, tiny3dCnn());
    // The tiny model's clip, normalised as ImageNet models expect (no sharp in the extension host).
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    const x = new Float32Array(3 * T * S * S);
    for (let t = 0; t < T; t++) {
      const rgb = frameRgb(t);
      for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) x[(c * T + t) * S * S + i] = (rgb[i * 3 + c] / 255 - mean[c]) / std[c];
    }
    await vscode.workspace.fs.writeFile(clip, encodeNpy(x, [1, 3, T, S, S]));
    const r = await api.explain(videoModel, [clip]);
    const e = r.explanations[0];
    assert.ok(e.video, 'no video explanation');
    assert.equal(e.video.frames, T);
    assert.equal(e.cam.data.length, T * S * S);
    assert.equal(r.frames?.length, T);
    assert.equal(e.video.temporalWeights.length, T);
    assert.ok(Math.abs(e.video.temporalWeights.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    const panel = api.panel(videoModel);
    assert.ok(panel && panel.lastError === undefined, `panel error: ${panel?.lastError}`);
    // What postResult sends the webview for the frame slider and strip.
    const view = videoView(r.frames!, e.video.temporalWeights);
    assert.equal(view.frames.length, T * S * S * 3);
    console.log(`    video: ${T} frames, temporal weights ${e.video.temporalWeights.map((w) => w.toFixed(3)).join(' ')}`);
    panel.panel.dispose();
  } finally {
    await vscode.workspace.fs.delete(dir, { recursive: true });
  }
});

export async function run(): Promise<void> {
  const results: Array<{ title: string; state: 'passed' | 'failed'; error?: string; ms: number }> = [];
  const t0 = Date.now();
  for (const t of tests) {
    const s = Date.now();
    try {
      await Promise.race([t.fn(), sleep(60_000).then(() => { throw new Error('timed out after 60 s'); })]);
      results.push({ title: t.name, state: 'passed', ms: Date.now() - s });
      console.log(`✔ ${t.name} (${Date.now() - s}ms)`);
    } catch (e) {
      const error = e instanceof Error ? e.stack ?? e.message : String(e);
      results.push({ title: t.name, state: 'failed', error, ms: Date.now() - s });
      console.log(`✖ ${t.name} (${Date.now() - s}ms)\n  ${error.split('\n').join('\n  ')}`);
    }
  }
  const passed = results.filter((r) => r.state === 'passed').length;
  const failed = results.length - passed;
  console.log(`ℹ tests ${results.length}\nℹ pass ${passed}\nℹ fail ${failed}\nℹ duration_ms ${Date.now() - t0}`);
  if (process.env.CAMLENS_TEST_RESULTS) writeFileSync(process.env.CAMLENS_TEST_RESULTS, JSON.stringify({ passed, failed, results }, null, 2));
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  if (failed) throw new Error(`${failed} extension-host test(s) failed`);
}
void path;
