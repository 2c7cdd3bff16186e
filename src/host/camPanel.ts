// The CAM panel: one webview per model. The host runs `explain` in the worker (a newer request
// aborts the older one), sends the image and the map as typed arrays, and the webview composes
// the overlay itself (opacity, colormap, view mode and zoom change without a round trip).
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CamPanelState, ExplainView, HostToWebview, LeakReportView, MetricsView, WebviewToHost } from '../../webview/messages';
import { CAM_METHODS, type CamMethodName, type ExplainResult, type Result, type TelemetrySample } from '../worker/protocol';
import type { LayerTree } from './layerTree';
import type { TapStore } from './taps';
import { videoView } from './videoView';
import { errorCode, errorText, providerOptions, UNTRUSTED_MESSAGE, webviewHtml } from './util';
import type { WorkerClient } from '../worker/client';

export const CAM_VIEW_TYPE = 'camlens.camPanel';
const COLORMAPS = ['jet', 'turbo', 'viridis', 'inferno'] as const;
const MODES = ['overlay', 'side-by-side', 'heatmap'] as const;

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';

/** Every message from a webview is checked here; anything else is dropped. */
export function parseFromWebview(m: unknown): WebviewToHost | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready': case 'cancel': case 'chooseLayerInTree': case 'saveOverlay': case 'saveNpy': case 'openTree': case 'explainModel':
    case 'releaseAll': case 'leakCheck': case 'heapSnapshot': case 'computeMetrics': case 'cancelMetrics': case 'saveGif':
      return { type: o.type };
    case 'explain': {
      if (o.method !== undefined && !(CAM_METHODS as readonly unknown[]).includes(o.method)) return undefined;
      if (o.layer !== undefined && !isStr(o.layer)) return undefined;
      if (o.classIndex !== undefined && o.classIndex !== null && !(isNum(o.classIndex) && Number.isInteger(o.classIndex) && o.classIndex >= 0)) return undefined;
      if (o.imageIndex !== undefined && !(isNum(o.imageIndex) && Number.isInteger(o.imageIndex) && o.imageIndex >= 0)) return undefined;
      if (o.augSmooth !== undefined && !isBool(o.augSmooth)) return undefined;
      if (o.multiScale !== undefined && !isBool(o.multiScale)) return undefined;
      return {
        type: 'explain', method: o.method as CamMethodName | undefined, layer: o.layer as string | undefined,
        classIndex: o.classIndex as number | null | undefined, imageIndex: o.imageIndex as number | undefined,
        augSmooth: o.augSmooth as boolean | undefined, multiScale: o.multiScale as boolean | undefined,
      };
    }
    case 'ui':
      if (!(COLORMAPS as readonly unknown[]).includes(o.colormap) || !(MODES as readonly unknown[]).includes(o.mode)) return undefined;
      if (!isNum(o.alpha) || o.alpha < 0 || o.alpha > 1 || !isNum(o.zoom) || o.zoom < 0.1 || o.zoom > 32) return undefined;
      return { type: 'ui', colormap: o.colormap as CamPanelState['colormap'], alpha: o.alpha, mode: o.mode as CamPanelState['mode'], zoom: o.zoom };
    case 'savePng':
      if (!(o.png instanceof Uint8Array) || o.png.byteLength > 64 * 1024 * 1024 || !isStr(o.name)) return undefined;
      return { type: 'savePng', png: o.png, name: o.name };
    default:
      return undefined;
  }
}

/** float32 [H, W] as a .npy file (v1.0 header, little endian). */
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export interface PanelDeps {
  extensionUri: vscode.Uri;
  worker: WorkerClient;
  taps: TapStore;
  tree: LayerTree;
  output: vscode.LogOutputChannel;
  onResult(r: ExplainResult): void;
}

export class CamPanel {
  static readonly panels = new Map<string, CamPanel>();
  private seq = 0;
  private abort: AbortController | undefined;
  private layersInfo: Result<'layers'> | undefined;
  last: ExplainResult | undefined;
  lastError: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready: Promise<void>;
  private markReady!: () => void;
  private readonly resultWaiters: Array<(r: ExplainResult | Error) => void> = [];
  // Memory section: one telemetry subscription while the panel is visible
  private telemetrySub: number | undefined;
  private subscribing = false;
  private webviewReady = false;
  private disposed = false;
  private sessionsTimer: NodeJS.Timeout | undefined;
  private leak: LeakReportView | null = null;
  private leakRunning: string | undefined;
  // Metrics section
  private metricsSeq = 0;
  private metricsAbort: AbortController | undefined;
  lastMetrics: MetricsView | undefined;

  static defaultState(modelPath: string, images: string[]): CamPanelState {
    const c = vscode.workspace.getConfiguration('camlens');
    const method = c.get<string>('defaultMethod', 'gradcam');
    const colormap = c.get<string>('colormap', 'jet');
    return {
      modelPath, images, imageIndex: 0,
      method: (CAM_METHODS as readonly string[]).includes(method) ? (method as CamMethodName) : 'gradcam',
      augSmooth: false, multiScale: false,
      colormap: (COLORMAPS as readonly string[]).includes(colormap) ? (colormap as CamPanelState['colormap']) : 'jet',
      alpha: Math.min(1, Math.max(0, c.get<number>('overlayAlpha', 0.5))), mode: 'overlay', zoom: 0,
    };
  }

  /** Opens (or reuses) the panel of `modelPath` and explains the first of `images`. */
  static show(deps: PanelDeps, modelPath: string, images: string[], layer?: string): CamPanel {
    let p = CamPanel.panels.get(modelPath);
    if (p) {
      if (layer) p.state.layer = layer;
      p.state.images = images;
      p.state.imageIndex = 0;
      p.panel.reveal(undefined, false);
      void p.sendInit().then(() => p!.explain());
      return p;
    }
    const panel = vscode.window.createWebviewPanel(CAM_VIEW_TYPE, CamPanel.title(modelPath), vscode.ViewColumn.Active, CamPanel.options(deps.extensionUri));
    p = new CamPanel(deps, panel, { ...CamPanel.defaultState(modelPath, images), ...(layer ? { layer } : {}) });
    void p.ready.then(() => p!.explain());
    return p;
  }

  static revive(deps: PanelDeps, panel: vscode.WebviewPanel, saved: unknown): void {
    const s = saved && typeof saved === 'object' ? (saved as { host?: Partial<CamPanelState> }).host : undefined;
    if (!s || !isStr(s.modelPath) || !Array.isArray(s.images) || !s.images.every(isStr)) {
      panel.webview.html = '<!DOCTYPE html><p>CamLens: this panel could not be restored. Explain the model again.</p>';
      return;
    }
    panel.webview.options = CamPanel.options(deps.extensionUri);
    const p = new CamPanel(deps, panel, { ...CamPanel.defaultState(s.modelPath, s.images), ...s } as CamPanelState);
    void p.ready.then(() => p.explain());
  }

  private static title = (modelPath: string) => `CamLens: ${path.basename(modelPath)}`;
  private static options = (extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions => ({
    enableScripts: true,
    retainContextWhenHidden: false,
    // images and maps arrive as pixel data; the page loads nothing but our script and css
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist')],
  });

  private constructor(private readonly deps: PanelDeps, readonly panel: vscode.WebviewPanel, readonly state: CamPanelState) {
    CamPanel.panels.set(state.modelPath, this);
    this.ready = new Promise((r) => (this.markReady = r));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'camlens.svg');
    panel.webview.html = webviewHtml(panel.webview, deps.extensionUri, 'cam', CamPanel.title(state.modelPath));
    const onRestart = (n: number) => this.post({ type: 'notice', level: 'warning', text: `The CamLens worker was restarted (restart ${n} this session); taps are registered again.` });
    const onExit = ({ code, signal }: { code: number | null; signal: string | null }) => {
      if (code !== 0) this.post({ type: 'notice', level: 'warning', text: `The CamLens worker stopped (${signal ?? `exit code ${code}`}); it restarts on the next request.` });
    };
    // Subscriptions do not survive the worker: forget ours when it exits, subscribe again once
    // it was replaced (deferred: 'restart' fires while the client is still starting the child).
    const onTelemetryRestart = () => { this.telemetrySub = undefined; setTimeout(() => void this.subscribeTelemetry(), 0); };
    const onTelemetryExit = () => { this.telemetrySub = undefined; this.post({ type: 'telemetryStopped', reason: 'The worker stopped; the chart resumes when it starts again.' }); };
    const onTelemetry = (sample: TelemetrySample) => this.onTelemetry(sample);
    deps.worker.on('restart', onRestart);
    deps.worker.on('exit', onExit);
    deps.worker.on('restart', onTelemetryRestart);
    deps.worker.on('exit', onTelemetryExit);
    deps.worker.on('telemetry', onTelemetry);
    this.disposables.push(
      { dispose: () => { deps.worker.off('restart', onRestart); deps.worker.off('exit', onExit); } },
      { dispose: () => { deps.worker.off('restart', onTelemetryRestart); deps.worker.off('exit', onTelemetryExit); deps.worker.off('telemetry', onTelemetry); } },
      panel.onDidChangeViewState(() => {
        if (panel.visible) void this.subscribeTelemetry();
        else { this.webviewReady = false; this.unsubscribeTelemetry(); }
      }),
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => void this.onMessage(m)),
      deps.taps.onDidChange((c) => {
        if (c.modelPath === state.modelPath) { void this.sendLayerChoices(); void this.refreshTapStats(); }
      }),
    );
  }

  private dispose(): void {
    this.disposed = true;
    this.abort?.abort();
    this.metricsAbort?.abort();
    this.unsubscribeTelemetry();
    if (this.sessionsTimer) clearTimeout(this.sessionsTimer);
    if (CamPanel.panels.get(this.state.modelPath) === this) CamPanel.panels.delete(this.state.modelPath);
    this.disposables.forEach((d) => d.dispose());
  }

  private post(m: HostToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private async layerChoices(): Promise<Array<{ value: string; label: string }>> {
    if (!this.layersInfo) {
      try { this.layersInfo = await this.deps.worker.request('layers', { modelPath: this.state.modelPath }); } catch { /* shown by explain */ }
    }
    const choices: Array<{ value: string; label: string }> = [];
    const sugg = this.layersInfo?.suggestion?.value;
    if (sugg) choices.push({ value: sugg, label: `★ ${sugg} (suggested)` });
    for (const t of this.deps.taps.list(this.state.modelPath)) if (t !== sugg) choices.push({ value: t, label: `${t} (tap)` });
    if (this.state.layer && !choices.some((c) => c.value === this.state.layer)) choices.push({ value: this.state.layer, label: this.state.layer });
    return choices;
  }

  private async sendInit(): Promise<void> {
    this.post({
      type: 'init', state: this.state, methods: CAM_METHODS, layerChoices: await this.layerChoices(),
      imageNames: this.state.images.map((i) => vscode.workspace.asRelativePath(i)), trusted: vscode.workspace.isTrusted,
    });
  }

  private async sendLayerChoices(): Promise<void> {
    this.post({ type: 'layerChoices', layerChoices: await this.layerChoices(), layer: this.state.layer });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseFromWebview(raw);
    if (!m) {
      this.deps.output.warn(`CAM panel: ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        await this.sendInit();
        if (this.last) this.postResult(this.seq);
        this.markReady();
        void this.refreshTapStats();
        this.webviewReady = true;
        this.post({ type: 'leakReport', report: this.leak, running: this.leakRunning });
        if (this.lastMetrics) this.post({ type: 'metrics', view: this.lastMetrics });
        void this.subscribeTelemetry();
        return;
      case 'explain':
        if (m.method) this.state.method = m.method;
        if (m.layer !== undefined) this.state.layer = m.layer || undefined;
        if (m.classIndex !== undefined) this.state.classIndex = m.classIndex ?? undefined;
        if (m.imageIndex !== undefined && m.imageIndex < this.state.images.length) { this.state.imageIndex = m.imageIndex; this.state.classIndex = undefined; }
        if (m.augSmooth !== undefined) this.state.augSmooth = m.augSmooth;
        if (m.multiScale !== undefined) this.state.multiScale = m.multiScale;
        await this.explain();
        return;
      case 'cancel':
        this.abort?.abort();
        return;
      case 'ui':
        Object.assign(this.state, { colormap: m.colormap, alpha: m.alpha, mode: m.mode, zoom: m.zoom });
        return;
      case 'chooseLayerInTree':
        await vscode.commands.executeCommand('camlens.openLayerTree', vscode.Uri.file(this.state.modelPath));
        return;
      case 'releaseAll': return this.releaseAll();
      case 'leakCheck': {
        const image = this.state.images[this.state.imageIndex];
        await vscode.commands.executeCommand('camlens.runLeakCheck', vscode.Uri.file(this.state.modelPath), image ? vscode.Uri.file(image) : undefined);
        return;
      }
      case 'heapSnapshot': return this.heapSnapshot();
      case 'computeMetrics': return void this.computeMetrics();
      case 'cancelMetrics':
        this.metricsAbort?.abort();
        return;
      case 'saveOverlay': return this.save('overlay');
      case 'saveNpy': return this.save('npy');
      case 'saveGif': return this.save('gif');
      case 'savePng': {
        const target = await vscode.window.showSaveDialog({ defaultUri: this.defaultSaveUri(`${m.name.replace(/[^\w.-]/g, '_')}.png`), filters: { PNG: ['png'] } });
        if (target) await writeFile(target.fsPath, m.png);
        return;
      }
      default:
        return;
    }
  }

  private defaultSaveUri(name: string): vscode.Uri {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(this.state.modelPath));
    return vscode.Uri.joinPath(folder, name);
  }

  private async save(kind: 'overlay' | 'npy' | 'gif'): Promise<void> {
    const e = this.last?.explanations[0];
    if (!e || !this.last) return void vscode.window.showWarningMessage('CamLens: nothing to save yet.');
    const stem = path.basename(this.last.input).replace(/\.[^.]+$/, '');
    if (kind === 'gif') {
      // Video explanations only: the animated overlay the worker already encoded.
      if (!e.video) return void vscode.window.showWarningMessage('CamLens: an animated overlay exists for video models only.');
      const gif = await vscode.window.showSaveDialog({ defaultUri: this.defaultSaveUri(`${stem}.overlay.gif`), filters: { GIF: ['gif'] } });
      if (!gif) return;
      await writeFile(gif.fsPath, e.video.animatedGif);
      return void vscode.window.showInformationMessage(`CamLens: saved ${vscode.workspace.asRelativePath(gif)}`);
    }
    // A clip's overlay PNG is its per-frame strip.
    const name = kind === 'overlay' ? `${stem}.${e.video ? 'strip' : 'overlay'}.png` : `${stem}.cam.npy`;
    const target = await vscode.window.showSaveDialog({ defaultUri: this.defaultSaveUri(name), filters: kind === 'overlay' ? { PNG: ['png'] } : { NumPy: ['npy'] } });
    if (!target) return;
    // Video maps are [T, H, W] (frame-major), image maps [H, W].
    const frames = e.cam.data.length / (e.cam.height * e.cam.width);
    const shape = frames > 1 ? [frames, e.cam.height, e.cam.width] : [e.cam.height, e.cam.width];
    await writeFile(target.fsPath, kind === 'overlay' ? await this.overlayAsShown(e) : encodeNpy(e.cam.data, shape));
    void vscode.window.showInformationMessage(`CamLens: saved ${vscode.workspace.asRelativePath(target)}`);
  }

  /**
   * The overlay PNG as the panel shows it now: the colormap and opacity the user has set, which
   * may differ from those of the request. A clip's strip comes with the explanation.
   */
  async overlayAsShown(e: ExplainResult['explanations'][number]): Promise<Uint8Array> {
    if (e.video && e.overlayPng) return e.overlayPng;
    const { png } = await this.deps.worker.request('overlay', { image: this.last!.image, cam: e.cam.data, colormap: this.state.colormap, alpha: this.state.alpha });
    return png;
  }

  /** Resolves with the next finished explanation (tests and the command's return value). */
  nextResult(): Promise<ExplainResult> {
    return new Promise((resolve, reject) => this.resultWaiters.push((r) => (r instanceof Error ? reject(r) : resolve(r))));
  }

  private settle(r: ExplainResult | Error): void {
    for (const w of this.resultWaiters.splice(0)) w(r);
  }

  async explain(): Promise<void> {
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const id = ++this.seq;
    const s = this.state;
    const input = s.images[s.imageIndex];
    if (!vscode.workspace.isTrusted) {
      this.lastError = UNTRUSTED_MESSAGE;
      this.post({ type: 'error', requestId: id, message: UNTRUSTED_MESSAGE, code: 'UNTRUSTED' });
      this.settle(new Error(UNTRUSTED_MESSAGE));
      return;
    }
    if (!input) return;
    this.post({ type: 'busy', requestId: id, what: `${s.method} on ${path.basename(input)}` });
    const started = Date.now();
    try {
      await this.deps.taps.restore(s.modelPath).catch(() => undefined);
      const r = await this.deps.worker.request('explain', this.explainParams(input), {
        signal: ac.signal,
        onProgress: (done, total, message) => { if (id === this.seq) this.post({ type: 'progress', requestId: id, done, total, message }); },
      });
      if (id !== this.seq) return; // superseded by a newer request
      this.last = r;
      this.lastError = undefined;
      this.deps.output.info(`explain ${path.basename(input)}: ${r.method} on ${r.layers.join(', ')} → ${r.explanations[0]?.label} (${r.ep}, ${r.timings_ms.total.toFixed(0)} ms in the worker, ${Date.now() - started} ms end to end)`);
      this.postResult(id);
      this.deps.onResult(r);
      this.settle(r);
      void this.refreshTapStats();
    } catch (e) {
      if (id !== this.seq && errorCode(e) === 'CANCELLED') return;
      const message = errorText(e);
      if (errorCode(e) === 'CANCELLED') {
        this.post({ type: 'cancelled', requestId: id });
      } else {
        this.lastError = message;
        this.deps.output.error(`explain ${input}: ${message}`);
        this.post({ type: 'error', requestId: id, message, code: errorCode(e) });
      }
      this.settle(e instanceof Error ? e : new Error(message));
    }
  }

  /** The explain request of the panel's current settings (explain and evaluate share it). */
  private explainParams(input: string) {
    const s = this.state;
    return {
      modelPath: s.modelPath, input, method: s.method,
      layers: s.layer ? [s.layer] : undefined,
      classIndex: s.classIndex,
      augSmooth: s.augSmooth || undefined,
      scales: s.multiScale ? [1, 0.75, 0.5] : undefined,
      scaleWeights: s.multiScale ? [0.6, 0.3, 0.1] : undefined,
      colormap: s.colormap, alpha: s.alpha,
      // The webview draws the overlay; "Save overlay" asks the worker for one when needed.
      overlay: false,
      provider: providerOptions(),
    };
  }

  // ------------------------------------------------------------ Memory section
  private async subscribeTelemetry(): Promise<void> {
    if (this.disposed || this.telemetrySub !== undefined || this.subscribing || !this.panel.visible || !this.webviewReady || !vscode.workspace.isTrusted) return;
    this.subscribing = true;
    try {
      const r = await this.deps.worker.request('telemetry.subscribe', { history: 480 });
      if (this.disposed || !this.panel.visible || this.telemetrySub !== undefined) {
        void this.deps.worker.request('telemetry.unsubscribe', { subscriptionId: r.subscriptionId }).catch(() => undefined);
        return;
      }
      this.telemetrySub = r.subscriptionId;
      this.post({ type: 'telemetry', samples: r.history, reset: true, intervalMs: r.intervalMs });
      void this.refreshSessions();
    } catch (e) {
      this.post({ type: 'memoryNote', text: `Memory telemetry is not available: ${errorText(e)}` });
    } finally {
      this.subscribing = false;
    }
  }

  private unsubscribeTelemetry(): void {
    const id = this.telemetrySub;
    this.telemetrySub = undefined;
    // a worker that is gone has no subscription to end (and must not be started for it)
    if (id !== undefined && this.deps.worker.pid !== undefined) void this.deps.worker.request('telemetry.unsubscribe', { subscriptionId: id }).catch(() => undefined);
  }

  private onTelemetry(sample: TelemetrySample): void {
    if (this.telemetrySub === undefined || !this.webviewReady) return;
    this.post({ type: 'telemetry', samples: [sample], reset: false });
    if (sample.reason === 'request-end' && !sample.request?.method.startsWith('telemetry.') && !this.sessionsTimer) {
      this.sessionsTimer = setTimeout(() => { this.sessionsTimer = undefined; void this.refreshSessions(); }, 300);
    }
  }

  /** The live sessions table (telemetry.snapshot). */
  async refreshSessions(): Promise<void> {
    if (this.disposed || !this.webviewReady || this.deps.worker.pid === undefined) return;
    try {
      const snap = await this.deps.worker.request('telemetry.snapshot', {});
      this.post({ type: 'sessions', sessions: snap.sessions, pid: snap.pid, sample: snap.sample });
    } catch { /* the chart says when the worker is gone */ }
  }

  /** The leak-check command reports here (running, then the report or nothing). */
  leakStatus(report: LeakReportView | null, running?: string): void {
    if (report) this.leak = report;
    this.leakRunning = running;
    this.post({ type: 'leakReport', report: this.leak, running });
  }

  private async releaseAll(): Promise<void> {
    if (this.deps.worker.pid === undefined) {
      this.post({ type: 'memoryNote', text: 'The worker is not running: there are no sessions to release.' });
      return;
    }
    try {
      const r = await this.deps.worker.request('releaseAll', {});
      this.post({ type: 'memoryNote', text: `Released ${r.released} session${r.released === 1 ? '' : 's'}.` });
      await this.refreshSessions();
    } catch (e) {
      this.post({ type: 'memoryNote', text: `Release failed: ${errorText(e)}` });
    }
  }

  private async heapSnapshot(): Promise<void> {
    if (!vscode.workspace.isTrusted) return void vscode.window.showWarningMessage(UNTRUSTED_MESSAGE);
    const folder = await vscode.window.showOpenDialog({
      canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Write heap snapshot here',
      title: 'CamLens: folder for the worker\'s .heapsnapshot', defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!folder?.[0]) return;
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'CamLens: taking a heap snapshot of the worker' }, () =>
        this.deps.worker.request('heapSnapshot', { dir: folder[0].fsPath, prefix: 'camlens-worker' }, { timeoutMs: 0 }));
      const text = `Heap snapshot written: ${path.basename(r.path)} (${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(r.ms)} ms${r.gcForced ? ', after a full GC' : ''}). Open it in Chrome DevTools → Memory.`;
      this.post({ type: 'memoryNote', text });
      const pick = await vscode.window.showInformationMessage(`CamLens: ${text}`, process.platform === 'darwin' ? 'Reveal in Finder' : 'Reveal in File Explorer');
      if (pick) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.path));
    } catch (e) {
      void vscode.window.showErrorMessage(`CamLens: heap snapshot failed: ${errorText(e)}`);
    }
  }

  // ------------------------------------------------------------ Metrics section
  /** Runs `evaluate` on the panel's current model, image, method, layer and class. */
  async computeMetrics(): Promise<MetricsView | undefined> {
    this.metricsAbort?.abort();
    const ac = new AbortController();
    this.metricsAbort = ac;
    const id = ++this.metricsSeq;
    const input = this.state.images[this.state.imageIndex];
    if (!vscode.workspace.isTrusted || !input) {
      this.post({ type: 'metricsError', requestId: id, message: vscode.workspace.isTrusted ? 'No image chosen.' : UNTRUSTED_MESSAGE, cancelled: false });
      return undefined;
    }
    const what = `${this.state.method} on ${path.basename(input)}`;
    this.post({ type: 'metricsBusy', requestId: id, what });
    const started = Date.now();
    try {
      await this.deps.taps.restore(this.state.modelPath).catch(() => undefined);
      const params = { ...this.explainParams(input), classIndex: this.state.classIndex ?? this.last?.explanations[0]?.classIndex };
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `CamLens: metrics of ${what}`, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        return this.deps.worker.request('evaluate', params, {
          signal: ac.signal,
          onProgress: (done, total, message) => {
            if (id !== this.metricsSeq) return;
            const pct = total > 0 ? (done / total) * 100 : 0;
            progress.report({ message: `${message ?? 'working'} ${done}/${total}`, increment: Math.max(0, pct - last) });
            last = pct;
            this.post({ type: 'metricsProgress', requestId: id, done, total, message });
          },
        });
      });
      if (id !== this.metricsSeq) return undefined;
      const view: MetricsView = {
        requestId: id, method: r.method, layers: r.layers, classIndex: r.classIndex, label: r.label, input: vscode.workspace.asRelativePath(r.input), ep: r.ep,
        metrics: r.metrics, curves: r.curves, groundTruth: r.groundTruth ? `${r.groundTruth.kind} from ${vscode.workspace.asRelativePath(r.groundTruth.source)}` : null,
        ms: Date.now() - started,
      };
      this.lastMetrics = view;
      this.deps.output.info(`evaluate ${path.basename(input)}: ${Object.keys(r.metrics).length} figures in ${view.ms} ms (${r.modelRuns.perturbation} perturbation runs, ${r.modelRuns.explanations} extra explanations)`);
      this.post({ type: 'metrics', view });
      return view;
    } catch (e) {
      if (id !== this.metricsSeq) return undefined;
      const cancelled = errorCode(e) === 'CANCELLED';
      if (!cancelled) this.deps.output.error(`evaluate ${input}: ${errorText(e)}`);
      this.post({ type: 'metricsError', requestId: id, message: cancelled ? 'Cancelled.' : errorText(e), cancelled });
      return undefined;
    }
  }

  private postResult(requestId: number): void {
    const r = this.last;
    const e = r?.explanations[0];
    if (!r || !e) return;
    const view: ExplainView = {
      requestId, method: r.method, layers: r.layers, classIndex: e.classIndex, label: e.label,
      predictions: r.predictions,
      image: { data: new Uint8Array(r.image.data), width: r.image.width, height: r.image.height },
      cam: { data: new Float32Array(e.cam.data), width: e.cam.width, height: e.cam.height },
      camRaw: { width: e.camRaw.width, height: e.camRaw.height },
      ep: r.ep, timings: r.timings_ms, notes: r.notes,
      ...(e.video && r.frames ? { video: videoView(r.frames, e.video.temporalWeights) } : {}),
    };
    this.post({ type: 'result', view });
  }

  /** Statistics of the model's taps (one forward run; see the note on its input). */
  async refreshTapStats(): Promise<void> {
    const taps = this.deps.taps.list(this.state.modelPath);
    if (!taps.length || !vscode.workspace.isTrusted) {
      this.post({ type: 'tapStats', taps: [], note: 'No taps: check values in the CamLens Layers view to see their statistics here.' });
      return;
    }
    try {
      await this.deps.taps.restore(this.state.modelPath);
      const image = this.state.images[this.state.imageIndex];
      const r = await this.deps.worker.request('run', { modelPath: this.state.modelPath, image, stats: true, tensors: false, provider: providerOptions() });
      const wanted = new Set(this.deps.taps.list(this.state.modelPath));
      const note = image ? `Computed on ${vscode.workspace.asRelativePath(image)}.` : 'Computed on an all-zeros input (no image chosen).';
      this.post({ type: 'tapStats', taps: r.taps.filter((t) => wanted.has(t.value)), note });
    } catch (e) {
      this.post({ type: 'tapStats', taps: [], note: `Tap statistics failed: ${errorText(e)}` });
    }
  }
}
