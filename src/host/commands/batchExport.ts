// "CamLens: Batch Export…": explain a folder of images with the same engine as `camlens batch`
// (engine/batch/runner.ts, pure Node: no onnxruntime or sharp in the extension host; the
// worker does the model runs). Choices are remembered per model; re-running the command on the
// same output folder resumes (complete outputs are skipped). Progress shows done/total,
// images/s and ETA; Cancel stops cleanly and the summary/report cover what was finished.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { takesClips } from '../../engine/batch/clipInputs';
import { runBatch, type BatchTarget } from '../../engine/batch/runner';
import { CAM_METHODS, type CamMethodName } from '../../worker/protocol';
import { WorkerRequestError, type WorkerClient } from '../../worker/client';
import type { CommandDeps } from './deps';
import { pickModel } from '../pickModel';
import { requireTrust } from '../util';

export const BATCH_EXPORT_COMMAND = 'camlens.batchExport';

interface Remembered {
  folder?: string;
  glob?: string;
  methods?: CamMethodName[];
  layers?: string;
  target?: 'top1' | 'class' | 'gt';
  classIndex?: number;
  groundTruth?: string;
  outDir?: string;
}

const stateKey = (model: vscode.Uri) => `camlens.batchExport:${model.fsPath}`;

/** Asks for everything a batch needs; undefined when the user backs out at any step. */
async function askChoices(
  model: vscode.Uri,
  last: Remembered,
): Promise<(Required<Pick<Remembered, 'folder' | 'glob' | 'methods' | 'target' | 'outDir'>> & Remembered) | undefined> {
  const title = `CamLens Batch Export: ${path.basename(model.fsPath)}`;
  const folder = (
    await vscode.window.showOpenDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      title: `${title} — image folder, or for a video model a folder of clips (searched recursively)`,
      defaultUri: last.folder ? vscode.Uri.file(last.folder) : vscode.workspace.workspaceFolders?.[0]?.uri,
    })
  )?.[0]?.fsPath;
  if (!folder) return undefined;
  const glob = await vscode.window.showInputBox({
    title,
    prompt: 'Images to include, as a glob relative to the folder (masks *.mask.* are always skipped)',
    value: last.glob ?? '**/*',
  });
  if (glob === undefined) return undefined;
  const methodPick = await vscode.window.showQuickPick(
    CAM_METHODS.map((m) => ({ label: m, picked: (last.methods ?? ['gradcam']).includes(m) })),
    {
      title,
      canPickMany: true,
      placeHolder: 'Methods (gradient methods and EigenCAM share one model run per batch)',
    },
  );
  if (!methodPick?.length) return undefined;
  const layers = await vscode.window.showInputBox({
    title,
    prompt: 'CAM layers (value names, comma-separated); empty = the suggested layer',
    value: last.layers ?? '',
  });
  if (layers === undefined) return undefined;
  const targetPick = await vscode.window.showQuickPick(
    [
      { label: 'Top-1 class', id: 'top1' as const },
      { label: 'A fixed class…', id: 'class' as const },
      { label: 'Ground truth from a CSV (file,label)…', id: 'gt' as const },
    ],
    { title, placeHolder: `Target (last: ${last.target ?? 'top1'})` },
  );
  if (!targetPick) return undefined;
  let classIndex = last.classIndex;
  let groundTruth = last.groundTruth;
  if (targetPick.id === 'class') {
    const text = await vscode.window.showInputBox({
      title,
      prompt: 'Class index',
      value: String(classIndex ?? 0),
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'a non-negative integer'),
    });
    if (text === undefined) return undefined;
    classIndex = Number(text.trim());
  } else if (targetPick.id === 'gt') {
    groundTruth = (
      await vscode.window.showOpenDialog({
        filters: { CSV: ['csv'] },
        title: `${title} — ground truth CSV (file,label)`,
        defaultUri: groundTruth ? vscode.Uri.file(groundTruth) : vscode.Uri.file(folder),
      })
    )?.[0]?.fsPath;
    if (!groundTruth) return undefined;
  }
  const outDir = await vscode.window.showInputBox({
    title,
    prompt: 'Output folder (an existing batch there is resumed)',
    value: last.outDir ?? `${folder.replace(/[\\/]+$/, '')}-camlens`,
  });
  if (!outDir) return undefined;
  return {
    folder,
    glob: glob.trim() || '**/*',
    methods: methodPick.map((m) => m.label as CamMethodName),
    layers,
    target: targetPick.id,
    classIndex,
    groundTruth,
    outDir,
  };
}

export async function batchExport(
  context: vscode.ExtensionContext,
  worker: WorkerClient,
  output: vscode.LogOutputChannel,
  uri?: vscode.Uri,
): Promise<{ report?: string; done: number; failed: number; cancelled: boolean } | undefined> {
  // Before any question: the batch runs the model on every image (palette and context menu alike).
  if (!requireTrust('run models')) return undefined;
  const model = await pickModel(uri, 'CamLens Batch Export: choose a model');
  if (!model) return undefined;
  const last = context.globalState.get<Remembered>(stateKey(model)) ?? {};
  const c = await askChoices(model, last);
  if (!c) return undefined;
  await context.globalState.update(stateKey(model), c);
  const target: BatchTarget =
    c.target === 'class' ? { kind: 'class', index: c.classIndex ?? 0 } : c.target === 'gt' ? { kind: 'ground-truth' } : { kind: 'top1' };
  const config = vscode.workspace.getConfiguration('camlens');
  const input = c.glob === '**/*' ? c.folder : path.join(c.folder, c.glob);
  const layers = c.layers
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `CamLens batch: ${path.basename(model.fsPath)}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let shown = 0;
      try {
        // Video models ([B, C, T, H, W]) explain clips: each folder of frames, animated GIF/WebP or .npy.
        const clips = takesClips((await worker.request('layers', { modelPath: model.fsPath }, { signal: controller.signal })).summary.inputs[0]?.shape);
        return await runBatch(
          {
            modelPath: model.fsPath,
            inputs: [input],
            outDir: c.outDir,
            methods: c.methods,
            target,
            groundTruthCsv: c.groundTruth,
            resume: true,
            clips,
            params: {
              layers: layers?.length ? layers : undefined,
              provider: {
                provider: config.get('executionProvider', 'auto'),
                deviceId: config.get('deviceId', 0),
                intraOpThreads: config.get('intraOpThreads', 0) || undefined,
              },
            },
          },
          (p, signal) => worker.request('explainBatch', p, { signal }),
          {
            signal: controller.signal,
            onLog: (line) => output.warn(line),
            onProgress: (p) => {
              const pct = p.total ? (100 * p.done) / p.total : 0;
              const eta = p.etaSeconds === undefined ? '' : ` · ETA ${formatSeconds(p.etaSeconds)}`;
              progress.report({
                increment: pct - shown,
                message: `${p.done}/${p.total} · ${p.imagesPerSecond.toFixed(1)} images/s${eta}${p.failed ? ` · ${p.failed} failed` : ''}`,
              });
              shown = pct;
            },
          },
        );
      } catch (e) {
        const text = e instanceof WorkerRequestError || e instanceof Error ? e.message : String(e);
        output.error(`batch export failed: ${text}`);
        void vscode.window.showErrorMessage(`CamLens batch export failed: ${text}`);
        return undefined;
      }
    },
  );
  if (!outcome) return undefined;
  output.info(
    `batch export: ${outcome.done} explained, ${outcome.failed} failed, ${outcome.resumed} resumed, ${outcome.imagesPerSecond.toFixed(1)} images/s → ${outcome.outDir}`,
  );
  const summary = `${outcome.cancelled ? 'Cancelled after' : 'Explained'} ${outcome.done + outcome.resumed} of ${outcome.total} images${outcome.failed ? ` (${outcome.failed} failed: see summary.csv)` : ''}.`;
  void vscode.window.showInformationMessage(`CamLens batch: ${summary}`, 'Open Report', 'Open Summary').then((choice) => {
    if (choice === 'Open Report' && outcome.files.report) void vscode.env.openExternal(vscode.Uri.file(outcome.files.report));
    if (choice === 'Open Summary') void vscode.window.showTextDocument(vscode.Uri.file(outcome.files.summaryCsv));
  });
  return { report: outcome.files.report, done: outcome.done, failed: outcome.failed, cancelled: outcome.cancelled };
}

const formatSeconds = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

export function registerBatchExport({ context, worker, output }: Pick<CommandDeps, 'context' | 'worker' | 'output'>): vscode.Disposable {
  return vscode.commands.registerCommand(BATCH_EXPORT_COMMAND, (uri?: vscode.Uri) => batchExport(context, worker, output, uri));
}
