// Small host helpers shared by the views: nonces, shape text, error text, settings.
import { formatShape as formatShapeText, type ShapeLike } from '../engine/shapeText';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ProviderOptions } from '../worker/protocol';
import { WorkerRequestError } from '../worker/client';

export const nonce = (): string =>
  randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '');

/** Shapes in the editor's UI read as `[1×3×224×224]`. */
export const formatShape = (shape: ShapeLike): string => formatShapeText(shape, '×');

export const errorText = (e: unknown): string => (e instanceof WorkerRequestError || e instanceof Error ? e.message : String(e));

export const errorCode = (e: unknown): string | undefined => (e instanceof WorkerRequestError ? e.code : undefined);

export function providerOptions(): ProviderOptions {
  const c = vscode.workspace.getConfiguration('camlens');
  const threads = c.get<number>('intraOpThreads', 0);
  const budget = c.get<number>('memoryBudgetMegabytes', 0);
  return {
    provider: c.get<ProviderOptions['provider']>('executionProvider', 'auto'),
    deviceId: c.get<number>('deviceId', 0),
    ...(threads > 0 ? { intraOpThreads: threads } : {}),
    ...(budget > 0 ? { memoryBudgetMB: budget } : {}),
  };
}

/** Models never run in an untrusted workspace; says why and offers the way out. */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `CamLens does not ${what} in an untrusted workspace (a model file can make the runtime do anything it supports). Trust the workspace to continue.`,
      'Manage Workspace Trust',
    )
    .then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

export const UNTRUSTED_MESSAGE =
  'This workspace is not trusted, so CamLens does not run models here. Use "Workspaces: Manage Workspace Trust" to trust it, then try again.';

/** The CSP every CamLens webview uses: no remote anything, scripts only with this page's nonce. */
export function csp(webview: vscode.Webview, n: string): string {
  return [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob: data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
}

/** Shell HTML of a CamLens webview: the bundled webview script renders `view`. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: 'cam' | 'model', title: string): string {
  const n = nonce();
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css'));
  const js = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const chartCss = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'uplot.css'));
  const esc = title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp(webview, n)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${chartCss}">
<link rel="stylesheet" href="${css}">
<title>${esc}</title>
</head>
<body data-view="${view}">
<main id="root" data-state="loading" aria-busy="true"><p class="muted">Loading…</p></main>
<script type="module" nonce="${n}" src="${js}"></script>
</body>
</html>`;
}

export const IMAGE_GLOB = '**/*.{png,jpg,jpeg,webp,tif,tiff,gif,avif,PNG,JPG,JPEG}';
export const EXCLUDE_GLOB = '**/{node_modules,.git,dist,.e2e-cache,.test-output,.vscode-test}/**';
