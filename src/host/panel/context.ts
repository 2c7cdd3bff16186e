// What the CAM panel's controllers share: the extension's services and one panel's webview,
// state and lifetime. Kept apart from camPanel.ts so the controllers do not import the shell.
import type * as vscode from 'vscode';
import type { ExplainState, HostToWebview } from '../../panel/protocol';
import type { ExplainAnswer } from '../../worker/protocol';
import type { LayerTree } from '../layerTree';
import type { TapStore } from '../taps';
import type { WorkerClient } from '../../worker/client';

export interface PanelDeps {
  extensionUri: vscode.Uri;
  worker: WorkerClient;
  taps: TapStore;
  tree: LayerTree;
  output: vscode.LogOutputChannel;
  /** Every finished explanation, as the worker answered it (its maps may be at the layer's size). */
  onResult(r: ExplainAnswer): void;
}

export interface PanelContext {
  readonly deps: PanelDeps;
  readonly panel: vscode.WebviewPanel;
  /** The host's state of what is explained (the controllers read it; the shell writes it). */
  readonly state: Readonly<ExplainState>;
  /** True once the webview said it is listening (and until it is hidden: it reloads when shown). */
  readonly webviewReady: boolean;
  readonly disposed: boolean;
  post(m: HostToWebview): void;
}

/** The image the panel explains now (undefined when the list is empty). */
export const currentImage = (s: Readonly<ExplainState>): string | undefined => s.images[s.imageIndex];
