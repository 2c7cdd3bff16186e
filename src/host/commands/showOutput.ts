// "CamLens: Show Log": the CamLens output channel (worker restarts, errors, leak-check details).
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

export function registerShowOutput({ output }: Pick<CommandDeps, 'output'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.showOutput', () => output.show());
}
