// Groups heap nodes by object type the way DevTools' Summary view does: objects and natives by
// their constructor (class) name, everything else by node type ("(string)", "(array)",
// "(closure)", "(compiled code)", "(system)" for V8's hidden objects). Per type: how many are
// reachable, their own sizes, and their retained size counted once (an instance dominated by
// another instance of the same type is already inside that one's retained size).
import type { HeapDominators } from './heapDominators';
import type { HeapGraph } from './heapSnapshotParse';

export interface HeapTypeStats {
  count: number;
  selfSize: number;
  retainedSize: number;
}

export interface HeapTypeIndex {
  /** Type index of every node (-1: synthetic nodes such as the roots, which are not objects). */
  typeOf: Int32Array;
  names: string[];
}

/** V8 bookkeeping rather than program data: shown in the tables, but never the "leak" of a program. */
export const INTERNAL_TYPES: ReadonlySet<string> = new Set(['(system)', '(compiled code)', '(object shape)']);

export function typeKey(nodeType: string, name: string): string | null {
  switch (nodeType) {
    case 'object':
    case 'native':
      return name || '(anonymous object)';
    case 'synthetic':
      return null;
    case 'hidden':
      return '(system)';
    case 'code':
      return '(compiled code)';
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'number':
      return '(heap number)';
    default:
      return `(${nodeType})`;
  }
}

export function indexTypes(g: HeapGraph): HeapTypeIndex {
  const typeOf = new Int32Array(g.nodeCount);
  const names: string[] = [];
  const byKey = new Map<string, number>();
  // Most nodes share a handful of (node type, name) pairs: memoise per pair, not per node.
  const memo = new Map<number, number>();
  const typeCount = g.nodeTypeNames.length;
  for (let v = 0; v < g.nodeCount; v++) {
    const pair = g.nodeName[v] * typeCount + g.nodeType[v];
    let t = memo.get(pair);
    if (t === undefined) {
      const key = typeKey(g.nodeTypeNames[g.nodeType[v]], g.strings[g.nodeName[v]]);
      if (key === null) t = -1;
      else {
        t = byKey.get(key);
        if (t === undefined) {
          t = names.length;
          names.push(key);
          byKey.set(key, t);
        }
      }
      memo.set(pair, t);
    }
    typeOf[v] = t;
  }
  return { typeOf, names };
}

export function aggregateTypes(g: HeapGraph, d: HeapDominators, types: HeapTypeIndex): Map<string, HeapTypeStats> {
  const k = types.names.length;
  const count = new Float64Array(k);
  const self = new Float64Array(k);
  const retained = new Float64Array(k);
  const { typeOf } = types;
  for (const v of d.postOrder) {
    const t = typeOf[v];
    if (t < 0) continue;
    count[t]++;
    self[t] += g.selfSize[v];
  }
  // Count a node's retained size for its type unless an ancestor in the dominator tree has the
  // same type: walk the tree depth-first keeping how many of each type are on the current path.
  const n = g.nodeCount;
  const childCount = new Uint32Array(n + 1);
  const root = d.postOrder[d.postOrder.length - 1];
  for (const v of d.postOrder) if (v !== root) childCount[d.idom[v]]++;
  const childStart = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) childStart[v + 1] = childStart[v] + childCount[v];
  const children = new Uint32Array(childStart[n]);
  const fill = childStart.slice(0, n);
  for (const v of d.postOrder) if (v !== root) children[fill[d.idom[v]]++] = v;

  const onPath = new Uint32Array(k);
  const stack = new Uint32Array(d.postOrder.length);
  const next = new Uint32Array(d.postOrder.length);
  let sp = 0;
  stack[0] = root;
  next[0] = childStart[root];
  while (sp >= 0) {
    const v = stack[sp];
    const i = next[sp];
    if (i === childStart[v]) {
      const t = typeOf[v];
      if (t >= 0) {
        if (onPath[t] === 0) retained[t] += d.retainedSize[v];
        onPath[t]++;
      }
    }
    if (i < childStart[v + 1]) {
      next[sp] = i + 1;
      sp++;
      stack[sp] = children[i];
      next[sp] = childStart[children[i]];
    } else {
      const t = typeOf[v];
      if (t >= 0) onPath[t]--;
      sp--;
    }
  }
  const out = new Map<string, HeapTypeStats>();
  for (let t = 0; t < k; t++) if (count[t] > 0) out.set(types.names[t], { count: count[t], selfSize: self[t], retainedSize: retained[t] });
  return out;
}
