// The panel's "Compare methods" and "Layer sweep": one request at a time in the worker (a newer
// one aborts the older), on the panel's current model, image, layer and class (the class of the
// map on screen when none was chosen), progress and outcome posted to the webview and replayed
// when it reloads; each exportable as one PNG composed by the engine (compareView.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CompareKind, CompareView, HostToWebview, SweepView } from '../../panel/protocol';
import type { CamMethodName, ExplainParams, Params, Result } from '../../worker/protocol';
import { errorCode, errorText } from '../util';
import { currentImage, type PanelContext } from './context';
import { cannotRun, LatestRequest } from './latestRequest';
import { compareView, comparePng, sweepPng, sweepView } from './compareView';
import { savePicture } from './saves';

/** The worker request of one comparison, with its cancellation and progress wired. */
type Request = <M extends 'compare' | 'layerSweep'>(method: M, params: Params<M>) => Promise<Result<M>>;

export class CompareController {
  private readonly request = new LatestRequest();
  private status: Extract<HostToWebview, { type: 'compareBusy' | 'compareError' }> | undefined;
  lastCompare: CompareView | undefined;
  lastSweep: SweepView | undefined;

  /** `requestOf` gives the explain request of the panel's state for an image, with the class of the map on screen when none was chosen. */
  constructor(
    private readonly ctx: PanelContext,
    private readonly requestOf: (input: string) => ExplainParams,
  ) {}

  replay(): void {
    if (this.lastCompare) this.ctx.post({ type: 'compare', view: this.lastCompare });
    if (this.lastSweep) this.ctx.post({ type: 'sweep', view: this.lastSweep });
    if (this.status) this.ctx.post(this.status);
  }

  cancel(): void {
    this.request.cancel();
  }

  dispose(): void {
    this.request.cancel();
  }

  compare(methods: CamMethodName[]): Promise<CompareView | undefined> {
    return this.start('compare', `${methods.length} methods`, async (params, request) => {
      // Multi-scale and smoothing change each method's map after the fact; the grid compares the methods themselves.
      const r = await request('compare', { ...params, augSmooth: undefined, scales: undefined, scaleWeights: undefined, methods, maps: true });
      const view = compareView(r, 0, vscode.workspace.asRelativePath(r.input), 0);
      if (!view) throw new Error(r.methods.map((m) => `${m.method}: ${m.error?.message}`).join('\n'));
      return view;
    });
  }

  sweep(): Promise<SweepView | undefined> {
    return this.start('sweep', 'Grad-CAM at every block output', async (params, request) => {
      const { layers: _l, augSmooth: _a, scales: _s, scaleWeights: _w, ...rest } = params;
      const r = await request('layerSweep', { ...rest, method: 'gradcam' });
      return sweepView(r, 0, vscode.workspace.asRelativePath(r.input), 0);
    });
  }

  /** The compare grid or the layer sweep as a PNG, in a save dialog. */
  async save(kind: CompareKind, look: Parameters<typeof comparePng>[1]): Promise<void> {
    const input = currentImage(this.ctx.state);
    const stem = path.basename(input ?? 'image').replace(/\.[^.]+$/, '');
    if (kind === 'compare') {
      if (!this.lastCompare) return void vscode.window.showWarningMessage('CamLens: compare the methods first.');
      return savePicture(this.ctx.state.modelPath, comparePng(this.lastCompare, look), `${stem}-compare`);
    }
    if (!this.lastSweep) return void vscode.window.showWarningMessage('CamLens: run the layer sweep first.');
    return savePicture(this.ctx.state.modelPath, sweepPng(this.lastSweep, look), `${stem}-layer-sweep`);
  }

  private async start<V extends CompareView | SweepView>(
    kind: CompareKind,
    what: string,
    work: (params: ExplainParams, request: Request) => Promise<V>,
  ): Promise<V | undefined> {
    const { ctx } = this;
    const { id, signal } = this.request.begin();
    const input = currentImage(ctx.state);
    const refused = cannotRun(input);
    if (refused || !input) {
      this.show({ type: 'compareError', kind, requestId: id, message: refused ?? 'No image chosen.', cancelled: false });
      return undefined;
    }
    this.show({ type: 'compareBusy', kind, requestId: id, what: `${what} on ${path.basename(input)}` });
    const started = Date.now();
    try {
      await ctx.deps.taps.restore(ctx.state.modelPath).catch(() => undefined);
      const params = this.requestOf(input);
      const request: Request = (method, p) =>
        ctx.deps.worker.request(method, p, {
          signal,
          onProgress: (done, total, message) => {
            if (this.request.isCurrent(id)) ctx.post({ type: 'compareProgress', kind, requestId: id, done, total, message });
          },
        });
      const view = await work(params, request);
      if (!this.request.isCurrent(id)) return undefined;
      view.requestId = id;
      view.ms = Date.now() - started;
      this.status = undefined;
      if (kind === 'compare') this.lastCompare = view as CompareView;
      else this.lastSweep = view as SweepView;
      ctx.deps.output.info(`${kind} ${path.basename(input)}: ${what} in ${view.ms} ms`);
      ctx.post(kind === 'compare' ? { type: 'compare', view: view as CompareView } : { type: 'sweep', view: view as SweepView });
      return view;
    } catch (e) {
      if (!this.request.isCurrent(id)) return undefined;
      const cancelled = errorCode(e) === 'CANCELLED';
      if (!cancelled) ctx.deps.output.error(`${kind} ${input}: ${errorText(e)}`);
      this.show({ type: 'compareError', kind, requestId: id, message: cancelled ? 'Cancelled.' : errorText(e), cancelled });
      return undefined;
    }
  }

  private show(m: Extract<HostToWebview, { type: 'compareBusy' | 'compareError' }>): void {
    this.status = m;
    this.ctx.post(m);
  }
}
