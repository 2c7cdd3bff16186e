// "CamLens: Open Layer Tree": shows a model's values in the Layers view and reveals the
// suggested CAM layer. Resolves with what was loaded (the host suite reads it).
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';
import { pickModel } from '../pickModel';

export function registerOpenLayerTree({ tree }: Pick<CommandDeps, 'tree'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.openLayerTree', async (uri?: vscode.Uri) => {
    const model = await pickModel(uri);
    if (!model) return undefined;
    await vscode.commands.executeCommand('camlens.layers.focus');
    const r = await tree.open(model);
    await tree.revealSuggested();
    return r ? { layers: r.layers.length, suggestion: r.suggestion?.value ?? null } : undefined;
  });
}
