// "CamLens: Explain Model…": choose images (workspace images, most recent first, Browse…,
// several at once) and open the model's CAM panel on them.
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExplainResult } from '../../worker/protocol';
import { EXCLUDE_GLOB, errorText, IMAGE_GLOB, requireTrust } from '../util';
import type { CommandDeps } from './deps';
import { pickModel } from '../pickModel';

interface ImageItem extends vscode.QuickPickItem {
  uri?: vscode.Uri;
  browse?: boolean;
}

/** The images to explain; undefined when the user backs out. */
export async function pickImages(model: vscode.Uri): Promise<vscode.Uri[] | undefined> {
  const found = await vscode.workspace.findFiles(IMAGE_GLOB, EXCLUDE_GLOB, 5000);
  const withTimes = await Promise.all(found.map(async (uri) => ({ uri, mtime: (await stat(uri.fsPath).catch(() => undefined))?.mtimeMs ?? 0 })));
  // masks beside demo images are images too, but rarely what one explains: list them last
  const isMask = (u: vscode.Uri) => /\.mask\.[^.]+$/i.test(u.fsPath);
  withTimes.sort((a, b) => Number(isMask(a.uri)) - Number(isMask(b.uri)) || b.mtime - a.mtime || a.uri.fsPath.localeCompare(b.uri.fsPath));
  const browse: ImageItem = { label: '$(folder-opened) Browse…', description: 'choose image files on disk', alwaysShow: true, browse: true };
  const items: ImageItem[] = [
    browse,
    ...(withTimes.length ? [{ label: 'workspace images, most recent first', kind: vscode.QuickPickItemKind.Separator } as ImageItem] : []),
    ...withTimes.map(({ uri }) => ({
      label: path.basename(uri.fsPath),
      description: path.dirname(vscode.workspace.asRelativePath(uri)),
      iconPath: uri, // the image itself as its thumbnail
      uri,
    })),
  ];
  const qp = vscode.window.createQuickPick<ImageItem>();
  qp.title = `CamLens: explain ${path.basename(model.fsPath)} — choose images`;
  qp.placeholder = 'Type to filter; Space or the checkboxes select several; Enter explains';
  qp.canSelectMany = true;
  qp.matchOnDescription = true;
  qp.items = items;
  qp.activeItems = items.length > 2 ? [items[2]] : [browse];
  const picked = await new Promise<ImageItem[] | undefined>((resolve) => {
    qp.onDidAccept(() => {
      // Enter with nothing checked means "this one" (the focused row)
      resolve(qp.selectedItems.length ? [...qp.selectedItems] : [...qp.activeItems]);
      qp.hide();
    });
    qp.onDidHide(() => resolve(undefined));
    // a multi-select pick has no focused row after typing: focus the first match so Enter takes it
    qp.onDidChangeValue((v) => {
      const q = v.trim().toLowerCase();
      const match = q && items.find((i) => i.uri && `${i.label} ${i.description ?? ''}`.toLowerCase().includes(q));
      if (match) qp.activeItems = [match];
    });
    qp.show();
  });
  qp.dispose();
  if (!picked || !picked.length) return undefined;
  const uris = picked.filter((i) => i.uri).map((i) => i.uri!);
  if (picked.some((i) => i.browse)) {
    const chosen = await vscode.window.showOpenDialog({
      canSelectMany: true,
      title: 'CamLens: images to explain',
      filters: { Images: ['png', 'jpg', 'jpeg', 'webp', 'tif', 'tiff', 'gif', 'avif'], 'Preprocessed tensors': ['npy'] },
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (chosen) uris.push(...chosen);
  }
  return uris.length ? uris : undefined;
}

/** Opens the CAM panel of `model` on `images` (the layer chosen with "Use as CAM Layer" first). */
export function explainInPanel({ context, panels }: Pick<CommandDeps, 'context' | 'panels'>, model: vscode.Uri, images: vscode.Uri[]): Promise<ExplainResult> {
  const preferred = context.workspaceState.get<string>(`camlens.camLayer:${model.fsPath}`);
  return panels.show(
    model.fsPath,
    images.map((i) => i.fsPath),
    preferred,
  ).result;
}

export function registerExplainModel(deps: Pick<CommandDeps, 'context' | 'panels' | 'tree' | 'output'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.explainModel', async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
    const models = (uris?.length ? uris : uri ? [uri] : []).filter((u) => u.fsPath.toLowerCase().endsWith('.onnx'));
    const model = models[0] ?? (await pickModel(uri));
    if (!model) return undefined;
    if (!requireTrust('run models')) return undefined;
    const images = await pickImages(model);
    if (!images) return undefined;
    if (deps.tree.model?.fsPath !== model.fsPath) void deps.tree.open(model);
    return explainInPanel(deps, model, images).catch((e) => {
      deps.output.error(errorText(e));
      return undefined;
    });
  });
}
