import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { after, describe, it } from 'node:test';
import { computeDominators, NONE } from '../../src/engine/diagnostics/heapDominators';
import { diffHeapSnapshotFiles } from '../../src/engine/diagnostics/heapDiff';
import { formatRetainerPath, retainerPath, shortestPathTree } from '../../src/engine/diagnostics/heapRetainerPath';
import { heapGraphFromJson, readHeapSnapshotFile } from '../../src/engine/diagnostics/heapSnapshotParse';
import { aggregateTypes, indexTypes } from '../../src/engine/diagnostics/heapTypes';

const dir = mkdtempSync(join(tmpdir(), 'camlens-heapdiff-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A hand-written snapshot in V8's format. Node field order differs from V8's on purpose (the
// parser must go by the meta), and to_node is an offset into the flat nodes array.
const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
type N = { name: string; type: string; self: number; edges: Array<[string, string | number, string]> };
function tinySnapshot(nodes: Record<string, N>) {
  const keys = Object.keys(nodes);
  const strings: string[] = [];
  const str = (s: string) => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  };
  const fields = ['id', 'type', 'name', 'edge_count', 'self_size'];
  const flat: number[] = [];
  const edges: number[] = [];
  keys.forEach((k, i) => {
    const n = nodes[k];
    flat.push(2 * i + 1, NODE_TYPES.indexOf(n.type), str(n.name), n.edges.length, n.self);
    for (const [type, name, to] of n.edges) {
      edges.push(EDGE_TYPES.indexOf(type), typeof name === 'number' ? name : str(name), keys.indexOf(to) * fields.length);
    }
  });
  return {
    snapshot: { meta: { node_fields: fields, node_types: [null, NODE_TYPES], edge_fields: ['type', 'name_or_index', 'to_node'], edge_types: [EDGE_TYPES] } },
    nodes: flat,
    edges,
    strings,
  };
}

//   root ─► A(Foo,10) ─► B(Foo,20) ─► D(array,40) ─► E(string,5) ─► F(closure,7)
//              │            └─► H(hidden,1)  ▲   └─(back edge)─► A
//              └─► C(Bar,30) ────────────────┘
//   A ─(weak)─► G(Ghost,100): held only weakly, so unreachable.
const diamond = tinySnapshot({
  root: { name: '', type: 'synthetic', self: 0, edges: [['shortcut', 'a', 'A']] },
  A: {
    name: 'Foo',
    type: 'object',
    self: 10,
    edges: [
      ['property', 'left', 'B'],
      ['property', 'right', 'C'],
      ['weak', 'ghost', 'G'],
    ],
  },
  B: {
    name: 'Foo',
    type: 'object',
    self: 20,
    edges: [
      ['property', 'down', 'D'],
      ['internal', 'meta', 'H'],
    ],
  },
  C: { name: 'Bar', type: 'object', self: 30, edges: [['element', 0, 'D']] },
  D: {
    name: '',
    type: 'array',
    self: 40,
    edges: [
      ['element', 3, 'E'],
      ['property', 'owner', 'A'],
    ],
  },
  E: { name: 'hello', type: 'string', self: 5, edges: [['internal', 'next', 'F']] },
  F: { name: 'onTick', type: 'closure', self: 7, edges: [] },
  H: { name: 'system / Meta', type: 'hidden', self: 1, edges: [] },
  G: { name: 'Ghost', type: 'object', self: 100, edges: [] },
});
const ordinal = (k: string) => ['root', 'A', 'B', 'C', 'D', 'E', 'F', 'H', 'G'].indexOf(k);

describe('heap snapshot parsing and dominators', () => {
  const g = heapGraphFromJson(diamond);
  const d = computeDominators(g);

  it('reads the columns by the meta', () => {
    equal(g.nodeCount, 9);
    equal(g.edgeCount, 10);
    equal(g.nodeId[ordinal('C')], 7);
    equal(g.selfSize[ordinal('D')], 40);
    equal(g.edgeTo[g.firstEdge[ordinal('C')]], ordinal('D'));
  });

  it('finds immediate dominators through the diamond, the chain and the cycle', () => {
    const idom = (k: string) => d.idom[ordinal(k)];
    equal(idom('A'), ordinal('root'));
    equal(idom('B'), ordinal('A'));
    equal(idom('D'), ordinal('A'), 'D is reached through B and through C: only A dominates it');
    equal(idom('E'), ordinal('D'));
    equal(idom('F'), ordinal('E'));
    equal(idom('H'), ordinal('B'));
    equal(idom('G'), NONE, 'only a weak edge reaches G');
    equal(d.reachable[ordinal('G')], 0);
  });

  it('computes retained sizes (subtree sums of the dominator tree)', () => {
    const retained = (k: string) => d.retainedSize[ordinal(k)];
    deepStrictEqual(['F', 'E', 'D', 'H', 'B', 'C', 'A', 'root'].map(retained), [7, 12, 52, 1, 21, 30, 113, 113]);
  });

  it("groups by type like DevTools and counts a type's retained size once", () => {
    const stats = aggregateTypes(g, d, indexTypes(g));
    // B is inside A's retained size: Foo retains 113, not 113 + 21.
    deepStrictEqual(stats.get('Foo'), { count: 2, selfSize: 30, retainedSize: 113 });
    deepStrictEqual(stats.get('Bar'), { count: 1, selfSize: 30, retainedSize: 30 });
    deepStrictEqual(stats.get('(array)'), { count: 1, selfSize: 40, retainedSize: 52 });
    deepStrictEqual(stats.get('(string)'), { count: 1, selfSize: 5, retainedSize: 12 });
    deepStrictEqual(stats.get('(closure)'), { count: 1, selfSize: 7, retainedSize: 7 });
    deepStrictEqual(stats.get('(system)'), { count: 1, selfSize: 1, retainedSize: 1 });
    equal(stats.get('Ghost'), undefined, 'unreachable objects are not counted');
  });

  it('writes the shortest strong retainer path', () => {
    const path = retainerPath(g, shortestPathTree(g), ordinal('F'));
    ok(path);
    equal(formatRetainerPath(path), 'Foo .left → Foo .down → (array) [3] → (string) (internal) next → onTick()');
    equal(retainerPath(g, shortestPathTree(g), ordinal('G')), null);
  });

  it('rejects what is not a heap snapshot with a typed error', () => {
    throws(
      () => heapGraphFromJson({ nodes: [] } as never),
      (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT' && /not a V8 heap snapshot/.test(e.message),
    );
    const file = join(dir, 'cut.heapsnapshot');
    writeFileSync(file, JSON.stringify(diamond).slice(0, 100));
    throws(
      () => readHeapSnapshotFile(file),
      (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT' && /not JSON/.test(e.message),
    );
    const cut = { ...diamond, edges: diamond.edges.slice(0, -3) };
    throws(() => heapGraphFromJson(cut), /declare 10 edges but 9 are stored/);
  });
});

class PlantedLeak {
  constructor(
    readonly index: number,
    readonly payload = [index, index + 1],
  ) {}
}
class NotKept {
  constructor(readonly index: number) {}
}

describe('heap diff of real snapshots of this process', () => {
  it('lists 2000 PlantedLeak kept in a global array with a retainer path to one, and not the dropped objects', () => {
    const g = globalThis as { camlensPlantedLeaks?: PlantedLeak[] };
    const baseline = writeHeapSnapshot(join(dir, 'baseline.heapsnapshot'));
    g.camlensPlantedLeaks = [];
    let dropped: NotKept[] | null = [];
    for (let i = 0; i < 2000; i++) {
      g.camlensPlantedLeaks.push(new PlantedLeak(i));
      dropped.push(new NotKept(i));
    }
    const afterRun = writeHeapSnapshot(join(dir, 'after-run.heapsnapshot'));
    equal(dropped.length, 2000);
    dropped = null;
    const final = writeHeapSnapshot(join(dir, 'final.heapsnapshot'));
    try {
      const r = diffHeapSnapshotFiles({ baseline, afterRun, final });
      const leak = r.grown.find((x) => x.type === 'PlantedLeak');
      ok(leak, `PlantedLeak among ${r.grown.map((x) => x.type).join(', ')}`);
      deepStrictEqual(leak.count, [0, 2000, 2000]);
      equal(leak.countGrowth, 2000);
      equal(leak.newObjects, 2000);
      equal(leak.newHeldByCode, 0);
      // Each retains itself and its two-element payload array.
      ok(leak.retainedGrowth >= leak.selfSize[2] + 2000 * 16, `retained growth ${leak.retainedGrowth}`);
      ok(leak.retainerPathText?.endsWith('→ PlantedLeak'), leak.retainerPathText);
      ok(leak.retainerPathText?.includes('.camlensPlantedLeaks → Array'), leak.retainerPathText);
      equal(leak.heldThisWay, 2000);
      equal(
        r.grown.find((x) => x.type === 'NotKept'),
        undefined,
        'dropped objects are garbage by the final snapshot',
      );
      equal(r.stages.length, 3);
      ok(r.stages[2].reachable > r.stages[0].reachable + 2000);
    } finally {
      delete g.camlensPlantedLeaks;
    }
  });
});
