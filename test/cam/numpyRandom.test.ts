// numpy's legacy RandomState stream, which DFF's NMF start depends on (numbers printed by numpy 1.x).
import { equal } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NumpyRandomState } from '../../src/engine/cam/numpyRandom';

describe('NumpyRandomState', () => {
  it('gives RandomState(0)`s random_sample and standard_normal values', () => {
    equal(new NumpyRandomState(0).randomSample(), 0.5488135039273248);
    const r = new NumpyRandomState(0);
    const normals = [r.standardNormal(), r.standardNormal(), r.standardNormal()].map((v) => v.toFixed(8));
    equal(normals.join(' '), '1.76405235 0.40015721 0.97873798');
  });
});
