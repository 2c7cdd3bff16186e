// "CamLens: Choose Execution Provider…" (also the status bar item's click): sets
// camlens.executionProvider globally; the next session the worker opens uses it. It offers the
// providers this platform's package carries (engine/runtime/platformProviders.ts, the table the
// .vsix packager narrows the setting's enum with), so no choice is one that cannot load here.
import * as vscode from 'vscode';
import { platformTarget, providerChoicesFor } from '../../engine/runtime/platformProviders';
import type { CommandDeps } from './deps';

export function registerPickExecutionProvider({ status }: Pick<CommandDeps, 'status'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.pickExecutionProvider', async () => {
    const ep = status.providerInUse;
    const current = vscode.workspace.getConfiguration('camlens').get<string>('executionProvider', 'auto');
    const items = providerChoicesFor(platformTarget()).map(({ provider, optIn }) => ({
      label: provider,
      description: provider === current ? 'current setting' : provider === ep ? 'in use' : undefined,
      detail: optIn ? 'needs a one-time download of its libraries (README, "Execution providers")' : undefined,
    }));
    const pick = await vscode.window.showQuickPick(items, { title: `CamLens: execution provider (in use: ${ep || 'not yet run'})` });
    if (pick) await vscode.workspace.getConfiguration('camlens').update('executionProvider', pick.label, vscode.ConfigurationTarget.Global);
  });
}
