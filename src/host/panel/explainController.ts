// The panel's explanations: one `explain` request at a time in the worker (a newer one aborts
// the older), its progress and outcome posted to the webview, and replayed when the webview
// (re)loads: the request starts as soon as the panel is shown, not when the webview is ready.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { methodOptionKeys } from '../../engine/cam/registry';
import { methodOptionsFor, type HostToWebview } from '../../panel/protocol';
import { withFullMaps } from '../../engine/cam/layerMap';
import type { ExplainAnswer, ExplainParams, ExplainResult } from '../../worker/protocol';
import { errorCode, errorText, providerOptions, UNTRUSTED_MESSAGE } from '../util';
import { currentImage, type PanelContext } from './context';
import { explainView } from './explainView';
import { PictureReuse } from './pictureReuse';
import { configuredLook } from './settings';

export class ExplainController {
  private seq = 0;
  private abort: AbortController | undefined;
  private readonly waiters: Array<(r: ExplainResult | Error) => void> = [];
  /** What the webview shows of the latest request; posted again when it reloads. */
  private status: Extract<HostToWebview, { type: 'busy' | 'error' | 'cancelled' }> | undefined;
  /** The latest answer as the worker sent it: its maps at the layer's size when they can be (mapsAt). */
  private answer: ExplainAnswer | undefined;
  private full: ExplainResult | undefined;
  /** The latest pictures: explaining the same image again asks the worker for none. */
  private readonly pictures = new PictureReuse();
  /** What the latest answer's pictures were made from, and the same for the picture the webview shows. */
  private answerPictureKey: string | undefined;
  private shownPictureKey: string | undefined;
  lastError: string | undefined;

  constructor(
    private readonly ctx: PanelContext,
    private readonly onFinished: () => void,
  ) {}

  /** The latest answer as it came (maps possibly at the layer's size): for what is not a map (class, regions). */
  get lastAnswer(): ExplainAnswer | undefined {
    return this.answer;
  }

  /** The latest explanation with its maps at full size, rebuilt from the answer on first use (saves, commands). */
  get last(): ExplainResult | undefined {
    if (this.answer && !this.full) this.full = withFullMaps(this.answer);
    return this.full;
  }

  /** Resolves with the next finished explanation, rejects with the next failure. */
  nextResult(): Promise<ExplainResult> {
    return new Promise((resolve, reject) => this.waiters.push((r) => (r instanceof Error ? reject(r) : resolve(r))));
  }

  /** Explains the panel's current state; resolves with this request's result (or a newer one's). */
  explainNow(): Promise<ExplainResult> {
    const next = this.nextResult();
    void this.run();
    return next;
  }

  cancel(): void {
    this.abort?.abort();
  }

  dispose(): void {
    this.abort?.abort();
  }

  /** The webview (re)loaded: the latest result and the latest request's status. */
  replay(): void {
    this.shownPictureKey = undefined; // a reloaded webview has no picture
    if (this.answer) this.postResult(this.seq);
    if (this.status) this.ctx.post(this.status);
  }

  private settle(r: ExplainResult | Error): void {
    for (const w of this.waiters.splice(0)) w(r);
  }

  private show(m: Extract<HostToWebview, { type: 'busy' | 'error' | 'cancelled' }> | undefined): void {
    this.status = m;
    if (m) this.ctx.post(m);
  }

  async run(): Promise<void> {
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const id = ++this.seq;
    const s = this.ctx.state;
    const input = currentImage(s);
    if (!vscode.workspace.isTrusted) {
      this.lastError = UNTRUSTED_MESSAGE;
      this.show({ type: 'error', requestId: id, message: UNTRUSTED_MESSAGE, code: 'UNTRUSTED' });
      this.settle(new Error(UNTRUSTED_MESSAGE));
      return;
    }
    if (!input) {
      this.settle(new Error('CamLens: the panel has no image to explain.'));
      return;
    }
    this.show({ type: 'busy', requestId: id, what: `${s.method} on ${path.basename(input)}` });
    const started = Date.now();
    const { deps } = this.ctx;
    try {
      await deps.taps.restore(s.modelPath).catch(() => undefined);
      const held = this.pictures.held;
      const answer = await deps.worker.request(
        'explain',
        { ...this.params(input), ...(held !== undefined ? { picturesHeld: held } : {}) },
        {
          signal: ac.signal,
          onProgress: (done, total, message) => {
            if (id === this.seq) this.ctx.post({ type: 'progress', requestId: id, done, total, message });
          },
        },
      );
      if (id !== this.seq) return; // superseded by a newer request
      const r = this.pictures.complete(answer);
      this.answer = r;
      this.answerPictureKey = r.inputIdentity;
      this.full = undefined;
      this.lastError = undefined;
      this.status = undefined;
      deps.output.info(
        `explain ${path.basename(input)}: ${r.method} on ${r.layers.join(', ')} → ${r.explanations[0]?.label} (${r.ep}, ${r.timings_ms.total.toFixed(0)} ms in the worker, ${Date.now() - started} ms end to end)`,
      );
      this.postResult(id);
      deps.onResult(r);
      this.onFinished();
      if (this.waiters.length) this.settle(this.last!);
    } catch (e) {
      if (id !== this.seq && errorCode(e) === 'CANCELLED') return;
      const message = errorText(e);
      if (errorCode(e) === 'CANCELLED') {
        this.show({ type: 'cancelled', requestId: id });
      } else {
        this.lastError = message;
        deps.output.error(`explain ${input}: ${message}`);
        this.show({ type: 'error', requestId: id, message, code: errorCode(e) });
      }
      this.settle(e instanceof Error ? e : new Error(message));
    }
  }

  /** The explain request of the panel's current state (explain and evaluate share it). */
  params(input: string): ExplainParams {
    const s = this.ctx.state;
    return {
      modelPath: s.modelPath,
      input,
      method: s.method,
      layers: s.layer ? [s.layer] : undefined,
      classIndex: s.classIndex,
      ...(s.box !== undefined ? { box: s.box } : {}),
      // A segmentation output is explained by the pixels predicted as the class (the panel lists
      // the classes predicted, each with its share); other outputs ignore it.
      region: 'predicted',
      augSmooth: s.augSmooth || undefined,
      scales: s.multiScale ? [1, 0.75, 0.5] : undefined,
      scaleWeights: s.multiScale ? [0.6, 0.3, 0.1] : undefined,
      // The options the user set that this method reads (the others keep their values for when it is chosen again).
      ...methodOptionsFor(s.options, methodOptionKeys(s.method)),
      // Only a clip's pictures (the animated GIF) use these: the webview draws the overlay, and
      // "Save overlay" composes it with the colormap and opacity shown at that moment.
      ...configuredLook(),
      overlay: false,
      // The map at the layer's size when it is the layer's map upsampled: the webview rebuilds it
      // where it draws it (a 512² map is 1 MB, a photo's tens of MB, at the layer's size 1 KB).
      mapsAt: 'layer',
      provider: providerOptions(),
    };
  }

  private postResult(requestId: number): void {
    const same = this.shownPictureKey !== undefined && this.shownPictureKey === this.answerPictureKey;
    const view = this.answer && explainView(this.answer, requestId, { picture: !same });
    if (!view) return;
    this.ctx.post({ type: 'result', view });
    // Posts are dropped until the webview listens; then it replays, picture and all.
    if (this.ctx.webviewReady) this.shownPictureKey = this.answerPictureKey;
  }
}
