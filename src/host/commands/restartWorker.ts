// "CamLens: Restart Worker": releases the worker's sessions, then kills it; the client starts a
// fresh one on the next request. Killed, not asked to shut down: a worker busy in native code
// would not answer a shutdown request.
import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

export function registerRestartWorker({ worker }: Pick<CommandDeps, 'worker'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.restartWorker', async () => {
    await worker.request('releaseAll', {}).catch(() => undefined);
    const pid = worker.pid;
    if (pid) process.kill(pid, 'SIGKILL');
  });
}
