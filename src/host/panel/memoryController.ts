// The panel's Memory section: one telemetry subscription while the panel is visible and its
// webview listens, the live sessions table, the last leak-check report, "Release all sessions"
// and "Take heap snapshot".
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LeakReportView } from '../../panel/protocol';
import type { TelemetrySample } from '../../worker/protocol';
import { errorText, UNTRUSTED_MESSAGE } from '../util';
import type { PanelContext } from './context';

export class MemoryController implements vscode.Disposable {
  private subscription: number | undefined;
  private subscribing = false;
  private sessionsTimer: NodeJS.Timeout | undefined;
  private leak: LeakReportView | null = null;
  private leakRunning: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: PanelContext) {
    const { worker } = ctx.deps;
    // Subscriptions do not survive the worker: forget ours when it exits, subscribe again once
    // it was replaced (deferred: 'restart' fires while the client is still starting the child).
    const onRestart = () => {
      this.subscription = undefined;
      setTimeout(() => void this.subscribe(), 0);
    };
    const onExit = () => {
      this.subscription = undefined;
      ctx.post({ type: 'telemetryStopped', reason: 'The worker stopped; the chart resumes when it starts again.' });
    };
    const onTelemetry = (sample: TelemetrySample) => this.onTelemetry(sample);
    worker.on('restart', onRestart);
    worker.on('exit', onExit);
    worker.on('telemetry', onTelemetry);
    this.disposables.push({
      dispose: () => {
        worker.off('restart', onRestart);
        worker.off('exit', onExit);
        worker.off('telemetry', onTelemetry);
      },
    });
  }

  dispose(): void {
    this.unsubscribe();
    if (this.sessionsTimer) clearTimeout(this.sessionsTimer);
    this.disposables.forEach((d) => d.dispose());
  }

  /** The webview (re)loaded: the leak report, then live telemetry. */
  replay(): void {
    this.ctx.post({ type: 'leakReport', report: this.leak, running: this.leakRunning });
    void this.subscribe();
  }

  /** The leak-check command reports here (running, then the report or nothing). */
  leakStatus(report: LeakReportView | null, running?: string): void {
    if (report) this.leak = report;
    this.leakRunning = running;
    this.ctx.post({ type: 'leakReport', report: this.leak, running });
  }

  /** The last leak-check report the panel shows (null before the first). */
  get leakReport(): LeakReportView | null {
    return this.leak;
  }

  async subscribe(): Promise<void> {
    const { ctx } = this;
    if (ctx.disposed || this.subscription !== undefined || this.subscribing || !ctx.panel.visible || !ctx.webviewReady || !vscode.workspace.isTrusted) return;
    this.subscribing = true;
    try {
      const r = await ctx.deps.worker.request('telemetry.subscribe', { history: 480 });
      if (ctx.disposed || !ctx.panel.visible || this.subscription !== undefined) {
        void ctx.deps.worker.request('telemetry.unsubscribe', { subscriptionId: r.subscriptionId }).catch(() => undefined);
        return;
      }
      this.subscription = r.subscriptionId;
      ctx.post({ type: 'telemetry', samples: r.history, reset: true, intervalMs: r.intervalMs });
      void this.refreshSessions();
    } catch (e) {
      ctx.post({ type: 'memoryNote', text: `Memory telemetry is not available: ${errorText(e)}` });
    } finally {
      this.subscribing = false;
    }
  }

  unsubscribe(): void {
    const id = this.subscription;
    this.subscription = undefined;
    // a worker that is gone has no subscription to end (and must not be started for it)
    if (id !== undefined && this.ctx.deps.worker.pid !== undefined)
      void this.ctx.deps.worker.request('telemetry.unsubscribe', { subscriptionId: id }).catch(() => undefined);
  }

  private onTelemetry(sample: TelemetrySample): void {
    if (this.subscription === undefined || !this.ctx.webviewReady) return;
    this.ctx.post({ type: 'telemetry', samples: [sample], reset: false });
    if (sample.reason === 'request-end' && !sample.request?.method.startsWith('telemetry.') && !this.sessionsTimer) {
      this.sessionsTimer = setTimeout(() => {
        this.sessionsTimer = undefined;
        void this.refreshSessions();
      }, 300);
    }
  }

  /** The live sessions table (telemetry.snapshot). */
  async refreshSessions(): Promise<void> {
    const { ctx } = this;
    if (ctx.disposed || !ctx.webviewReady || ctx.deps.worker.pid === undefined) return;
    try {
      const snap = await ctx.deps.worker.request('telemetry.snapshot', {});
      ctx.post({ type: 'sessions', sessions: snap.sessions, pid: snap.pid, sample: snap.sample });
    } catch {
      /* the chart says when the worker is gone */
    }
  }

  async releaseAll(): Promise<void> {
    const { ctx } = this;
    if (ctx.deps.worker.pid === undefined) {
      ctx.post({ type: 'memoryNote', text: 'The worker is not running: there are no sessions to release.' });
      return;
    }
    try {
      const r = await ctx.deps.worker.request('releaseAll', {});
      ctx.post({ type: 'memoryNote', text: `Released ${r.released} session${r.released === 1 ? '' : 's'}.` });
      await this.refreshSessions();
    } catch (e) {
      ctx.post({ type: 'memoryNote', text: `Release failed: ${errorText(e)}` });
    }
  }

  async heapSnapshot(): Promise<void> {
    if (!vscode.workspace.isTrusted) return void vscode.window.showWarningMessage(UNTRUSTED_MESSAGE);
    const folder = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Write heap snapshot here',
      title: "CamLens: folder for the worker's .heapsnapshot",
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!folder?.[0]) return;
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'CamLens: taking a heap snapshot of the worker' },
        () => this.ctx.deps.worker.request('heapSnapshot', { dir: folder[0].fsPath, prefix: 'camlens-worker' }, { timeoutMs: 0 }),
      );
      const text = `Heap snapshot written: ${path.basename(r.path)} (${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(r.ms)} ms${r.gcForced ? ', after a full GC' : ''}). Open it in Chrome DevTools → Memory.`;
      this.ctx.post({ type: 'memoryNote', text });
      const pick = await vscode.window.showInformationMessage(
        `CamLens: ${text}`,
        process.platform === 'darwin' ? 'Reveal in Finder' : 'Reveal in File Explorer',
      );
      if (pick) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.path));
    } catch (e) {
      void vscode.window.showErrorMessage(`CamLens: heap snapshot failed: ${errorText(e)}`);
    }
  }
}
