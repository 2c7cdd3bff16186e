// The open CAM panels, one per model: commands find a panel here and change it through its
// methods (setLayer, explainNow, leakStatus), never through its state.
import * as vscode from 'vscode';
import { persistedExplainState, type ExplainState } from '../../panel/protocol';
import type { ExplainResult } from '../../worker/protocol';
import type { PanelDeps } from './context';
import { CAM_VIEW_TYPE, CamPanel, panelOptions, panelTitle } from './camPanel';
import { defaultExplainState } from './settings';

export class PanelRegistry {
  private readonly panels = new Map<string, CamPanel>();

  constructor(private readonly deps: PanelDeps) {}

  get(modelPath: string): CamPanel | undefined {
    return this.panels.get(modelPath);
  }

  /** The focused CAM panel, else the only one. */
  active(): CamPanel | undefined {
    const all = [...this.panels.values()];
    return all.find((p) => p.active) ?? (all.length === 1 ? all[0] : undefined);
  }

  /**
   * Opens (or reuses and reveals) the panel of `modelPath` and starts explaining the first of
   * `images` at once; `result` settles with that explanation.
   */
  show(modelPath: string, images: string[], layer?: string): { panel: CamPanel; result: Promise<ExplainResult> } {
    const open = this.panels.get(modelPath);
    if (open) {
      open.reveal();
      return { panel: open, result: open.setImages(images, layer) };
    }
    const webview = vscode.window.createWebviewPanel(CAM_VIEW_TYPE, panelTitle(modelPath), vscode.ViewColumn.Active, panelOptions(this.deps.extensionUri));
    const panel = this.add(webview, { ...defaultExplainState(modelPath, images), ...(layer ? { layer } : {}) });
    return { panel, result: panel.explainNow() };
  }

  /** The serializer's: a panel from a previous session, explained again from its saved state. */
  revive(webview: vscode.WebviewPanel, saved: unknown): void {
    const s = persistedExplainState(saved);
    if (!s) {
      webview.webview.html = '<!DOCTYPE html><p>CamLens: this panel could not be restored. Explain the model again.</p>';
      return;
    }
    webview.webview.options = panelOptions(this.deps.extensionUri);
    const panel = this.add(webview, { ...defaultExplainState(s.modelPath, s.images), ...s });
    void panel.explainNow().catch(() => undefined); // the panel shows the error
  }

  private add(webview: vscode.WebviewPanel, state: ExplainState): CamPanel {
    const panel: CamPanel = new CamPanel(this.deps, webview, state, () => {
      if (this.panels.get(state.modelPath) === panel) this.panels.delete(state.modelPath);
    });
    this.panels.get(state.modelPath)?.panel.dispose();
    this.panels.set(state.modelPath, panel);
    return panel;
  }
}

/** Panels open when VS Code closed come back with the explanation they showed. */
export function registerPanelSerializer(panels: PanelRegistry): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(CAM_VIEW_TYPE, {
    deserializeWebviewPanel: async (panel, state) => panels.revive(panel, state),
  });
}
