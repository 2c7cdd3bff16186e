// The webview's side of the VS Code API: messages to the host and the state VS Code keeps for
// the webview across reloads (and hands to the panel serializer).
import type { PersistedPanel, WebviewToHost } from '../src/panel/protocol';

interface VsCodeApi {
  postMessage(m: WebviewToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

// acquireVsCodeApi may be called once per page.
const api = acquireVsCodeApi();

export const send = (m: WebviewToHost): void => api.postMessage(m);
export const loadState = (): unknown => api.getState();
export const saveState = (s: PersistedPanel): void => api.setState(s);
