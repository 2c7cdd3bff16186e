// "CamLens: Show Model Layers": a searchable list of every value of a model, with the suggested
// CAM layer first; picking one copies its name (the layer tree view comes with a later issue).
import * as vscode from 'vscode';
import { WorkerRequestError } from '../../worker/client';
import { formatShape } from '../../engine/shapeText';
import { pickModel } from '../pickModel';
import type { CommandDeps } from './deps';

export function registerShowLayers({ worker, output }: Pick<CommandDeps, 'worker' | 'output'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.showLayers', async (uri?: vscode.Uri) => {
    const model = await pickModel(uri);
    if (!model) return undefined;
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'CamLens: reading model' }, () =>
        worker.request('layers', { modelPath: model.fsPath }),
      );
      const items = result.layers.map((l) => ({
        label: `${l.suggested ? '$(star-full) ' : ''}${l.name}`,
        description: `${l.op}  ${formatShape(l.shape)}  ${l.dtype}`,
        detail: l.scope || undefined,
        name: l.name,
      }));
      items.sort((a, b) => Number(b.label.startsWith('$(star')) - Number(a.label.startsWith('$(star')));
      const pick = await vscode.window.showQuickPick(items, {
        title: `CamLens: ${result.summary.nodeCount} nodes, ${result.layers.length} values`,
        placeHolder: 'Filter by value name or op type; Enter copies the name',
        matchOnDescription: true,
        matchOnDetail: true,
      });
      if (pick) await vscode.env.clipboard.writeText(pick.name);
      return result;
    } catch (e) {
      const message = e instanceof WorkerRequestError ? e.message : String(e);
      output.error(message);
      void vscode.window.showErrorMessage(`CamLens: ${message}`);
      return undefined;
    }
  });
}
