// Activation stays thin: create the worker client lazily, register contributions, and push
// every disposable to context.subscriptions.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerShowLayers } from './commands/showLayers';
import { WorkerClient } from './workerClient';

export function activate(context: vscode.ExtensionContext): { worker: WorkerClient } {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('CamLens', { log: true });
  const timeoutMs = () => vscode.workspace.getConfiguration('camlens').get<number>('requestTimeoutSeconds', 300) * 1000;
  // The worker process starts on the first request, not here: activation stays cheap.
  const worker = new WorkerClient({ workerPath: path.join(context.extensionPath, 'dist', 'worker.js'), defaultTimeoutMs: timeoutMs() });
  worker.on('restart', (n: number) => {
    output.warn(`worker restarted (${n} restart${n === 1 ? '' : 's'} this session)`);
  });
  worker.on('exit', ({ code, signal }: { code: number | null; signal: string | null }) => {
    if (code !== 0) output.warn(`worker exited (${signal ?? `code ${code}`}); it starts again on the next request`);
  });
  context.subscriptions.push(
    output,
    { dispose: () => void worker.dispose() },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('camlens.requestTimeoutSeconds')) worker.timeoutMs = timeoutMs();
    }),
    registerShowLayers(worker, output),
  );
  output.info(`CamLens activated in ${(performance.now() - started).toFixed(1)} ms`);
  return { worker };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the worker.
}
