// The CAM panel: one webview per model. The shell owns what the panel explains (ExplainState),
// applies the webview's intents and the commands' changes to it, pushes it to the webview, and
// routes the rest to its controllers (explain, memory, metrics). The webview composes the
// overlay itself: opacity, colormap, view mode and zoom change without a round trip.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  methodOptionChangesProblem,
  parseFromWebview,
  withMethodOptions,
  type ColormapName,
  type CompareView,
  type ExplainState,
  type HostToWebview,
  type LayerChoice,
  type LeakReportView,
  type MetricsView,
  type SweepView,
  type WebviewToHost,
} from '../../panel/protocol';
import { CAM_METHODS, type CamMethodName, type ExplainResult, type Result } from '../../worker/protocol';
import { availableMethods, DEFAULT_COMPARE_METHODS } from '../../engine/pipeline/compareDefaults';
import { methodOptionKeys } from '../../engine/cam/registry';
import { errorText, providerOptions, webviewHtml } from '../util';
import { CompareController } from './compareController';
import { currentImage, type PanelContext, type PanelDeps } from './context';
import { ExplainController } from './explainController';
import { overlayPngAsShown } from './explainView';
import { MemoryController } from './memoryController';
import { MetricsController } from './metricsController';
import { saveExplanation, savePicture } from './saves';
import { configuredLook } from './settings';

export const CAM_VIEW_TYPE = 'camlens.camPanel';

export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    // images and maps arrive as pixel data; the page loads nothing but our script and css
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist')],
  };
}

export const panelTitle = (modelPath: string): string => `CamLens: ${path.basename(modelPath)}`;

export class CamPanel implements PanelContext {
  private readonly current: ExplainState;
  private readonly explainer: ExplainController;
  private readonly memory: MemoryController;
  private readonly metrics: MetricsController;
  private readonly comparisons: CompareController;
  private readonly disposables: vscode.Disposable[] = [];
  private layers: Promise<Result<'layers'> | undefined> | undefined;
  webviewReady = false;
  disposed = false;

  /** `onDispose` lets the registry forget the panel. Reads the layer list at once (explainNow starts the explanation). */
  constructor(
    readonly deps: PanelDeps,
    readonly panel: vscode.WebviewPanel,
    state: ExplainState,
    onDispose: () => void,
  ) {
    this.current = { ...state };
    this.explainer = new ExplainController(this, () => void this.refreshTapStats());
    this.memory = new MemoryController(this);
    this.metrics = new MetricsController(
      this,
      (input) => this.explainer.params(input),
      () => this.explainer.lastAnswer?.explanations[0]?.classIndex,
    );
    // Every method of a comparison explains the class chosen, else the one on screen.
    this.comparisons = new CompareController(this, (input) => ({
      ...this.explainer.params(input),
      classIndex: this.current.classIndex ?? this.explainer.lastAnswer?.explanations[0]?.classIndex,
    }));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'camlens.svg');
    panel.webview.html = webviewHtml(panel.webview, deps.extensionUri, 'cam', panelTitle(state.modelPath));
    const onRestart = (n: number) =>
      this.post({ type: 'notice', level: 'warning', text: `The CamLens worker was restarted (restart ${n} this session); taps are registered again.` });
    const onExit = ({ code, signal }: { code: number | null; signal: string | null }) => {
      if (code !== 0)
        this.post({
          type: 'notice',
          level: 'warning',
          text: `The CamLens worker stopped (${signal ?? `exit code ${code}`}); it restarts on the next request.`,
        });
    };
    deps.worker.on('restart', onRestart);
    deps.worker.on('exit', onExit);
    this.disposables.push(
      {
        dispose: () => {
          deps.worker.off('restart', onRestart);
          deps.worker.off('exit', onExit);
        },
      },
      this.memory,
      panel.onDidChangeViewState(() => {
        if (panel.visible) void this.memory.subscribe();
        else {
          this.webviewReady = false;
          this.memory.unsubscribe();
        }
      }),
      panel.onDidDispose(() => {
        this.dispose();
        onDispose();
      }),
      panel.webview.onDidReceiveMessage((m) => void this.onMessage(m)),
      deps.taps.onDidChange((c) => {
        if (c.modelPath === this.current.modelPath) {
          void this.pushState();
          void this.refreshTapStats();
        }
      }),
    );
    void this.layerList();
  }

  // ------------------------------------------------------------ what commands and tests use
  get state(): Readonly<ExplainState> {
    return this.current;
  }
  get modelPath(): string {
    return this.current.modelPath;
  }
  /** The image explained now. */
  get image(): string | undefined {
    return currentImage(this.current);
  }
  get active(): boolean {
    return this.panel.active;
  }
  get last(): ExplainResult | undefined {
    return this.explainer.last;
  }
  get lastError(): string | undefined {
    return this.explainer.lastError;
  }
  get lastMetrics(): MetricsView | undefined {
    return this.metrics.last;
  }
  get lastCompare(): CompareView | undefined {
    return this.comparisons.lastCompare;
  }
  get lastSweep(): SweepView | undefined {
    return this.comparisons.lastSweep;
  }
  get leakReport(): LeakReportView | null {
    return this.memory.leakReport;
  }

  reveal(preserveFocus = false): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  /** Resolves with the next finished explanation (rejects with the next failure). */
  nextResult(): Promise<ExplainResult> {
    return this.explainer.nextResult();
  }

  /** Explains the current state again (e.g. after the worker restarted). */
  explainNow(): Promise<ExplainResult> {
    return this.explainer.explainNow();
  }

  /** Explains `images` (from the first), optionally on another layer. */
  setImages(images: string[], layer?: string): Promise<ExplainResult> {
    return this.change({ images, imageIndex: 0, classIndex: undefined, box: undefined, ...(layer ? { layer } : {}) });
  }

  setLayer(layer: string | undefined): Promise<ExplainResult> {
    return this.change({ layer: layer || undefined });
  }

  setMethod(method: CamMethodName): Promise<ExplainResult> {
    return this.change({ method });
  }

  /** The overlay PNG as the panel shows it with `look` (what "Save overlay PNG" writes). */
  overlayPng(look: { colormap: ColormapName; alpha: number }): Uint8Array {
    if (!this.explainer.last) throw new Error('CamLens: the panel has no explanation yet.');
    return overlayPngAsShown(this.explainer.last, look);
  }

  computeMetrics(): Promise<MetricsView | undefined> {
    return this.metrics.compute();
  }

  /** "Compare methods" on the current image (default: the panel's default selection). */
  compareMethods(methods: CamMethodName[] = availableMethods(DEFAULT_COMPARE_METHODS, CAM_METHODS)): Promise<CompareView | undefined> {
    return this.comparisons.compare(methods);
  }

  /** "Layer sweep": Grad-CAM at every block output of the model, on the current image. */
  layerSweep(): Promise<SweepView | undefined> {
    return this.comparisons.sweep();
  }

  /** The leak-check command reports here (running, then the report or nothing). */
  leakStatus(report: LeakReportView | null, running?: string): void {
    this.memory.leakStatus(report, running);
  }

  // ------------------------------------------------------------ the shell
  /** Dropped until the webview says it listens: its 'ready' replays what it missed. */
  post(m: HostToWebview): void {
    if (!this.disposed && this.webviewReady) void this.panel.webview.postMessage(m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.explainer.dispose();
    this.metrics.dispose();
    this.comparisons.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  /** Applies a change of what is explained, shows it, and explains it. */
  private change(next: Partial<ExplainState>): Promise<ExplainResult> {
    Object.assign(this.current, next);
    if (this.current.imageIndex >= this.current.images.length) this.current.imageIndex = 0;
    void this.pushState();
    return this.explainer.explainNow();
  }

  /** The model's layers, read once per panel (the tree's copy when it shows this model). */
  private layerList(): Promise<Result<'layers'> | undefined> {
    const { tree, worker } = this.deps;
    if (tree.model?.fsPath === this.current.modelPath && tree.data) return Promise.resolve(tree.data);
    this.layers ??= worker.request('layers', { modelPath: this.current.modelPath }).catch(() => {
      this.layers = undefined; // shown by explain; tried again next time
      return undefined;
    });
    return this.layers;
  }

  private async layerChoices(): Promise<LayerChoice[]> {
    const info = await this.layerList();
    const choices: LayerChoice[] = [];
    const suggested = info?.suggestion?.value;
    if (suggested) choices.push({ value: suggested, label: `★ ${suggested} (suggested)` });
    for (const t of this.deps.taps.list(this.current.modelPath)) if (t !== suggested) choices.push({ value: t, label: `${t} (tap)` });
    const layer = this.current.layer;
    if (layer && !choices.some((c) => c.value === layer)) choices.push({ value: layer, label: layer });
    return choices;
  }

  private imageNames(): string[] {
    return this.current.images.map((i) => vscode.workspace.asRelativePath(i));
  }

  private async pushState(): Promise<void> {
    const layerChoices = await this.layerChoices();
    this.post({ type: 'state', state: { ...this.current }, layerChoices, imageNames: this.imageNames() });
  }

  private async onReady(): Promise<void> {
    const layerChoices = await this.layerChoices();
    this.webviewReady = true;
    this.post({
      type: 'init',
      state: { ...this.current },
      methods: CAM_METHODS,
      layerChoices,
      imageNames: this.imageNames(),
      trusted: vscode.workspace.isTrusted,
      view: configuredLook(),
      compareMethods: availableMethods(DEFAULT_COMPARE_METHODS, CAM_METHODS),
      methodOptions: Object.fromEntries(CAM_METHODS.map((method) => [method, methodOptionKeys(method)]).filter(([, keys]) => keys.length)),
    });
    this.explainer.replay();
    this.metrics.replay();
    this.comparisons.replay();
    this.memory.replay();
    void this.refreshTapStats();
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseFromWebview(raw);
    if (!m) {
      this.deps.output.warn(`CAM panel: ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      // An option value out of bounds: say which and what is allowed (the webview checks first; this is the host's gate).
      const o = raw as { type?: unknown; methodOptions?: unknown } | undefined;
      const problem = o?.type === 'setOptions' && o.methodOptions !== undefined ? methodOptionChangesProblem(o.methodOptions) : undefined;
      if (problem) this.post({ type: 'notice', level: 'warning', text: `Option not applied: ${problem}` });
      return;
    }
    await this.apply(m).catch((e) => this.deps.output.error(`CAM panel: ${m.type}: ${errorText(e)}`));
  }

  private async apply(m: WebviewToHost): Promise<void> {
    // Intents that change what is explained: the panel shows the error of a failed explanation itself.
    const quietly = (p: Promise<ExplainResult>) => void p.catch(() => undefined);
    const s = this.current;
    switch (m.type) {
      case 'ready':
        return this.onReady();
      case 'setMethod':
        return quietly(this.setMethod(m.method));
      case 'setLayer':
        return quietly(this.setLayer(m.layer));
      case 'setImage':
        return m.imageIndex < s.images.length ? quietly(this.change({ imageIndex: m.imageIndex, classIndex: undefined, box: undefined })) : undefined;
      case 'setClass':
        // A class and a box each name a detector's target: the latest choice wins.
        return quietly(this.change({ classIndex: m.classIndex ?? undefined, box: undefined }));
      case 'setBox':
        // The boxes are the last result's: another picture's detections are numbered anew.
        return quietly(this.change({ box: m.box ?? undefined, classIndex: undefined }));
      case 'setRegionClass':
        // Only a class the shown result predicts somewhere: another's region is empty (an error).
        return this.explainer.lastAnswer?.regions?.some((g) => g.class === m.classIndex)
          ? quietly(this.change({ classIndex: m.classIndex, box: undefined }))
          : this.deps.output.warn(`CAM panel: class ${m.classIndex} is not among the shown result's predicted regions; ignored.`);
      case 'setOptions':
        return quietly(
          this.change({
            augSmooth: m.augSmooth ?? s.augSmooth,
            multiScale: m.multiScale ?? s.multiScale,
            ...(m.methodOptions ? { options: withMethodOptions(s.options, m.methodOptions) } : {}),
          }),
        );
      case 'rerun':
        return quietly(this.explainNow());
      case 'cancel':
        return this.explainer.cancel();
      case 'chooseLayerInTree':
        await vscode.commands.executeCommand('camlens.openLayerTree', vscode.Uri.file(s.modelPath));
        return;
      case 'releaseAll':
        return this.memory.releaseAll();
      case 'leakCheck': {
        const image = this.image;
        await vscode.commands.executeCommand('camlens.runLeakCheck', vscode.Uri.file(s.modelPath), image ? vscode.Uri.file(image) : undefined);
        return;
      }
      case 'heapSnapshot':
        return this.memory.heapSnapshot();
      case 'computeMetrics':
        return void this.metrics.compute();
      case 'cancelMetrics':
        return this.metrics.cancel();
      case 'compareMethods':
        return void this.comparisons.compare(m.methods);
      case 'layerSweep':
        return void this.comparisons.sweep();
      case 'cancelCompare':
        return this.comparisons.cancel();
      case 'saveCompare':
        return this.comparisons.save(m.kind, { colormap: m.colormap, alpha: m.alpha });
      case 'saveOverlay':
        return saveExplanation(s.modelPath, this.explainer.last, { kind: 'overlay', look: { colormap: m.colormap, alpha: m.alpha } });
      case 'saveNpy':
        return saveExplanation(s.modelPath, this.explainer.last, { kind: 'npy' });
      case 'saveGif':
        return saveExplanation(s.modelPath, this.explainer.last, { kind: 'gif' });
      case 'savePng':
        return savePicture(s.modelPath, m.png, m.name);
      case 'openTree':
      case 'explainModel':
        return; // the model summary's buttons
    }
  }

  /** Statistics of the model's taps (one forward run on the panel's image). */
  async refreshTapStats(): Promise<void> {
    const { taps, worker } = this.deps;
    const modelPath = this.current.modelPath;
    if (!taps.list(modelPath).length || !vscode.workspace.isTrusted) {
      this.post({ type: 'tapStats', taps: [], note: 'No taps: check values in the CamLens Layers view to see their statistics here.' });
      return;
    }
    try {
      await taps.restore(modelPath);
      const image = this.image;
      const r = await worker.request('run', { modelPath, image, stats: true, tensors: false, provider: providerOptions() });
      const wanted = new Set(taps.list(modelPath));
      const note = image ? `Computed on ${vscode.workspace.asRelativePath(image)}.` : 'Computed on an all-zeros input (no image chosen).';
      this.post({ type: 'tapStats', taps: r.taps.filter((t) => wanted.has(t.value)), note });
    } catch (e) {
      this.post({ type: 'tapStats', taps: [], note: `Tap statistics failed: ${errorText(e)}` });
    }
  }
}
