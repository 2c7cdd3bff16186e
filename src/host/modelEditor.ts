// A read-only custom editor for .onnx files: the model summary instead of binary bytes, with
// "Explain…" and "Open Layer Tree" buttons.
import * as vscode from 'vscode';
import { parseFromWebview, type HostToWebview } from '../panel/protocol';
import { errorText, webviewHtml } from './util';
import type { WorkerClient } from '../worker/client';

export const MODEL_EDITOR_VIEW_TYPE = 'camlens.modelEditor';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<vscode.CustomDocument> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly worker: WorkerClient,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media'), vscode.Uri.joinPath(this.extensionUri, 'dist')],
    };
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'model', document.uri.path.split('/').pop() ?? 'model');
    const post = (m: HostToWebview) => void panel.webview.postMessage(m);
    const sendSummary = async () => {
      try {
        const r = await this.worker.request('layers', { modelPath: document.uri.fsPath });
        const ops = new Map<string, number>();
        for (const l of r.layers) if (l.op !== 'Input') ops.set(l.op, (ops.get(l.op) ?? 0) + 1);
        post({
          type: 'summary',
          summary: r.summary,
          suggestion: r.suggestion?.value ?? null,
          layerCount: r.layers.length,
          ops: [...ops.entries()].sort((a, b) => b[1] - a[1]),
        });
      } catch (e) {
        this.output.error(`model summary ${document.uri.fsPath}: ${errorText(e)}`);
        post({ type: 'summaryError', message: errorText(e) });
      }
    };
    panel.webview.onDidReceiveMessage((raw) => {
      const m = parseFromWebview(raw);
      if (!m) return;
      if (m.type === 'ready') void sendSummary();
      else if (m.type === 'explainModel') void vscode.commands.executeCommand('camlens.explainModel', document.uri);
      else if (m.type === 'openTree') void vscode.commands.executeCommand('camlens.openLayerTree', document.uri);
    });
  }
}
