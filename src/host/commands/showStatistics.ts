// "Show Statistics" on a value in the Layers view: one model run with that value tapped, its
// summary statistics and a text histogram in a Markdown document beside the editor.
import * as vscode from 'vscode';
import { layerOf, type LayerNode } from '../layerTree';
import { errorText, formatShape, providerOptions, requireTrust } from '../util';
import type { CommandDeps } from './deps';

export function registerShowStatistics({ worker, tree }: Pick<CommandDeps, 'worker' | 'tree'>): vscode.Disposable {
  return vscode.commands.registerCommand('camlens.showStatistics', async (node?: LayerNode) => {
    const l = layerOf(node);
    const model = tree.model;
    if (!l || !model || !requireTrust('run models')) return undefined;
    try {
      const r = await vscode.window.withProgress({ location: { viewId: 'camlens.layers' }, title: 'Running the model' }, () =>
        worker.request('run', { modelPath: model.fsPath, taps: [l.name], stats: true, tensors: false, provider: providerOptions() }),
      );
      const s = r.taps.find((t) => t.value === l.name)?.stats;
      if (!s) throw new Error(`no statistics came back for ${l.name}`);
      const max = Math.max(...s.histogram.counts, 1);
      const bars = s.histogram.counts.map((c) => '▁▂▃▄▅▆▇█'[Math.min(7, Math.floor((c / max) * 7.999))]).join('');
      const md = [
        `# ${l.name}`,
        '',
        `${l.op} · ${s.dtype} ${formatShape(s.shape)} · ${s.count} values · ${r.provider}`,
        '',
        '| min | max | mean | std | zeros | NaN | Inf |',
        '|---|---|---|---|---|---|---|',
        `| ${s.min.toPrecision(5)} | ${s.max.toPrecision(5)} | ${s.mean.toPrecision(5)} | ${s.std.toPrecision(5)} | ${(s.zeroFraction * 100).toFixed(1)}% | ${s.nanCount} | ${s.infCount} |`,
        '',
        `Histogram (${s.histogram.min.toPrecision(4)} … ${s.histogram.max.toPrecision(4)}):`,
        '',
        '```',
        bars,
        '```',
        '',
        "_Computed on an all-zeros input: the worker's `run` method takes tensors, not images._",
      ].join('\n');
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: md });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      return s;
    } catch (e) {
      void vscode.window.showErrorMessage(`CamLens: statistics of ${l.name} failed: ${errorText(e)}`);
      return undefined;
    }
  });
}
