// The panel's Metrics section: `evaluate` on the panel's current model, image, method, layer
// and class (the class the shown map explains when none was chosen), one request at a time.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetricsView } from '../../panel/protocol';
import type { ExplainParams } from '../../worker/protocol';
import { errorCode, errorText } from '../util';
import { currentImage, type PanelContext } from './context';
import { cannotRun, LatestRequest } from './latestRequest';

export class MetricsController {
  private readonly request = new LatestRequest();
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
    this.request.cancel();
  }

  dispose(): void {
    this.request.cancel();
  }

  async compute(): Promise<MetricsView | undefined> {
    const { ctx } = this;
    const { id, signal } = this.request.begin();
    const input = currentImage(ctx.state);
    const refused = cannotRun(input);
    if (refused || !input) {
      ctx.post({ type: 'metricsError', requestId: id, message: refused ?? 'No image chosen.', cancelled: false });
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
          token.onCancellationRequested(() => this.request.cancel());
          let last = 0;
          return ctx.deps.worker.request('evaluate', params, {
            signal,
            onProgress: (done, total, message) => {
              if (!this.request.isCurrent(id)) return;
              const pct = total > 0 ? (done / total) * 100 : 0;
              progress.report({ message: `${message ?? 'working'} ${done}/${total}`, increment: Math.max(0, pct - last) });
              last = pct;
              ctx.post({ type: 'metricsProgress', requestId: id, done, total, message });
            },
          });
        },
      );
      if (!this.request.isCurrent(id)) return undefined;
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
      if (!this.request.isCurrent(id)) return undefined;
      const cancelled = errorCode(e) === 'CANCELLED';
      if (!cancelled) ctx.deps.output.error(`evaluate ${input}: ${errorText(e)}`);
      ctx.post({ type: 'metricsError', requestId: id, message: cancelled ? 'Cancelled.' : errorText(e), cancelled });
      return undefined;
    }
  }
}
