// Reads a V8 .heapsnapshot (the JSON that `v8.writeHeapSnapshot` and DevTools write) into flat
// typed arrays: one column per node field and per edge field, edges addressed by node ordinal.
// The heap diff walks graphs of several hundred thousand nodes many times (DFS, dominators,
// BFS); columns of typed arrays keep that fast and about 30 bytes a node.
import * as fs from 'node:fs';
import { CamLensError } from '../errors';

export interface HeapGraph {
  nodeCount: number;
  edgeCount: number;
  strings: string[];
  nodeTypeNames: string[];
  edgeTypeNames: string[];
  /** Index into nodeTypeNames. */
  nodeType: Uint8Array;
  /** Index into strings. */
  nodeName: Uint32Array;
  /** V8's object id: stable for one object across the snapshots of one process. */
  nodeId: Uint32Array;
  selfSize: Float64Array;
  /** Edges of node n are firstEdge[n] … firstEdge[n + 1] - 1. */
  firstEdge: Uint32Array;
  /** Index into edgeTypeNames. */
  edgeType: Uint8Array;
  /** Index into strings, or the element/hidden index (see edgeNameIsIndex). */
  edgeNameOrIndex: Uint32Array;
  /** Ordinal of the node the edge points to. */
  edgeTo: Uint32Array;
  /** Edge type whose target is not retained by the edge (-1 when the snapshot has none). */
  weakEdgeType: number;
}

interface RawSnapshot {
  snapshot?: {
    meta?: { node_fields?: string[]; node_types?: unknown[]; edge_fields?: string[]; edge_types?: unknown[] };
    node_count?: number;
    edge_count?: number;
  };
  nodes?: number[];
  edges?: number[];
  strings?: string[];
}

const bad = (what: string, m: string) => new CamLensError('BAD_ARGUMENT', `heap snapshot ${what}: ${m}`);

export function readHeapSnapshotFile(file: string): HeapGraph {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw bad(`"${file}"`, `cannot read it (${(e as Error).message}).`);
  }
  let raw: RawSnapshot;
  try {
    raw = JSON.parse(text) as RawSnapshot;
  } catch (e) {
    throw bad(`"${file}"`, `not JSON (${(e as Error).message}); is it a complete .heapsnapshot?`);
  }
  return heapGraphFromJson(raw, `"${file}"`);
}

/** The same from an already parsed snapshot object (tests write tiny ones by hand). */
export function heapGraphFromJson(raw: RawSnapshot, what = '(in memory)'): HeapGraph {
  const meta = raw?.snapshot?.meta;
  const { nodes, edges, strings } = raw ?? {};
  if (
    !meta ||
    !Array.isArray(meta.node_fields) ||
    !Array.isArray(meta.edge_fields) ||
    !Array.isArray(nodes) ||
    !Array.isArray(edges) ||
    !Array.isArray(strings)
  ) {
    throw bad(what, 'missing snapshot.meta, nodes, edges or strings; not a V8 heap snapshot.');
  }
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const col = (fields: string[], name: string) => {
    const i = fields.indexOf(name);
    if (i < 0) throw bad(what, `no "${name}" field in its meta (${fields.join(', ')}).`);
    return i;
  };
  const [nType, nName, nId, nSelf, nEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => col(meta.node_fields!, f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => col(meta.edge_fields!, f));
  const nodeTypeNames = (meta.node_types?.[nType] ?? []) as string[];
  const edgeTypeNames = (meta.edge_types?.[eType] ?? []) as string[];
  if (!Array.isArray(nodeTypeNames) || !Array.isArray(edgeTypeNames)) throw bad(what, 'its meta lists no node or edge types.');
  if (nodes.length % nf !== 0 || edges.length % ef !== 0) throw bad(what, 'the nodes or edges array is not a whole number of records (truncated?).');

  const nodeCount = nodes.length / nf;
  const edgeCount = edges.length / ef;
  const nodeType = new Uint8Array(nodeCount);
  const nodeName = new Uint32Array(nodeCount);
  const nodeId = new Uint32Array(nodeCount);
  const selfSize = new Float64Array(nodeCount);
  const firstEdge = new Uint32Array(nodeCount + 1);
  let e = 0;
  for (let n = 0, o = 0; n < nodeCount; n++, o += nf) {
    nodeType[n] = nodes[o + nType];
    nodeName[n] = nodes[o + nName];
    nodeId[n] = nodes[o + nId];
    selfSize[n] = nodes[o + nSelf];
    firstEdge[n] = e;
    e += nodes[o + nEdges];
  }
  firstEdge[nodeCount] = e;
  if (e !== edgeCount) throw bad(what, `the nodes declare ${e} edges but ${edgeCount} are stored (truncated?).`);

  const edgeType = new Uint8Array(edgeCount);
  const edgeNameOrIndex = new Uint32Array(edgeCount);
  const edgeTo = new Uint32Array(edgeCount);
  for (let i = 0, o = 0; i < edgeCount; i++, o += ef) {
    edgeType[i] = edges[o + eType];
    edgeNameOrIndex[i] = edges[o + eName];
    const to = edges[o + eTo];
    // to_node is an offset into the flat nodes array, not an ordinal.
    if (to % nf !== 0 || to >= nodes.length) throw bad(what, `edge ${i} points outside the nodes array (${to}).`);
    edgeTo[i] = to / nf;
  }
  return {
    nodeCount,
    edgeCount,
    strings,
    nodeTypeNames,
    edgeTypeNames,
    nodeType,
    nodeName,
    nodeId,
    selfSize,
    firstEdge,
    edgeType,
    edgeNameOrIndex,
    edgeTo,
    weakEdgeType: edgeTypeNames.indexOf('weak'),
  };
}

/** element and hidden edges carry an index, every other edge type a string. */
export function edgeNameIsIndex(g: HeapGraph, edge: number): boolean {
  const t = g.edgeTypeNames[g.edgeType[edge]];
  return t === 'element' || t === 'hidden';
}
