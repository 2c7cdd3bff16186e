// camlens.requestTimeoutSeconds: how long a worker request may take before the client kills
// the worker (it may be stuck in native code) and fails the request. Read at start and followed
// when the user changes it, without restarting anything.
import * as vscode from 'vscode';
import type { WorkerClient } from '../worker/client';

export const requestTimeoutMs = (): number => vscode.workspace.getConfiguration('camlens').get<number>('requestTimeoutSeconds', 300) * 1000;

export function followRequestTimeout(worker: WorkerClient): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('camlens.requestTimeoutSeconds')) worker.timeoutMs = requestTimeoutMs();
  });
}
