// "CamLens: Choose Execution Provider…" (also the status bar item's click): sets
// camlens.executionProvider globally; the next session the worker opens uses it.
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/** The values of camlens.executionProvider in package.json, in its order. */
const PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;

export function registerPickExecutionProvider({ status }: Pick<CommandDeps, 'status'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.pickExecutionProvider', async () => {
    const ep = status.providerInUse;
    const current = vscode.workspace.getConfiguration('camlens').get<string>('executionProvider', 'auto');
    const pick = await vscode.window.showQuickPick(
      PROVIDERS.map((p) => ({ label: p, description: p === current ? 'current setting' : p === ep ? 'in use' : undefined })),
      {
        title: `CamLens: execution provider (in use: ${ep || 'not yet run'})`,
      },
    );
    if (pick) await vscode.workspace.getConfiguration('camlens').update('executionProvider', pick.label, vscode.ConfigurationTarget.Global);
  });
}
