// Which model a command works on: the .onnx file it was invoked on, else the active editor's,
// else one chosen from the workspace's models (or from disk when the workspace has none).
import * as vscode from 'vscode';

const isModel = (u: vscode.Uri | undefined): u is vscode.Uri => !!u && u.fsPath.toLowerCase().endsWith('.onnx');

/** undefined when the user backs out. */
export async function pickModel(uri?: vscode.Uri, title = 'CamLens: choose a model'): Promise<vscode.Uri | undefined> {
  if (isModel(uri)) return uri;
  const active =
    vscode.window.activeTextEditor?.document.uri ?? (vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined)?.uri;
  if (isModel(active)) return active;
  const found = await vscode.workspace.findFiles('**/*.onnx', '**/node_modules/**', 200);
  if (found.length === 0) return (await vscode.window.showOpenDialog({ filters: { 'ONNX models': ['onnx'] }, canSelectMany: false, title }))?.[0];
  const item = await vscode.window.showQuickPick(
    found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { title, placeHolder: 'ONNX model' },
  );
  return item?.uri;
}
