import { deepEqual, equal } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictionsFrom, topIndices } from '../../src/engine/pipeline/predictions';

/** What the selection replaces: a stable sort by descending score. */
const bySort = (s: Float32Array, k: number) =>
  Array.from(s.keys())
    .sort((a, b) => s[b] - s[a])
    .slice(0, k);

describe('top-k predictions', () => {
  it('picks the same indices as a stable descending sort, ties in index order', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 50; trial++) {
      // Few distinct values: plenty of ties.
      const s = Float32Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * 8) - 4);
      for (const k of [1, 3, 5, 1000]) deepEqual(topIndices(s, k), bySort(s, k), `trial ${trial}, k ${k}`);
    }
  });

  it('labels the top five with softmax probabilities', () => {
    const p = predictionsFrom(Float32Array.from([0, 3, 1, 3, -2, 2]), ['a', 'b', 'c', 'd', 'e', 'f'], 5);
    deepEqual(
      p.map((x) => x.label),
      ['b', 'd', 'f', 'c', 'a'],
    );
    equal(p[0].prob, p[1].prob);
    const sum = [0, 3, 1, 3, -2, 2].reduce((a, v) => a + Math.exp(v), 0);
    equal(Math.abs(p[2].prob - Math.exp(2) / sum) < 1e-12, true);
  });
});
