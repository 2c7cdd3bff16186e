// memlab-style diff of three heap snapshots of one process: baseline (before the measured
// iterations), after the run, and final (after a forced GC). Per object type: count and
// retained size at each stage and the growth baseline → final; the types whose count and
// retained size both grew, largest retained growth first; and for the top few, the shortest
// retainer path from the GC roots to one instance that is new (V8 object ids are stable within
// a process, so an id in the final snapshot and not in the baseline is an object allocated
// during the run that survived it).
import { computeDominators, NONE, type HeapDominators } from './heapDominators';
import { readHeapSnapshotFile, type HeapGraph } from './heapSnapshotParse';
import { aggregateTypes, indexTypes, INTERNAL_TYPES, type HeapTypeIndex, type HeapTypeStats } from './heapTypes';
import { formatRetainerPath, nodeLabel, pathLength, retainerPath, shortestPathTree, type RetainerStep, type ShortestPathTree } from './heapRetainerPath';

export type HeapStage = 'baseline' | 'afterRun' | 'final';
export const HEAP_STAGES: readonly HeapStage[] = ['baseline', 'afterRun', 'final'];

/** [baseline, after the run, final] */
export type PerStage = [number, number, number];

export interface HeapTypeGrowth {
  type: string;
  /** V8 bookkeeping ("(system)", "(compiled code)", "(object shape)"): no retainer path is looked for. */
  internal: boolean;
  count: PerStage;
  selfSize: PerStage;
  retainedSize: PerStage;
  /** final - baseline */
  countGrowth: number;
  retainedGrowth: number;
  /** Instances in the final snapshot whose object id the baseline did not have. */
  newObjects: number;
  /**
   * Of those, the ones held only through V8's code objects (feedback vectors, allocation-site
   * boilerplates, compiled code): the JIT warming up, not program data.
   */
  newHeldByCode: number;
  /** From the GC roots to one new instance (the top types only). */
  retainerPath?: RetainerStep[];
  retainerPathText?: string;
  /** How many of the new instances hang off the same kind of holder as the one on the path. */
  heldThisWay?: number;
}

export interface HeapStageSummary {
  stage: HeapStage;
  nodes: number;
  /** Objects reachable from the roots through strong references (what the tables count). */
  reachable: number;
  /** Sum of their own sizes. */
  reachableSize: number;
  /** The .heapsnapshot file's size (filled in by whoever wrote it). */
  bytes?: number;
  /** How long writing it took (the process is paused meanwhile). */
  writeMs?: number;
  /** Where it is, when the caller kept the snapshots. */
  file?: string;
}

export interface HeapDiffReport {
  stages: HeapStageSummary[];
  /** Types whose count and retained size both grew baseline → final, largest retained growth first. */
  grown: HeapTypeGrowth[];
  /** How many types grew in all (grown is cut to maxTypes). */
  grownTypes: number;
  /** Time to parse and analyse the three snapshots. */
  analysisMs: number;
}

export interface HeapDiffOptions {
  /** Retainer paths for this many of the top program (non-internal) types (default 5). */
  paths?: number;
  /** Longest grown list kept in the report (default 30). */
  maxTypes?: number;
  /** Called between the stages (cancellation). */
  check?: () => void;
}

interface AnalysedSnapshot {
  graph: HeapGraph;
  dominators: HeapDominators;
  types: HeapTypeIndex;
  stats: Map<string, HeapTypeStats>;
  summary: HeapStageSummary;
}

function analyse(stage: HeapStage, graph: HeapGraph): AnalysedSnapshot {
  const dominators = computeDominators(graph);
  const types = indexTypes(graph);
  const stats = aggregateTypes(graph, dominators, types);
  let reachableSize = 0;
  for (const v of dominators.postOrder) reachableSize += graph.selfSize[v];
  return { graph, dominators, types, stats, summary: { stage, nodes: graph.nodeCount, reachable: dominators.postOrder.length, reachableSize } };
}

/** The BFS parent's label and the edge type: which kind of holder keeps the object alive. */
function holderKey(g: HeapGraph, tree: ShortestPathTree, v: number, byCode: boolean): string | null {
  const e = tree.parentEdge[v];
  if (e === NONE) return null;
  return `${byCode ? 'code' : 'program'}\u0000${nodeLabel(g, tree.parentNode[v])}\u0000${g.edgeType[e]}`;
}

function sortedReachableIds(a: AnalysedSnapshot): Uint32Array {
  const ids = new Uint32Array(a.dominators.postOrder.length);
  a.dominators.postOrder.forEach((v, i) => {
    ids[i] = a.graph.nodeId[v];
  });
  return ids.sort();
}

function has(sorted: Uint32Array, id: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === id) return true;
    if (sorted[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Diffs the three stages, loading one snapshot at a time (a parsed worker snapshot takes tens of
 * MiB; only the final one is kept for the retainer paths).
 */
export function diffHeapSnapshots(load: (stage: HeapStage) => HeapGraph, options: HeapDiffOptions = {}): HeapDiffReport {
  const t0 = performance.now();
  const maxTypes = options.maxTypes ?? 30;
  const pathCount = options.paths ?? 5;
  const stats: Array<Map<string, HeapTypeStats>> = [];
  const stages: HeapStageSummary[] = [];
  let baselineIds: Uint32Array = new Uint32Array(0);
  let final: AnalysedSnapshot | undefined;
  for (const stage of HEAP_STAGES) {
    options.check?.();
    const a = analyse(stage, load(stage));
    stats.push(a.stats);
    stages.push(a.summary);
    if (stage === 'baseline') baselineIds = sortedReachableIds(a);
    if (stage === 'final') final = a;
  }
  const f = final!;

  const zero: HeapTypeStats = { count: 0, selfSize: 0, retainedSize: 0 };
  const at = (i: number, type: string) => stats[i].get(type) ?? zero;
  const allTypes = new Set([...stats[0].keys(), ...stats[2].keys()]);
  const grownAll: HeapTypeGrowth[] = [];
  for (const type of allTypes) {
    const [b, r, fin] = [at(0, type), at(1, type), at(2, type)];
    const countGrowth = fin.count - b.count;
    const retainedGrowth = fin.retainedSize - b.retainedSize;
    if (countGrowth <= 0 || retainedGrowth <= 0) continue;
    grownAll.push({
      type,
      internal: INTERNAL_TYPES.has(type),
      count: [b.count, r.count, fin.count],
      selfSize: [b.selfSize, r.selfSize, fin.selfSize],
      retainedSize: [b.retainedSize, r.retainedSize, fin.retainedSize],
      countGrowth,
      retainedGrowth,
      newObjects: 0,
      newHeldByCode: 0,
    });
  }
  grownAll.sort((x, y) => y.retainedGrowth - x.retainedGrowth || y.countGrowth - x.countGrowth);
  const grown = grownAll.slice(0, maxTypes);

  // New instances per type in the final snapshot. For the top program types, group the new
  // instances by what holds them (the holder's type and the kind of reference, as memlab
  // clusters its leak traces): a leak is many objects held the same way, while the instance
  // closest to the roots is often a one-off on the stack. Show the largest group's shortest path.
  options.check?.();
  const index = new Map(grown.map((x, i) => [f.types.names.indexOf(x.type), i] as const));
  const wantPath = new Set(
    grown
      .filter((x) => !x.internal)
      .slice(0, pathCount)
      .map((x) => x.type),
  );
  const tree = grown.length ? shortestPathTree(f.graph) : undefined;
  const groups = new Map<string, Map<string, { count: number; node: number; len: number }>>();
  for (const v of f.dominators.postOrder) {
    const i = index.get(f.types.typeOf[v]);
    if (i === undefined || has(baselineIds, f.graph.nodeId[v])) continue;
    const g = grown[i];
    g.newObjects++;
    if (!tree) continue;
    const byCode = tree.heldByCode[v] === 1;
    if (byCode) g.newHeldByCode++;
    if (!wantPath.has(g.type)) continue;
    // Program-held instances first: a code-held group only when the type has nothing else.
    const key = holderKey(f.graph, tree, v, byCode);
    if (key === null) continue;
    let byHolder = groups.get(g.type);
    if (!byHolder) groups.set(g.type, (byHolder = new Map()));
    const len = pathLength(tree, v);
    const group = byHolder.get(key);
    if (!group) byHolder.set(key, { count: 1, node: v, len });
    else {
      group.count++;
      if (len < group.len) {
        group.node = v;
        group.len = len;
      }
    }
  }
  for (const g of grown) {
    const byHolder = groups.get(g.type);
    if (!byHolder || !tree) continue;
    const all = [...byHolder.entries()];
    const program = all.filter(([key]) => key.startsWith('program'));
    const top = (program.length ? program : all).map(([, x]) => x).reduce((a, b) => (b.count > a.count || (b.count === a.count && b.len < a.len) ? b : a));
    const steps = retainerPath(f.graph, tree, top.node);
    if (steps) {
      g.retainerPath = steps;
      g.retainerPathText = formatRetainerPath(steps);
      g.heldThisWay = top.count;
    }
  }
  return { stages, grown, grownTypes: grownAll.length, analysisMs: performance.now() - t0 };
}

export function diffHeapSnapshotFiles(files: Record<HeapStage, string>, options: HeapDiffOptions = {}): HeapDiffReport {
  return diffHeapSnapshots((stage) => readHeapSnapshotFile(files[stage]), options);
}
