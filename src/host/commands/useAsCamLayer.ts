// "Use as CAM Layer" on a value in the Layers view: the open panel of that model explains again
// with it; without a panel, the value is remembered for the model's next explanation.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { layerOf, type LayerNode } from '../layerTree';
import type { CommandDeps } from './deps';

export function registerUseAsCamLayer({ context, tree, panels }: Pick<CommandDeps, 'context' | 'tree' | 'panels'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.useAsCamLayer', async (node?: LayerNode) => {
    const l = layerOf(node);
    const model = tree.model;
    if (!l || !model) return;
    const panel = panels.get(model.fsPath);
    if (!panel) {
      void vscode.window.showInformationMessage(`CamLens: ${l.name} will be the CAM layer of the next explanation of ${path.basename(model.fsPath)}.`);
      await context.workspaceState.update(`camlens.camLayer:${model.fsPath}`, l.name);
      return;
    }
    panel.reveal(true);
    await panel.setLayer(l.name).catch(() => undefined); // the panel shows a failure itself
  });
}
