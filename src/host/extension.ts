// Activation stays thin: create the worker client (its process starts on the first request),
// the tap store, the layer tree and the status bar, then register each contribution from its
// own file. Every register…() returns a Disposable that goes to context.subscriptions.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WorkerClient } from '../worker/client';
import type { ExplainResult } from '../worker/protocol';
import { registerBatchExport } from './commands/batchExport';
import { registerClearFilter } from './commands/clearFilter';
import { registerCopyName } from './commands/copyName';
import type { CommandDeps } from './commands/deps';
import { explainInPanel, registerExplainModel } from './commands/explainModel';
import { registerFilterByOpType } from './commands/filterByOpType';
import { registerRunLeakCheck } from './commands/leakCheck';
import { registerOpenLayerTree } from './commands/openLayerTree';
import { registerPickExecutionProvider } from './commands/pickExecutionProvider';
import { registerRestartWorker } from './commands/restartWorker';
import { registerShowLayers } from './commands/showLayers';
import { registerShowOutput } from './commands/showOutput';
import { registerShowStatistics } from './commands/showStatistics';
import { registerUseAsCamLayer } from './commands/useAsCamLayer';
import { LayerTree } from './layerTree';
import { MODEL_EDITOR_VIEW_TYPE, ModelEditorProvider } from './modelEditor';
import type { CamPanel } from './panel/camPanel';
import { PanelRegistry, registerPanelSerializer } from './panel/registry';
import { followRequestTimeout, requestTimeoutMs } from './requestTimeout';
import { WorkerStatusBar } from './statusBar';
import { TapStore } from './taps';
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
  // The worker caches optimised sessions in the extension's own storage (cold starts, issue 17).
  const cacheDir = process.env.CAMLENS_CACHE_DIR ?? path.join(context.globalStorageUri.fsPath, 'cache');
  const worker = new WorkerClient({
    workerPath: path.join(context.extensionPath, 'dist', 'worker.js'),
    defaultTimeoutMs: requestTimeoutMs(),
    env: { ...process.env, CAMLENS_CACHE_DIR: cacheDir },
  });
  const taps = new TapStore(worker, context.workspaceState);
  const tree = new LayerTree(worker, taps, output);
  const status = new WorkerStatusBar(worker);
  const panels = new PanelRegistry({ extensionUri: context.extensionUri, worker, taps, tree, output, onResult: (r) => status.ranOn(r.ep) });
  const deps: CommandDeps = { context, worker, taps, tree, output, status, panels };

  context.subscriptions.push(
    output,
    status,
    taps,
    tree,
    { dispose: () => void worker.dispose() },
    logWorkerLifecycle(worker, output),
    followRequestTimeout(worker),
    registerExplainModel(deps),
    registerShowLayers(deps),
    registerBatchExport(deps),
    registerOpenLayerTree(deps),
    registerFilterByOpType(deps),
    registerClearFilter(deps),
    registerCopyName(),
    registerUseAsCamLayer(deps),
    registerShowStatistics(deps),
    registerPickExecutionProvider(deps),
    registerShowOutput(deps),
    registerRunLeakCheck(deps),
    registerRestartWorker(deps),
    registerModelEditor(deps),
    registerPanelSerializer(panels),
  );
  const activationMs = performance.now() - started;
  output.info(`CamLens activated in ${activationMs.toFixed(1)} ms`);
  return { worker, taps, tree, activationMs, explain: (model, images) => explainInPanel(deps, model, images), panel: (m) => panels.get(m.fsPath) };
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
