// Why is this object still alive? The shortest chain of strong references from the GC roots to
// it (breadth-first over non-weak edges from V8's synthetic root), written the way memlab and
// DevTools' Retainers view read: each holder with the reference it holds the next one by.
import { NONE } from './heapDominators';
import { edgeNameIsIndex, type HeapGraph } from './heapSnapshotParse';

export interface RetainerStep {
  /** The holding (or, last, the held) object: class name, or V8's name for internal nodes. */
  node: string;
  /** How it holds the next step (`.prop`, `[3]`, `(internal) table`); absent on the last step. */
  edge?: string;
}

export interface ShortestPathTree {
  /** The edge by which BFS first reached each node (NONE for the root and unreachable nodes). */
  parentEdge: Uint32Array;
  parentNode: Uint32Array;
  /** 1 where even the preferred path passes through a code object: only V8's JIT metadata holds it. */
  heldByCode: Uint8Array;
  root: number;
}

/**
 * Breadth-first from the root, in two rounds: first without passing through V8's code objects
 * (feedback vectors, allocation sites) and object shapes, which keep boilerplates alive but say
 * nothing about which program structure holds an object; then, from everything reached, through
 * them too, for the objects only they reach.
 */
export function shortestPathTree(g: HeapGraph, root = 0): ShortestPathTree {
  const parentEdge = new Uint32Array(g.nodeCount).fill(NONE);
  const parentNode = new Uint32Array(g.nodeCount).fill(NONE);
  const queue = new Uint32Array(g.nodeCount);
  const seen = new Uint8Array(g.nodeCount);
  const heldByCode = new Uint8Array(g.nodeCount);
  const detour = new Uint8Array(g.nodeTypeNames.length);
  for (const t of ['code', 'object shape']) if (g.nodeTypeNames.includes(t)) detour[g.nodeTypeNames.indexOf(t)] = 1;
  let tail = 0;
  queue[tail++] = root;
  seen[root] = 1;
  for (const avoid of [true, false]) {
    for (let head = 0; head < tail; head++) {
      const v = queue[head];
      for (let e = g.firstEdge[v]; e < g.firstEdge[v + 1]; e++) {
        const w = g.edgeTo[e];
        if (seen[w] || g.edgeType[e] === g.weakEdgeType || (avoid && detour[g.nodeType[w]])) continue;
        seen[w] = 1;
        parentEdge[w] = e;
        parentNode[w] = v;
        heldByCode[w] = heldByCode[v] | detour[g.nodeType[w]];
        queue[tail++] = w;
      }
    }
  }
  return { parentEdge, parentNode, heldByCode, root };
}

/** Path length from the root (Infinity when unreachable), to prefer short paths among candidates. */
export function pathLength(tree: ShortestPathTree, node: number, limit = 1000): number {
  let len = 0;
  for (let v = node; v !== tree.root; v = tree.parentNode[v]) {
    if (v === NONE || ++len > limit) return Infinity;
  }
  return len;
}

export function nodeLabel(g: HeapGraph, v: number): string {
  const type = g.nodeTypeNames[g.nodeType[v]];
  const name = g.strings[g.nodeName[v]] ?? '';
  switch (type) {
    case 'object':
    case 'native':
    case 'synthetic':
      return name || (v === 0 ? '(root)' : `(${type})`);
    case 'closure':
      return `${name || '(anonymous)'}()`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'hidden':
    case 'array':
    case 'code':
      return name ? `(${type === 'hidden' ? 'system' : type}) ${shorten(name)}` : `(${type})`;
    default:
      return name ? `(${type}) ${shorten(name)}` : `(${type})`;
  }
}

function shorten(s: string, max = 40): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export function edgeLabel(g: HeapGraph, e: number): string {
  const type = g.edgeTypeNames[g.edgeType[e]];
  const v = g.edgeNameOrIndex[e];
  if (edgeNameIsIndex(g, e)) return type === 'element' ? `[${v}]` : `(hidden ${v})`;
  const name = shorten(g.strings[v] ?? '');
  switch (type) {
    case 'property':
      return `.${name}`;
    case 'context':
      return `(closure variable) ${name}`;
    default:
      return `(${type}) ${name}`.trimEnd();
  }
}

export function retainerPath(g: HeapGraph, tree: ShortestPathTree, node: number): RetainerStep[] | null {
  const steps: RetainerStep[] = [{ node: nodeLabel(g, node) }];
  for (let v = node; v !== tree.root;) {
    const e = tree.parentEdge[v];
    if (e === NONE) return null;
    v = tree.parentNode[v];
    // V8's synthetic root (node 0) holds "(GC roots)" and the global objects; it adds nothing.
    if (v === tree.root && v === 0 && !g.strings[g.nodeName[v]]) break;
    steps.unshift({ node: nodeLabel(g, v), edge: edgeLabel(g, e) });
  }
  return steps;
}

export function formatRetainerPath(steps: RetainerStep[]): string {
  return steps.map((s) => (s.edge ? `${s.node} ${s.edge}` : s.node)).join(' → ');
}
