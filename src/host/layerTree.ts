// The "Layers" view: the model's scope hierarchy (from LayerInfo.scope), children computed on
// demand so models with thousands of nodes stay responsive; tap checkboxes on values.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Result } from '../worker/protocol';
import type { TapStore } from './taps';
import { errorText, formatShape } from './util';
import type { WorkerClient } from '../worker/client';

type LayersResult = Result<'layers'>;
export type LayerInfo = LayersResult['layers'][number];

export type LayerNode = { kind: 'scope'; path: string; name: string } | { kind: 'value'; layer: LayerInfo; label: string } | { kind: 'message'; text: string };

/** The value a layer-tree command was invoked on (its context menu), if it was a value row. */
export const layerOf = (node?: LayerNode): LayerInfo | undefined => (node?.kind === 'value' ? node.layer : undefined);

interface ScopeIndex {
  scopes: Map<string, string[]>; // scope path → child scope paths (sorted by first appearance)
  values: Map<string, LayerInfo[]>; // scope path → values directly in it
}

function buildIndex(layers: LayerInfo[]): ScopeIndex {
  const scopes = new Map<string, string[]>([['', []]]);
  const values = new Map<string, LayerInfo[]>();
  const ensure = (p: string) => {
    if (scopes.has(p)) return;
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    ensure(parent);
    scopes.set(p, []);
    scopes.get(parent)!.push(p);
  };
  for (const l of layers) {
    ensure(l.scope);
    const list = values.get(l.scope) ?? [];
    list.push(l);
    values.set(l.scope, list);
  }
  return { scopes, values };
}

export class LayerTree implements vscode.TreeDataProvider<LayerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<LayerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<LayerNode>;
  model: vscode.Uri | undefined;
  data: LayersResult | undefined;
  private index: ScopeIndex | undefined;
  private probed = new Map<string, number[]>();
  private opFilter: Set<string> | undefined;
  private loadError: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly valueNodes = new Map<string, LayerNode>();

  constructor(
    private readonly worker: WorkerClient,
    private readonly taps: TapStore,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.view = vscode.window.createTreeView('camlens.layers', { treeDataProvider: this, showCollapseAll: true, manageCheckboxStateManually: true });
    this.disposables.push(
      this.view,
      this.changed,
      this.view.onDidChangeCheckboxState((e) => void this.onCheckbox(e)),
      taps.onDidChange((c) => {
        if (c.modelPath === this.model?.fsPath) this.changed.fire(undefined);
      }),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /** Shows `model` in the tree (reads its layers in the worker, restores its taps). */
  async open(model: vscode.Uri): Promise<LayersResult | undefined> {
    this.model = model;
    this.data = undefined;
    this.index = undefined;
    this.loadError = undefined;
    this.probed.clear();
    this.valueNodes.clear();
    this.opFilter = undefined;
    void vscode.commands.executeCommand('setContext', 'camlens.layersFiltered', false);
    this.view.description = path.basename(model.fsPath);
    this.view.message = 'Reading model…';
    this.changed.fire(undefined);
    try {
      this.data = await this.worker.request('layers', { modelPath: model.fsPath });
      this.index = buildIndex(this.data.layers);
      this.view.message = undefined;
      this.changed.fire(undefined);
      if (vscode.workspace.isTrusted) {
        const { dropped } = await this.taps.restore(model.fsPath);
        for (const d of dropped) this.output.warn(`tap ${d.value} dropped: ${d.error}`);
        void this.probe(model);
      }
      return this.data;
    } catch (e) {
      this.loadError = errorText(e);
      this.view.message = undefined;
      this.output.error(`layers ${model.fsPath}: ${this.loadError}`);
      this.changed.fire(undefined);
      return undefined;
    }
  }

  /** Shapes static inference left open come from one run; the tree shows them when they arrive. */
  private async probe(model: vscode.Uri): Promise<void> {
    if (!this.data?.layers.some((l) => l.shape === null || l.shape.some((d) => d === null))) return;
    try {
      const r = await this.worker.request('probeShapes', { modelPath: model.fsPath });
      if (this.model?.fsPath !== model.fsPath) return;
      this.probed = new Map(Object.entries(r.shapes));
      this.changed.fire(undefined);
    } catch (e) {
      this.output.warn(`probeShapes: ${errorText(e)}`);
    }
  }

  setOpFilter(ops: string[] | undefined): void {
    this.opFilter = ops && ops.length ? new Set(ops) : undefined;
    void vscode.commands.executeCommand('setContext', 'camlens.layersFiltered', !!this.opFilter);
    this.view.message = this.opFilter ? `Showing ${[...this.opFilter].join(', ')} outputs only (Clear Filter in the title bar).` : undefined;
    this.changed.fire(undefined);
  }

  opCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const l of this.data?.layers ?? []) counts.set(l.op, (counts.get(l.op) ?? 0) + 1);
    return counts;
  }

  getChildren(node?: LayerNode): LayerNode[] {
    if (!node) {
      if (this.loadError) return [{ kind: 'message', text: `Cannot read the model: ${this.loadError}` }];
      if (!this.index || !this.data) return [];
      if (this.opFilter) return this.data.layers.filter((l) => this.opFilter!.has(l.op)).map((l): LayerNode => ({ kind: 'value', layer: l, label: l.name }));
      return this.childrenOf('');
    }
    return node.kind === 'scope' ? this.childrenOf(node.path) : [];
  }

  private childrenOf(scope: string): LayerNode[] {
    const idx = this.index!;
    const out: LayerNode[] = [];
    for (const sub of idx.scopes.get(scope) ?? []) {
      const name = sub.slice(sub.lastIndexOf('/') + 1);
      // a scope that holds exactly one value and nothing else is shown as that value
      const vals = idx.values.get(sub) ?? [];
      if (vals.length === 1 && (idx.scopes.get(sub) ?? []).length === 0) out.push(this.valueNode(vals[0], name));
      else out.push({ kind: 'scope', path: sub, name });
    }
    for (const l of idx.values.get(scope) ?? []) {
      const label = l.node ? l.node.slice(l.node.lastIndexOf('/') + 1) : l.name;
      out.push(this.valueNode(l, label));
    }
    return out;
  }

  private valueNode(layer: LayerInfo, label: string): LayerNode {
    let n = this.valueNodes.get(layer.name);
    if (!n) this.valueNodes.set(layer.name, (n = { kind: 'value', layer, label }));
    return n;
  }

  getParent(node: LayerNode): LayerNode | undefined {
    if (this.opFilter || node.kind === 'message') return undefined;
    const scope = node.kind === 'scope' ? node.path : node.layer.scope;
    let parent = node.kind === 'scope' ? (scope.includes('/') ? scope.slice(0, scope.lastIndexOf('/')) : '') : scope;
    // a one-value scope is rendered as the value itself: its parent is the scope above
    if (node.kind === 'value' && parent && (this.index?.values.get(parent)?.length ?? 0) === 1 && (this.index?.scopes.get(parent)?.length ?? 0) === 0) {
      parent = parent.includes('/') ? parent.slice(0, parent.lastIndexOf('/')) : '';
    }
    return parent ? { kind: 'scope', path: parent, name: parent.slice(parent.lastIndexOf('/') + 1) } : undefined;
  }

  getTreeItem(node: LayerNode): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('error');
      return item;
    }
    if (node.kind === 'scope') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `scope:${node.path}`;
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      item.tooltip = node.path;
      item.contextValue = 'camlens.scope';
      return item;
    }
    const l = node.layer;
    const modelPath = this.model?.fsPath ?? '';
    const shape = this.probed.get(l.name) ?? l.shape;
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = `value:${l.name}`;
    item.description = `${l.op} ${formatShape(shape)}${l.suggested ? ' · suggested CAM layer' : ''}`;
    item.iconPath = new vscode.ThemeIcon(l.suggested ? 'star-full' : l.op === 'Input' ? 'arrow-right' : 'symbol-field');
    item.tooltip = new vscode.MarkdownString(
      `**${l.name}**\n\n- node: \`${l.node || '(graph input)'}\`\n- op: ${l.op}\n- ${l.dtype} ${formatShape(shape)}${this.probed.has(l.name) ? ' (probed)' : ''}${l.suggested ? `\n- suggested CAM layer: ${this.data?.suggestion?.reason ?? ''}` : ''}`,
    );
    item.checkboxState = {
      state: this.taps.has(modelPath, l.name) ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
      tooltip: 'Tap this value (capture it on every run)',
      accessibilityInformation: { label: `Tap ${l.name}` },
    };
    item.accessibilityInformation = { label: `${node.label}, ${l.op} ${formatShape(shape)}${l.suggested ? ', suggested CAM layer' : ''}` };
    item.contextValue = l.suggested ? 'camlens.value.suggested' : 'camlens.value';
    return item;
  }

  private async onCheckbox(e: vscode.TreeCheckboxChangeEvent<LayerNode>): Promise<void> {
    const model = this.model?.fsPath;
    if (!model) return;
    for (const [node, state] of e.items) {
      if (node.kind !== 'value') continue;
      try {
        if (state === vscode.TreeItemCheckboxState.Checked) {
          if (!vscode.workspace.isTrusted) throw new Error('taps run the model, which CamLens does not do in an untrusted workspace');
          await this.taps.add(model, node.layer.name);
          this.output.info(`tap added: ${node.layer.name}`);
        } else {
          await this.taps.remove(model, node.layer.name);
          this.output.info(`tap removed: ${node.layer.name}`);
        }
      } catch (err) {
        void vscode.window.showErrorMessage(`CamLens: cannot tap ${node.layer.name}: ${errorText(err)}`);
        this.changed.fire(undefined);
      }
    }
  }

  /** Reveals and selects the suggested CAM layer. */
  async revealSuggested(): Promise<void> {
    const s = this.data?.layers.find((l) => l.suggested);
    if (!s) return;
    const scope = s.scope;
    const label =
      this.index?.values.get(scope)?.length === 1 && (this.index?.scopes.get(scope)?.length ?? 0) === 0
        ? scope.slice(scope.lastIndexOf('/') + 1) || s.name
        : s.node.slice(s.node.lastIndexOf('/') + 1) || s.name;
    const node = this.valueNodes.get(s.name) ?? this.valueNode(s, label);
    await this.view.reveal(node, { select: true, focus: false, expand: false }).then(undefined, () => undefined);
  }
}
