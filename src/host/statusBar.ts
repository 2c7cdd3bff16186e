// The worker's status bar item: whether it runs, was restarted or stopped, and the execution
// provider it last ran on. Clicking it picks the provider (camlens.pickExecutionProvider).
import * as vscode from 'vscode';
import type { WorkerClient, WorkerExit } from '../worker/client';

type WorkerState = 'idle' | 'running' | 'restarted' | 'stopped';

export class WorkerStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('camlens.status', vscode.StatusBarAlignment.Left, 10);
  private state: WorkerState = 'idle';
  /** The execution provider of the last explanation ('' until one ran). */
  private ep = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly worker: WorkerClient) {
    this.item.name = 'CamLens worker';
    this.item.command = 'camlens.pickExecutionProvider';
    const onReady = () => this.show('running');
    const onRestart = () => this.show('restarted');
    const onExit = ({ code }: WorkerExit) => this.show(code === 0 ? 'idle' : 'stopped');
    worker.on('ready', onReady);
    worker.on('restart', onRestart);
    worker.on('exit', onExit);
    this.disposables.push(
      this.item,
      {
        dispose: () => {
          worker.off('ready', onReady);
          worker.off('restart', onRestart);
          worker.off('exit', onExit);
        },
      },
      // the tooltip names the configured provider
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('camlens')) this.render();
      }),
    );
    this.render();
  }

  /** The execution provider in use ('' before the first explanation). */
  get providerInUse(): string {
    return this.ep;
  }

  /** An explanation came back: the worker runs, on `ep`. */
  ranOn(ep: string): void {
    this.ep = ep;
    this.show('running');
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private show(state: WorkerState): void {
    this.state = state;
    this.render();
  }

  private render(): void {
    const { item, state, ep, worker } = this;
    const configured = vscode.workspace.getConfiguration('camlens').get<string>('executionProvider', 'auto');
    item.text = `$(${state === 'restarted' ? 'warning' : 'pulse'}) CamLens: ${state}${ep ? ` · ${ep}` : ''}`;
    item.tooltip = `CamLens worker ${worker.pid ? `pid ${worker.pid}` : 'not running'}; execution provider: ${ep || 'not yet used'} (setting: ${configured}). Click to choose the provider.`;
    item.show();
  }
}
