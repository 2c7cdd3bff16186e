// The tap set of each model: registered in the worker, persisted in workspace state, and
// re-registered whenever the worker is new (a restart loses its taps).
import * as vscode from 'vscode';
import type { WorkerClient } from '../worker/client';

const key = (modelPath: string) => `camlens.taps:${modelPath}`;

export interface TapsChange {
  modelPath: string;
  taps: string[];
}

export class TapStore implements vscode.Disposable {
  /** model → value → handle id in the current worker */
  private readonly handles = new Map<string, Map<string, number>>();
  private readonly emitter = new vscode.EventEmitter<TapsChange>();
  readonly onDidChange = this.emitter.event;
  private readonly onExit = () => this.handles.clear();

  constructor(
    private readonly worker: WorkerClient,
    private readonly state: vscode.Memento,
  ) {
    worker.on('exit', this.onExit);
  }

  dispose(): void {
    this.worker.off('exit', this.onExit);
    this.emitter.dispose();
  }

  /** The persisted tap set (what the user checked), registered or not. */
  list(modelPath: string): string[] {
    return this.state.get<string[]>(key(modelPath), []);
  }

  has(modelPath: string, value: string): boolean {
    return this.list(modelPath).includes(value);
  }

  async add(modelPath: string, value: string): Promise<void> {
    await this.registerInWorker(modelPath, value);
    const taps = this.list(modelPath);
    if (!taps.includes(value)) await this.state.update(key(modelPath), [...taps, value]);
    this.emitter.fire({ modelPath, taps: this.list(modelPath) });
  }

  async remove(modelPath: string, value: string): Promise<void> {
    const id = this.handles.get(modelPath)?.get(value);
    if (id !== undefined) {
      this.handles.get(modelPath)?.delete(value);
      await this.worker.request('taps.remove', { handleId: id }).catch(() => undefined);
    }
    await this.state.update(
      key(modelPath),
      this.list(modelPath).filter((v) => v !== value),
    );
    this.emitter.fire({ modelPath, taps: this.list(modelPath) });
  }

  /**
   * Registers every persisted tap the current worker lacks. Taps the model no longer has are
   * dropped from the persisted set and returned.
   */
  async restore(modelPath: string): Promise<{ restored: string[]; dropped: Array<{ value: string; error: string }> }> {
    const restored: string[] = [];
    const dropped: Array<{ value: string; error: string }> = [];
    for (const value of this.list(modelPath)) {
      if (this.handles.get(modelPath)?.has(value)) continue;
      try {
        await this.registerInWorker(modelPath, value);
        restored.push(value);
      } catch (e) {
        if ((e as { code?: string }).code === 'WORKER_CRASHED' || (e as { code?: string }).code === 'CANCELLED') throw e;
        dropped.push({ value, error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (dropped.length) {
      const gone = new Set(dropped.map((d) => d.value));
      await this.state.update(
        key(modelPath),
        this.list(modelPath).filter((v) => !gone.has(v)),
      );
      this.emitter.fire({ modelPath, taps: this.list(modelPath) });
    }
    return { restored, dropped };
  }

  private async registerInWorker(modelPath: string, value: string): Promise<void> {
    if (this.handles.get(modelPath)?.has(value)) return;
    const r = await this.worker.request('taps.register', { modelPath, value });
    let m = this.handles.get(modelPath);
    if (!m) this.handles.set(modelPath, (m = new Map()));
    m.set(value, r.handleId);
  }
}
