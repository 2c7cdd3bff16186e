// "CamLens: Filter by Op Type…": narrows the Layers view to the outputs of the chosen op types,
// most frequent first.
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

export function registerFilterByOpType({ tree }: Pick<CommandDeps, 'tree'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.filterByOpType', async () => {
    if (!tree.data) return void vscode.window.showInformationMessage('CamLens: open a model in the layer tree first.');
    const counts = [...tree.opCounts().entries()].sort((a, b) => b[1] - a[1]);
    const picks = await vscode.window.showQuickPick(
      counts.map(([op, n]) => ({ label: op, description: `${n} value${n === 1 ? '' : 's'}` })),
      {
        canPickMany: true,
        title: 'CamLens: show only the outputs of these op types',
        placeHolder: 'Op types',
      },
    );
    if (picks) tree.setOpFilter(picks.map((p) => p.label));
  });
}
