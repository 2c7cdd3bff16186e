// "Save overlay PNG", "Save map .npy", "Save animated GIF" and the webview's report PNG: a save
// dialog in the workspace, then the bytes. The overlay is composed here with the colormap and
// opacity the webview reports in its intent, by the blend its canvas uses.
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { encodeNpy } from '../../engine/npy';
import type { ColormapName } from '../../panel/protocol';
import type { ExplainResult } from '../../worker/protocol';
import { overlayPngAsShown } from './explainView';

export type SaveRequest = { kind: 'overlay'; look: { colormap: ColormapName; alpha: number } } | { kind: 'npy' } | { kind: 'gif' };

function defaultUri(modelPath: string, name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(modelPath));
  return vscode.Uri.joinPath(folder, name);
}

async function saveAs(modelPath: string, name: string, filters: Record<string, string[]>, bytes: () => Uint8Array): Promise<void> {
  const target = await vscode.window.showSaveDialog({ defaultUri: defaultUri(modelPath, name), filters });
  if (!target) return;
  await writeFile(target.fsPath, bytes());
  void vscode.window.showInformationMessage(`CamLens: saved ${vscode.workspace.asRelativePath(target)}`);
}

/** Saves the first explanation of `r` (nothing yet: says so). */
export async function saveExplanation(modelPath: string, r: ExplainResult | undefined, request: SaveRequest): Promise<void> {
  const e = r?.explanations[0];
  if (!r || !e) return void vscode.window.showWarningMessage('CamLens: nothing to save yet.');
  const stem = path.basename(r.input).replace(/\.[^.]+$/, '');
  switch (request.kind) {
    case 'gif':
      // Video explanations only: the animated overlay the worker encoded with the configured look.
      if (!e.video) return void vscode.window.showWarningMessage('CamLens: an animated overlay exists for video models only.');
      return saveAs(modelPath, `${stem}.overlay.gif`, { GIF: ['gif'] }, () => e.video!.animatedGif);
    case 'overlay':
      // A clip's overlay PNG is its per-frame strip.
      return saveAs(modelPath, `${stem}.${e.video ? 'strip' : 'overlay'}.png`, { PNG: ['png'] }, () => overlayPngAsShown(r, request.look));
    case 'npy': {
      // Video maps are [T, H, W] (frame-major), image maps [H, W].
      const frames = e.cam.data.length / (e.cam.height * e.cam.width);
      const shape = frames > 1 ? [frames, e.cam.height, e.cam.width] : [e.cam.height, e.cam.width];
      return saveAs(modelPath, `${stem}.cam.npy`, { NumPy: ['npy'] }, () => encodeNpy(e.cam.data, shape));
    }
  }
}

/** A picture the webview composed (the report). */
export async function savePicture(modelPath: string, png: Uint8Array, name: string): Promise<void> {
  const target = await vscode.window.showSaveDialog({ defaultUri: defaultUri(modelPath, `${name.replace(/[^\w.-]/g, '_')}.png`), filters: { PNG: ['png'] } });
  if (target) await writeFile(target.fsPath, png);
}
