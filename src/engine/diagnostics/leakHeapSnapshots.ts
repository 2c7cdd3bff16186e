// The leak check's heap snapshots: written per scenario at the three stages into a temporary
// folder (or the folder the caller keeps), diffed only once every scenario's measured iterations
// are over (parsing a snapshot takes a few hundred MiB for a moment, which would show in the
// later scenarios' rss), then deleted unless kept.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { CamLensError } from '../errors';
import { diffHeapSnapshotFiles, HEAP_STAGES, type HeapDiffOptions, type HeapDiffReport, type HeapStage } from './heapDiff';

export class LeakHeapSnapshots {
  readonly dir: string;
  /** Per scenario, the milliseconds each stage's snapshot took to write (NaN: not written). */
  private readonly writeMs = new Map<string, Float64Array>();

  /** keepDir: write there and leave the files; otherwise a temporary folder removed by dispose(). */
  constructor(private readonly keepDir?: string) {
    try {
      if (keepDir) fs.mkdirSync((this.dir = path.resolve(keepDir)), { recursive: true });
      else this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camlens-heap-'));
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `leak check: cannot create the heap snapshot folder "${keepDir ?? os.tmpdir()}" (${(e as Error).message}).`);
    }
  }

  /** The hook runLeakScenario calls at each stage. */
  take(scenario: string, stage: HeapStage): void {
    const file = this.file(scenario, stage);
    // The bookkeeping is allocated before the baseline snapshot and only written into afterwards,
    // so the check's own records do not show up as new objects in the diff.
    let ms = this.writeMs.get(scenario);
    if (!ms) this.writeMs.set(scenario, (ms = new Float64Array(HEAP_STAGES.length).fill(NaN)));
    const t0 = performance.now();
    try {
      writeHeapSnapshot(file);
    } catch (e) {
      throw new CamLensError('BAD_ARGUMENT', `leak check: cannot write the heap snapshot "${file}" (${(e as Error).message}).`);
    }
    ms[HEAP_STAGES.indexOf(stage)] = performance.now() - t0;
  }

  private file(scenario: string, stage: HeapStage): string {
    return path.join(this.dir, `${scenario.replace(/[^\w.-]/g, '_')}-${stage}.heapsnapshot`);
  }

  /** The diff of one scenario's three snapshots (deleted afterwards unless kept). */
  diff(scenario: string, options: HeapDiffOptions = {}): HeapDiffReport | undefined {
    const ms = this.writeMs.get(scenario);
    if (!ms || ms.some(Number.isNaN)) return undefined;
    const files = Object.fromEntries(HEAP_STAGES.map((s) => [s, this.file(scenario, s)])) as Record<HeapStage, string>;
    const report = diffHeapSnapshotFiles(files, options);
    for (const summary of report.stages) {
      const file = files[summary.stage];
      summary.bytes = fs.statSync(file).size;
      summary.writeMs = ms[HEAP_STAGES.indexOf(summary.stage)];
      if (this.keepDir) summary.file = file;
      else fs.rmSync(file, { force: true });
    }
    return report;
  }

  dispose(): void {
    if (!this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
