// "CamLens: Clear Filter": the Layers view shows every value again.
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

export function registerClearFilter({ tree }: Pick<CommandDeps, 'tree'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.clearFilter', () => tree.setOpFilter(undefined));
}
