// Activation stays thin: create the worker client (its process starts on the first request),
// the tap store, the layer tree and the status bar, then register each contribution from its
// own file. Every register…() returns a Disposable that goes to context.subscriptions.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExplainResult } from '../worker/protocol';
import { WorkerClient } from '../worker/client';
import { CAM_VIEW_TYPE, CamPanel, type PanelDeps } from './camPanel';
import { registerBatchExport } from './commands/batchExport';
import { registerClearFilter } from './commands/clearFilter';
import { registerCopyName } from './commands/copyName';
import type { CommandDeps } from './commands/deps';
import { pickImages } from './commands/explainModel';
import { registerFilterByOpType } from './commands/filterByOpType';
import { runLeakCheck, type LeakCheckTarget } from './commands/leakCheck';
import { registerOpenLayerTree } from './commands/openLayerTree';
import { registerPickExecutionProvider } from './commands/pickExecutionProvider';
import { registerRestartWorker } from './commands/restartWorker';
import { pickModel, registerShowLayers } from './commands/showLayers';
import { registerShowOutput } from './commands/showOutput';
import { registerShowStatistics } from './commands/showStatistics';
import { LayerTree, layerOf, type LayerNode } from './layerTree';
import { MODEL_EDITOR_VIEW_TYPE, ModelEditorProvider } from './modelEditor';
import { followRequestTimeout, requestTimeoutMs } from './requestTimeout';
import { WorkerStatusBar } from './statusBar';
import { TapStore } from './taps';
import { errorText, requireTrust } from './util';
import { logWorkerLifecycle } from './workerLog';

export interface CamLensApi {
  worker: WorkerClient;
  taps: TapStore;
  tree: LayerTree;
  activationMs: number;
  /** Opens the CAM panel of `model` on `images` and resolves with the first explanation. */
  explain(model: vscode.Uri, images: vscode.Uri[]): Promise<ExplainResult>;
  panel(model: vscode.Uri): CamPanel | undefined;
}

export function activate(context: vscode.ExtensionContext): CamLensApi {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('CamLens', { log: true });
  const worker = new WorkerClient({ workerPath: path.join(context.extensionPath, 'dist', 'worker.js'), defaultTimeoutMs: requestTimeoutMs() });
  const taps = new TapStore(worker, context.workspaceState);
  const tree = new LayerTree(worker, taps, output);
  const status = new WorkerStatusBar(worker);
  const deps: CommandDeps = { context, worker, taps, tree, output, status };
  const panels = camPanels(deps);

  context.subscriptions.push(
    output, status, taps, tree,
    { dispose: () => void worker.dispose() },
    logWorkerLifecycle(worker, output),
    followRequestTimeout(worker),
    registerShowLayers(deps),
    registerBatchExport(deps),
    registerOpenLayerTree(deps),
    registerFilterByOpType(deps),
    registerClearFilter(deps),
    registerCopyName(),
    registerShowStatistics(deps),
    registerPickExecutionProvider(deps),
    registerShowOutput(deps),
    registerRestartWorker(deps),
    registerModelEditor(deps),
    panels.register(),
  );
  const activationMs = performance.now() - started;
  output.info(`CamLens activated in ${activationMs.toFixed(1)} ms`);
  return { worker, taps, tree, activationMs, explain: panels.explain, panel: (m) => CamPanel.panels.get(m.fsPath) };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the worker.
}

/** The model summary opened as a custom editor on .onnx files. */
function registerModelEditor({ context, worker, output }: Pick<CommandDeps, 'context' | 'worker' | 'output'>): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, new ModelEditorProvider(context.extensionUri, worker, output), {
    supportsMultipleEditorsPerDocument: true,
    webviewOptions: { retainContextWhenHidden: false },
  });
}

/**
 * What reaches into CamPanel: the API's explain(), the commands that open or drive a panel
 * (Explain Model, Use as CAM Layer, Run Leak Check) and the serializer that revives panels.
 * These move to host/panel/ with the panel registry.
 */
function camPanels({ context, worker, taps, tree, output, status }: CommandDeps) {
  const deps: PanelDeps = {
    extensionUri: context.extensionUri, worker, taps, tree, output,
    onResult: (r) => status.ranOn(r.ep),
  };

  const explain = async (model: vscode.Uri, images: vscode.Uri[]): Promise<ExplainResult> => {
    const preferred = context.workspaceState.get<string>(`camlens.camLayer:${model.fsPath}`);
    const panel = CamPanel.show(deps, model.fsPath, images.map((i) => i.fsPath), preferred);
    return panel.nextResult();
  };

  const register = (): vscode.Disposable => vscode.Disposable.from(
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
    vscode.commands.registerCommand('camlens.useAsCamLayer', async (node?: LayerNode) => {
      const l = layerOf(node);
      const model = tree.model;
      if (!l || !model) return;
      const panel = CamPanel.panels.get(model.fsPath);
      if (!panel) {
        void vscode.window.showInformationMessage(`CamLens: ${l.name} will be the CAM layer of the next explanation of ${path.basename(model.fsPath)}.`);
        await context.workspaceState.update(`camlens.camLayer:${model.fsPath}`, l.name);
        return;
      }
      panel.state.layer = l.name;
      panel.panel.reveal(undefined, true);
      await panel.explain();
    }),
    vscode.commands.registerCommand('camlens.runLeakCheck', async (model?: vscode.Uri, image?: vscode.Uri, options?: Omit<LeakCheckTarget, 'model' | 'image'>) => {
      // from the palette: the model of the active CAM panel (and its image), else ask
      if (!model || !(model instanceof vscode.Uri)) {
        const active = [...CamPanel.panels.values()].find((p) => p.panel.active) ?? (CamPanel.panels.size === 1 ? [...CamPanel.panels.values()][0] : undefined);
        model = active ? vscode.Uri.file(active.state.modelPath) : undefined;
        const img = active?.state.images[active.state.imageIndex];
        image = img ? vscode.Uri.file(img) : undefined;
      }
      return runLeakCheck(worker, output, { model, image, ...options }, (m, report, running) => CamPanel.panels.get(m)?.leakStatus(report, running));
    }),
    vscode.window.registerWebviewPanelSerializer(CAM_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => CamPanel.revive(deps, panel, state),
    }),
  );

  return { explain, register };
}
