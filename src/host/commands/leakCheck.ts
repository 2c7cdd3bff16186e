// CamLens: Run Leak Check… — runs the worker's `leakCheck` scenarios on a model and an image with
// progress and cancel, then shows the verdict per metric (notification, log, and the Memory
// section of the model's CAM panel).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LeakReportView } from '../../panel/protocol';
import type { LeakCheckReport, LeakScenarioName } from '../../worker/protocol';
import { pickImages } from './explainModel';
import { pickModel } from '../pickModel';
import { errorCode, errorText, providerOptions, requireTrust } from '../util';
import type { WorkerClient } from '../../worker/client';
import type { CommandDeps } from './deps';

const SCENARIOS: Array<{ label: LeakScenarioName | 'all'; detail: string }> = [
  { label: 'explain', detail: 'One full explanation per iteration' },
  { label: 'taps', detail: 'Register and remove a tap, then run the model' },
  { label: 'sessions', detail: 'Open a session, run it, release it' },
  { label: 'all', detail: 'The three scenarios one after another' },
];

/** Grown heap types the panel lists per scenario (the log has them all). */
const PANEL_HEAP_TYPES = 8;

/** The report without its measured series, heap diffs cut to their top types (what the panel shows). */
export function leakReportView(r: LeakCheckReport): LeakReportView {
  return {
    ...r,
    scenarios: r.scenarios.map(({ series: _series, heapDiff, ...rest }) => ({
      ...rest,
      ...(heapDiff ? { heapDiff: { ...heapDiff, grown: heapDiff.grown.slice(0, PANEL_HEAP_TYPES) } } : {}),
    })),
  };
}

export interface LeakCheckTarget {
  model?: vscode.Uri;
  image?: vscode.Uri;
  scenario?: LeakScenarioName | 'all';
  iterations?: number;
  /** Heap snapshots diffed per scenario (default true). */
  heapDiff?: boolean;
}

/**
 * Asks what is missing (model, image, scenario, iterations), runs the check and resolves with
 * the report (undefined when the user backed out or cancelled).
 */
export async function runLeakCheck(
  worker: WorkerClient,
  output: vscode.LogOutputChannel,
  target: LeakCheckTarget,
  onReport: (model: string, report: LeakReportView | null, running?: string) => void,
): Promise<LeakCheckReport | undefined> {
  if (!requireTrust('run models')) return undefined;
  const model = target.model ?? (await pickModel());
  if (!model) return undefined;
  const image = target.image ?? (await pickImages(model))?.[0];
  if (!image) return undefined;
  let scenario = target.scenario;
  if (!scenario) {
    const pick = await vscode.window.showQuickPick(
      SCENARIOS.map((s) => ({ label: s.label, detail: s.detail })),
      {
        title: `CamLens: leak check of ${path.basename(model.fsPath)} — scenario`,
        placeHolder: 'Scenario',
      },
    );
    if (!pick) return undefined;
    scenario = pick.label as LeakScenarioName | 'all';
  }
  let iterations = target.iterations;
  if (iterations === undefined) {
    const text = await vscode.window.showInputBox({
      title: 'CamLens: leak check — measured iterations',
      value: '100',
      prompt: 'Iterations per scenario (after 10 warm-up iterations)',
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 5 && Number(v) <= 100000 ? undefined : 'A whole number from 5 to 100000'),
    });
    if (text === undefined) return undefined;
    iterations = Number(text.trim());
  }
  const what = `${scenario} × ${iterations} on ${path.basename(model.fsPath)}`;
  onReport(model.fsPath, null, what);
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CamLens leak check (${what})`, cancellable: true },
      (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        return worker.request(
          'leakCheck',
          { modelPath: model.fsPath, input: image.fsPath, scenario, iterations, heapDiff: target.heapDiff ?? true, provider: providerOptions() },
          {
            signal: ac.signal,
            timeoutMs: 0,
            onProgress: (done, total, message) => {
              const pct = total > 0 ? (done / total) * 100 : 0;
              progress.report({ message: `${message ?? 'running'} ${done}/${total}`, increment: Math.max(0, pct - last) });
              last = pct;
            },
          },
        );
      },
    );
    const view = leakReportView(report);
    onReport(model.fsPath, view);
    for (const s of report.scenarios) {
      output.info(`leak check ${s.scenario}: ${s.verdict} (${s.iterations} iterations, ${s.msPerIteration.toFixed(1)} ms each)`);
      for (const m of s.metrics) output.info(`  ${m.metric}: ${m.verdict} — ${m.summary}`);
      for (const g of s.heapDiff?.grown ?? []) {
        output.info(
          `  heap: ${g.type} count +${g.countGrowth} (${g.newObjects} new${g.newHeldByCode ? `, ${g.newHeldByCode} held only by JIT code objects` : ''}), retained +${g.retainedGrowth} B` +
            (g.retainerPathText ? `; path: ${g.retainerPathText}` : ''),
        );
      }
    }
    const flagged = (v: string) => report.scenarios.flatMap((s) => s.metrics.filter((m) => m.verdict === v).map((m) => `${s.scenario}/${m.metric}`));
    const msg =
      report.verdict === 'no leak'
        ? `CamLens leak check: no leak (${what}).`
        : report.verdict === 'inconclusive'
          ? `CamLens leak check: inconclusive — nothing retained grew, but ${flagged('inconclusive').join(', ')} had not settled; run more iterations to tell (${what}).`
          : `CamLens leak check: suspected leak in ${flagged('suspected leak').join(', ')} (${what}).`;
    void (report.verdict === 'no leak' ? vscode.window.showInformationMessage(msg, 'Show Log') : vscode.window.showWarningMessage(msg, 'Show Log')).then(
      (a) => {
        if (a) output.show();
      },
    );
    return report;
  } catch (e) {
    onReport(model.fsPath, null);
    if (errorCode(e) === 'CANCELLED') {
      void vscode.window.showInformationMessage('CamLens: leak check cancelled.');
      return undefined;
    }
    output.error(`leak check: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`CamLens: leak check failed: ${errorText(e)}`);
    return undefined;
  }
}

export function registerRunLeakCheck({ worker, output, panels }: Pick<CommandDeps, 'worker' | 'output' | 'panels'>): vscode.Disposable {
  return vscode.commands.registerCommand(
    'camlens.runLeakCheck',
    async (model?: vscode.Uri, image?: vscode.Uri, options?: Omit<LeakCheckTarget, 'model' | 'image'>) => {
      // from the palette: the model of the active CAM panel (and its image), else ask
      if (!model || !(model instanceof vscode.Uri)) {
        const active = panels.active();
        model = active ? vscode.Uri.file(active.modelPath) : undefined;
        image = active?.image ? vscode.Uri.file(active.image) : undefined;
      }
      return runLeakCheck(worker, output, { model, image, ...options }, (m, report, running) => panels.get(m)?.leakStatus(report, running));
    },
  );
}
