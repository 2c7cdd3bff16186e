// The panel's Metrics section: `evaluate` on the panel's current model, image, method, layer
// and class (the class the shown map explains when none was chosen), one request at a time.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetricsView } from '../../panel/protocol';
import type { ExplainParams } from '../../worker/protocol';
import { errorCode, errorText, UNTRUSTED_MESSAGE } from '../util';
import { currentImage, type PanelContext } from './context';

export class MetricsController {
  private seq = 0;
  private abort: AbortController | undefined;
  last: MetricsView | undefined;

  /** `explainParams` gives the explain request of the panel's state; `shownClass` the class of the map on screen. */
  constructor(
    private readonly ctx: PanelContext,
    private readonly explainParams: (input: string) => ExplainParams,
    private readonly shownClass: () => number | undefined,
  ) {}

  replay(): void {
    if (this.last) this.ctx.post({ type: 'metrics', view: this.last });
  }

  cancel(): void {
    this.abort?.abort();
  }

  dispose(): void {
    this.abort?.abort();
  }

  async compute(): Promise<MetricsView | undefined> {
    const { ctx } = this;
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const id = ++this.seq;
    const input = currentImage(ctx.state);
    if (!vscode.workspace.isTrusted || !input) {
      ctx.post({ type: 'metricsError', requestId: id, message: vscode.workspace.isTrusted ? 'No image chosen.' : UNTRUSTED_MESSAGE, cancelled: false });
      return undefined;
    }
    const what = `${ctx.state.method} on ${path.basename(input)}`;
    ctx.post({ type: 'metricsBusy', requestId: id, what });
    const started = Date.now();
    try {
      await ctx.deps.taps.restore(ctx.state.modelPath).catch(() => undefined);
      const params = { ...this.explainParams(input), classIndex: ctx.state.classIndex ?? this.shownClass() };
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `CamLens: metrics of ${what}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => ac.abort());
          let last = 0;
          return ctx.deps.worker.request('evaluate', params, {
            signal: ac.signal,
            onProgress: (done, total, message) => {
              if (id !== this.seq) return;
              const pct = total > 0 ? (done / total) * 100 : 0;
              progress.report({ message: `${message ?? 'working'} ${done}/${total}`, increment: Math.max(0, pct - last) });
              last = pct;
              ctx.post({ type: 'metricsProgress', requestId: id, done, total, message });
            },
          });
        },
      );
      if (id !== this.seq) return undefined;
      const view: MetricsView = {
        requestId: id,
        method: r.method,
        layers: r.layers,
        classIndex: r.classIndex,
        label: r.label,
        input: vscode.workspace.asRelativePath(r.input),
        ep: r.ep,
        metrics: r.metrics,
        curves: r.curves,
        groundTruth: r.groundTruth ? `${r.groundTruth.kind} from ${vscode.workspace.asRelativePath(r.groundTruth.source)}` : null,
        ms: Date.now() - started,
      };
      this.last = view;
      ctx.deps.output.info(
        `evaluate ${path.basename(input)}: ${Object.keys(r.metrics).length} figures in ${view.ms} ms (${r.modelRuns.perturbation} perturbation runs, ${r.modelRuns.explanations} extra explanations)`,
      );
      ctx.post({ type: 'metrics', view });
      return view;
    } catch (e) {
      if (id !== this.seq) return undefined;
      const cancelled = errorCode(e) === 'CANCELLED';
      if (!cancelled) ctx.deps.output.error(`evaluate ${input}: ${errorText(e)}`);
      ctx.post({ type: 'metricsError', requestId: id, message: cancelled ? 'Cancelled.' : errorText(e), cancelled });
      return undefined;
    }
  }
}
