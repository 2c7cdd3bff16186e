// One worker request at a time for a panel section: starting one aborts the one before, and a
// result that arrives after a newer request started is no longer wanted.
import * as vscode from 'vscode';
import { UNTRUSTED_MESSAGE } from '../util';

export class LatestRequest {
  private seq = 0;
  private abort: AbortController | undefined;

  /** Aborts the request before; the new one's id and signal. */
  begin(): { id: number; signal: AbortSignal } {
    this.abort?.abort();
    this.abort = new AbortController();
    return { id: ++this.seq, signal: this.abort.signal };
  }

  isCurrent(id: number): boolean {
    return id === this.seq;
  }

  cancel(): void {
    this.abort?.abort();
  }
}

/** Why nothing can run on `input` in this workspace, or undefined when it can. */
export const cannotRun = (input: string | undefined): string | undefined =>
  !vscode.workspace.isTrusted ? UNTRUSTED_MESSAGE : input ? undefined : 'No image chosen.';
