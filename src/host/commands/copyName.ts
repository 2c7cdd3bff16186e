// "Copy Name" on a value in the Layers view: the value's name, as taps and `camlens --layer`
// take it.
import * as vscode from 'vscode';
import { layerOf, type LayerNode } from '../layerTree';

export function registerCopyName(): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.copyName', async (node?: LayerNode) => {
    const l = layerOf(node);
    if (l) await vscode.env.clipboard.writeText(l.name);
  });
}
