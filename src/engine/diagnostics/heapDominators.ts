// Dominator tree and retained sizes of a heap graph. An object's retained size is what a GC
// would free if the object went away: its own size plus everything only reachable through it,
// i.e. the sizes of the subtree it heads in the dominator tree. Dominators come from the
// Cooper–Harvey–Kennedy iteration ("A Simple, Fast Dominance Algorithm") over reverse postorder,
// the algorithm DevTools uses too; it converges in a few passes on heap graphs. Weak edges do
// not retain, so they are not followed; node 0 (V8's synthetic root) is the root.
import type { HeapGraph } from './heapSnapshotParse';

export interface HeapDominators {
  /** Whether the node is reachable from the root through strong edges (others are garbage in waiting). */
  reachable: Uint8Array;
  /** Immediate dominator's node ordinal (the root's is itself; unreachable nodes: NONE). */
  idom: Uint32Array;
  retainedSize: Float64Array;
  /** Reachable nodes, children before their dominators (post-order of the DFS). */
  postOrder: Uint32Array;
}

export const NONE = 0xffffffff;

export function computeDominators(g: HeapGraph, root = 0): HeapDominators {
  const n = g.nodeCount;
  const { firstEdge, edgeTo, edgeType, weakEdgeType } = g;
  const strong = (e: number) => edgeType[e] !== weakEdgeType;

  // Iterative DFS for the post-order numbering (recursion would overflow on long chains).
  const postIndex = new Uint32Array(n).fill(NONE);
  const postOrder = new Uint32Array(n);
  const visited = new Uint8Array(n);
  const stackNode = new Uint32Array(n);
  const stackEdge = new Uint32Array(n);
  let count = 0;
  let sp = 0;
  stackNode[0] = root;
  stackEdge[0] = firstEdge[root];
  visited[root] = 1;
  while (sp >= 0) {
    const v = stackNode[sp];
    const e = stackEdge[sp];
    if (e < firstEdge[v + 1]) {
      stackEdge[sp] = e + 1;
      const w = edgeTo[e];
      if (!visited[w] && strong(e)) {
        visited[w] = 1;
        sp++;
        stackNode[sp] = w;
        stackEdge[sp] = firstEdge[w];
      }
    } else {
      postIndex[v] = count;
      postOrder[count++] = v;
      sp--;
    }
  }

  // Predecessors of each reachable node (by post index), from strong edges of reachable nodes.
  const predCount = new Uint32Array(count + 1);
  for (let p = 0; p < count; p++) {
    const v = postOrder[p];
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++) if (strong(e)) predCount[postIndex[edgeTo[e]]]++;
  }
  const predStart = new Uint32Array(count + 1);
  for (let p = 0; p < count; p++) predStart[p + 1] = predStart[p] + predCount[p];
  const preds = new Uint32Array(predStart[count]);
  const fill = predStart.slice(0, count);
  for (let p = 0; p < count; p++) {
    const v = postOrder[p];
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++) if (strong(e)) preds[fill[postIndex[edgeTo[e]]]++] = p;
  }

  // idom by post index; the root has the highest post index and dominates itself.
  const rootPost = count - 1;
  const dom = new Uint32Array(count).fill(NONE);
  dom[rootPost] = rootPost;
  let changed = true;
  while (changed) {
    changed = false;
    for (let b = rootPost - 1; b >= 0; b--) {
      let next = NONE;
      for (let i = predStart[b]; i < predStart[b + 1]; i++) {
        const p = preds[i];
        if (dom[p] === NONE) continue;
        if (next === NONE) {
          next = p;
          continue;
        }
        let x = p;
        let y = next;
        while (x !== y) {
          while (x < y) x = dom[x];
          while (y < x) y = dom[y];
        }
        next = x;
      }
      if (dom[b] !== next) {
        dom[b] = next;
        changed = true;
      }
    }
  }

  const idom = new Uint32Array(n).fill(NONE);
  const reachable = new Uint8Array(n);
  const retainedSize = new Float64Array(n);
  for (let p = 0; p < count; p++) {
    const v = postOrder[p];
    reachable[v] = 1;
    idom[v] = postOrder[dom[p]];
    retainedSize[v] = g.selfSize[v];
  }
  // A dominator comes after everything it dominates in post-order, so one pass sums subtrees.
  for (let p = 0; p < rootPost; p++) retainedSize[postOrder[dom[p]]] += retainedSize[postOrder[p]];
  return { reachable, idom, retainedSize, postOrder: postOrder.slice(0, count) };
}
