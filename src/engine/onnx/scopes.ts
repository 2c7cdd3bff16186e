// The layer hierarchy users browse: exporters encode module paths in node names
// (PyTorch: `/layer4/layer4.2/conv3/Conv`, TensorFlow: `model/block/conv/Conv2D`). We split
// on '/' and make a tree of scopes whose leaves are nodes. Nodes without a path sit at the root.
import type { Graph, GraphNode } from './graph';

export interface Scope {
  /** Last path segment ('' for the root). */
  readonly name: string;
  /** Full path, segments joined by '/' ('' for the root). */
  readonly path: string;
  readonly children: Scope[];
  readonly nodes: GraphNode[];
}

/** The scope path of a node: its name's segments without the last one (the op's own name). */
export function scopePathOf(node: GraphNode): string[] {
  const segments = node.name.split('/').filter((s) => s.length > 0);
  return segments.slice(0, -1);
}

export function buildScopeTree(graph: Graph): Scope {
  const root: Scope = { name: '', path: '', children: [], nodes: [] };
  const index = new Map<string, Scope>([['', root]]);
  for (const node of graph.nodes) {
    let scope = root;
    for (const segment of scopePathOf(node)) {
      const path = scope.path ? `${scope.path}/${segment}` : segment;
      let child = index.get(path);
      if (!child) {
        child = { name: segment, path, children: [], nodes: [] };
        index.set(path, child);
        scope.children.push(child);
      }
      scope = child;
    }
    scope.nodes.push(node);
  }
  return root;
}

/** Depth-first walk; `visit` returning false skips a scope's subtree. */
export function walkScopes(scope: Scope, visit: (s: Scope, depth: number) => boolean | void, depth = 0): void {
  if (visit(scope, depth) === false) return;
  for (const child of scope.children) walkScopes(child, visit, depth + 1);
}
