// Worker restarts and crashes go to the CamLens output channel, so a user who wonders why a
// request failed or was slow finds the reason in one place.
import type * as vscode from 'vscode';
import type { WorkerClient, WorkerExit } from '../worker/client';

export function logWorkerLifecycle(worker: WorkerClient, output: vscode.LogOutputChannel): vscode.Disposable {
  const onRestart = (n: number) => output.warn(`worker restarted (${n} restart${n === 1 ? '' : 's'} this session)`);
  const onExit = ({ code, signal }: WorkerExit) => {
    if (code !== 0) output.warn(`worker exited (${signal ?? `code ${code}`}); it starts again on the next request`);
  };
  worker.on('restart', onRestart);
  worker.on('exit', onExit);
  return {
    dispose: () => {
      worker.off('restart', onRestart);
      worker.off('exit', onExit);
    },
  };
}
