// Activation stays thin: create the worker client lazily, register contributions, and push
// every disposable to context.subscriptions. The worker process starts on the first request.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExplainResult } from '../worker/protocol';
import { CAM_VIEW_TYPE, type CamPanel } from './panel/camPanel';
import type { PanelDeps } from './panel/context';
import { PanelRegistry } from './panel/registry';
import { pickImages } from './commands/explainModel';
import { registerBatchExport } from './commands/batchExport';
import { runLeakCheck, type LeakCheckTarget } from './commands/leakCheck';
import { pickModel, registerShowLayers } from './commands/showLayers';
import { LayerTree, type LayerNode } from './layerTree';
import { MODEL_EDITOR_VIEW_TYPE, ModelEditorProvider } from './modelEditor';
import { TapStore } from './taps';
import { errorText, formatShape, providerOptions, requireTrust } from './util';
import { WorkerClient } from './workerClient';

export interface CamLensApi {
  worker: WorkerClient;
  taps: TapStore;
  tree: LayerTree;
  activationMs: number;
  /** Opens the CAM panel of `model` on `images` and resolves with the first explanation. */
  explain(model: vscode.Uri, images: vscode.Uri[]): Promise<ExplainResult>;
  panel(model: vscode.Uri): CamPanel | undefined;
}

const PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;

export function activate(context: vscode.ExtensionContext): CamLensApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('CamLens', { log: true });
  const timeoutMs = () => vscode.workspace.getConfiguration('camlens').get<number>('requestTimeoutSeconds', 300) * 1000;
  const worker = new WorkerClient({ workerPath: path.join(context.extensionPath, 'dist', 'worker.js'), defaultTimeoutMs: timeoutMs() });
  const taps = new TapStore(worker, context.workspaceState);
  const tree = new LayerTree(worker, taps, output);

  const status = vscode.window.createStatusBarItem('camlens.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'CamLens worker';
  status.command = 'camlens.pickExecutionProvider';
  let ep = '';
  let workerState = 'idle';
  const renderStatus = () => {
    const configured = vscode.workspace.getConfiguration('camlens').get<string>('executionProvider', 'auto');
    status.text = `$(${workerState === 'restarted' ? 'warning' : 'pulse'}) CamLens: ${workerState}${ep ? ` · ${ep}` : ''}`;
    status.tooltip = `CamLens worker ${worker.pid ? `pid ${worker.pid}` : 'not running'}; execution provider: ${ep || 'not yet used'} (setting: ${configured}). Click to choose the provider.`;
    status.show();
  };
  renderStatus();

  worker.on('ready', () => { workerState = 'running'; renderStatus(); });
  worker.on('restart', (n: number) => {
    workerState = 'restarted';
    renderStatus();
    output.warn(`worker restarted (${n} restart${n === 1 ? '' : 's'} this session)`);
  });
  worker.on('exit', ({ code, signal }: { code: number | null; signal: string | null }) => {
    workerState = code === 0 ? 'idle' : 'stopped';
    renderStatus();
    if (code !== 0) output.warn(`worker exited (${signal ?? `code ${code}`}); it starts again on the next request`);
  });

  const deps: PanelDeps = {
    extensionUri: context.extensionUri, worker, taps, tree, output,
    onResult: (r) => { ep = r.ep; workerState = 'running'; renderStatus(); },
  };

  const panels = new PanelRegistry(deps);
  const explain = async (model: vscode.Uri, images: vscode.Uri[]): Promise<ExplainResult> => {
    const preferred = context.workspaceState.get<string>(`camlens.camLayer:${model.fsPath}`);
    return panels.show(model.fsPath, images.map((i) => i.fsPath), preferred).result;
  };

  const valueArg = (node?: LayerNode) => (node?.kind === 'value' ? node.layer : undefined);

  context.subscriptions.push(
    output, status, taps, tree,
    { dispose: () => void worker.dispose() },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('camlens.requestTimeoutSeconds')) worker.timeoutMs = timeoutMs();
      if (e.affectsConfiguration('camlens')) renderStatus();
    }),
    registerShowLayers(worker, output),
    registerBatchExport(context, worker, output),
    vscode.commands.registerCommand('camlens.explainModel', async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
      const models = (uris?.length ? uris : uri ? [uri] : []).filter((u) => u.fsPath.toLowerCase().endsWith('.onnx'));
      const model = models[0] ?? (await pickModel(uri));
      if (!model) return undefined;
      if (!requireTrust('run models')) return undefined;
      const images = await pickImages(model);
      if (!images) return undefined;
      if (tree.model?.fsPath !== model.fsPath) void tree.open(model);
      return explain(model, images).catch((e) => { output.error(errorText(e)); return undefined; });
    }),
    vscode.commands.registerCommand('camlens.openLayerTree', async (uri?: vscode.Uri) => {
      const model = uri?.fsPath.toLowerCase().endsWith('.onnx') ? uri : await pickModel(uri);
      if (!model) return undefined;
      await vscode.commands.executeCommand('camlens.layers.focus');
      const r = await tree.open(model);
      await tree.revealSuggested();
      return r ? { layers: r.layers.length, suggestion: r.suggestion?.value ?? null } : undefined;
    }),
    vscode.commands.registerCommand('camlens.filterByOpType', async () => {
      if (!tree.data) return void vscode.window.showInformationMessage('CamLens: open a model in the layer tree first.');
      const counts = [...tree.opCounts().entries()].sort((a, b) => b[1] - a[1]);
      const picks = await vscode.window.showQuickPick(counts.map(([op, n]) => ({ label: op, description: `${n} value${n === 1 ? '' : 's'}` })), {
        canPickMany: true, title: 'CamLens: show only the outputs of these op types', placeHolder: 'Op types',
      });
      if (picks) tree.setOpFilter(picks.map((p) => p.label));
    }),
    vscode.commands.registerCommand('camlens.clearFilter', () => tree.setOpFilter(undefined)),
    vscode.commands.registerCommand('camlens.copyName', async (node?: LayerNode) => {
      const l = valueArg(node);
      if (l) await vscode.env.clipboard.writeText(l.name);
    }),
    vscode.commands.registerCommand('camlens.useAsCamLayer', async (node?: LayerNode) => {
      const l = valueArg(node);
      const model = tree.model;
      if (!l || !model) return;
      const panel = panels.get(model.fsPath);
      if (!panel) {
        void vscode.window.showInformationMessage(`CamLens: ${l.name} will be the CAM layer of the next explanation of ${path.basename(model.fsPath)}.`);
        await context.workspaceState.update(`camlens.camLayer:${model.fsPath}`, l.name);
        return;
      }
      panel.reveal(true);
      await panel.setLayer(l.name).catch(() => undefined); // the panel shows a failure itself
    }),
    vscode.commands.registerCommand('camlens.showStatistics', async (node?: LayerNode) => {
      const l = valueArg(node);
      const model = tree.model;
      if (!l || !model || !requireTrust('run models')) return undefined;
      try {
        const r = await vscode.window.withProgress({ location: { viewId: 'camlens.layers' }, title: 'Running the model' }, () =>
          worker.request('run', { modelPath: model.fsPath, taps: [l.name], stats: true, tensors: false, provider: providerOptions() }));
        const s = r.taps.find((t) => t.value === l.name)?.stats;
        if (!s) throw new Error(`no statistics came back for ${l.name}`);
        const max = Math.max(...s.histogram.counts, 1);
        const bars = s.histogram.counts.map((c) => '▁▂▃▄▅▆▇█'[Math.min(7, Math.floor((c / max) * 7.999))]).join('');
        const md = [
          `# ${l.name}`, '', `${l.op} · ${s.dtype} ${formatShape(s.shape)} · ${s.count} values · ${r.provider}`, '',
          '| min | max | mean | std | zeros | NaN | Inf |', '|---|---|---|---|---|---|---|',
          `| ${s.min.toPrecision(5)} | ${s.max.toPrecision(5)} | ${s.mean.toPrecision(5)} | ${s.std.toPrecision(5)} | ${(s.zeroFraction * 100).toFixed(1)}% | ${s.nanCount} | ${s.infCount} |`,
          '', `Histogram (${s.histogram.min.toPrecision(4)} … ${s.histogram.max.toPrecision(4)}):`, '', '```', bars, '```', '',
          '_Computed on an all-zeros input: the worker\'s `run` method takes tensors, not images._',
        ].join('\n');
        const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: md });
        await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
        return s;
      } catch (e) {
        void vscode.window.showErrorMessage(`CamLens: statistics of ${l.name} failed: ${errorText(e)}`);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('camlens.pickExecutionProvider', async () => {
      const current = vscode.workspace.getConfiguration('camlens').get<string>('executionProvider', 'auto');
      const pick = await vscode.window.showQuickPick(PROVIDERS.map((p) => ({ label: p, description: p === current ? 'current setting' : p === ep ? 'in use' : undefined })), {
        title: `CamLens: execution provider (in use: ${ep || 'not yet run'})`,
      });
      if (pick) await vscode.workspace.getConfiguration('camlens').update('executionProvider', pick.label, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('camlens.showOutput', () => output.show()),
    vscode.commands.registerCommand('camlens.runLeakCheck', async (model?: vscode.Uri, image?: vscode.Uri, options?: Omit<LeakCheckTarget, 'model' | 'image'>) => {
      // from the palette: the model of the active CAM panel (and its image), else ask
      if (!model || !(model instanceof vscode.Uri)) {
        const active = panels.active();
        model = active ? vscode.Uri.file(active.modelPath) : undefined;
        image = active?.image ? vscode.Uri.file(active.image) : undefined;
      }
      return runLeakCheck(worker, output, { model, image, ...options }, (m, report, running) => panels.get(m)?.leakStatus(report, running));
    }),
    vscode.commands.registerCommand('camlens.restartWorker', async () => {
      await worker.request('releaseAll', {}).catch(() => undefined);
      const pid = worker.pid;
      if (pid) process.kill(pid, 'SIGKILL');
    }),
    vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, new ModelEditorProvider(context.extensionUri, worker, output), {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    }),
    vscode.window.registerWebviewPanelSerializer(CAM_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => panels.revive(panel, state),
    }),
  );
  const activationMs = performance.now() - started;
  output.info(`CamLens activated in ${activationMs.toFixed(1)} ms`);
  return { worker, taps, tree, activationMs, explain, panel: (m) => panels.get(m.fsPath) };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the worker.
}
