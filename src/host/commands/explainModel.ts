// "CamLens: Explain Model…": choose images (workspace images, most recent first, Browse…,
// several at once) and open the model's CAM panel on them.
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXCLUDE_GLOB, IMAGE_GLOB } from '../util';

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
