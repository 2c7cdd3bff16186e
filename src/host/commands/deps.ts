// What activate() creates once and hands to every register…() call. Each command takes the
// whole object but declares (with Pick) the parts it uses, so activate() stays a plain list.
import type * as vscode from 'vscode';
import type { WorkerClient } from '../../worker/client';
import type { LayerTree } from '../layerTree';
import type { PanelRegistry } from '../panel/registry';
import type { WorkerStatusBar } from '../statusBar';
import type { TapStore } from '../taps';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  worker: WorkerClient;
  taps: TapStore;
  tree: LayerTree;
  output: vscode.LogOutputChannel;
  status: WorkerStatusBar;
  /** The open CAM panels, one per model. */
  panels: PanelRegistry;
}
