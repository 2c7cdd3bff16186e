import { equal, ok } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitLine, studentTCdf, studentTQuantile } from '../../src/engine/diagnostics/regression';
import { rng } from '../helpers/models';

const close = (a: number, b: number, tol: number, what = '') => ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (±${tol})`);

/** Standard normal draws (Box–Muller) from the seeded generator. */
function normals(seed: number): () => number {
  const r = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

describe('leak-check statistics', () => {
  it('Student t quantiles and CDF match the tables', () => {
    close(studentTQuantile(0.975, 1), 12.7062047, 1e-6, 't(.975,1)');
    close(studentTQuantile(0.975, 2), 4.30265273, 1e-7, 't(.975,2)');
    close(studentTQuantile(0.975, 10), 2.22813885, 1e-7, 't(.975,10)');
    close(studentTQuantile(0.975, 30), 2.04227246, 1e-7, 't(.975,30)');
    close(studentTQuantile(0.95, 5), 2.01504837, 1e-7, 't(.95,5)');
    close(studentTQuantile(0.995, 20), 2.84533971, 1e-7, 't(.995,20)');
    close(studentTQuantile(0.975, 1e6), 1.95996591, 1e-5, 't(.975,∞)');
    close(studentTQuantile(0.025, 10), -2.22813885, 1e-7, 't(.025,10)');
    close(studentTCdf(0, 7), 0.5, 1e-15, 'cdf(0)');
    close(studentTCdf(2.22813885, 10), 0.975, 1e-8, 'cdf');
    close(studentTCdf(-1, 1), 0.25, 1e-12, 'Cauchy cdf(-1)');
  });

  it('fits an exact line: slope, intercept, R² = 1, zero-width interval', () => {
    const x = [0, 1, 2, 3, 4, 5];
    const f = fitLine(
      x,
      x.map((v) => 3 + 2 * v),
    );
    close(f.slope, 2, 1e-12);
    close(f.intercept, 3, 1e-12);
    close(f.r2, 1, 1e-12);
    close(f.ci[0], 2, 1e-9);
    close(f.ci[1], 2, 1e-9);
    equal(f.df, 4);
    const flat = fitLine(
      x,
      x.map(() => 7),
    );
    equal(flat.slope, 0);
    equal(flat.r2, 0);
    equal(flat.ci[0], 0);
  });

  it("reproduces the textbook numbers on Anscombe's first data set", () => {
    const x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
    const y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
    const f = fitLine(x, y);
    close(f.slope, 0.5001, 1e-4, 'slope');
    close(f.intercept, 3.0001, 1e-4, 'intercept');
    close(f.r2, 0.6665, 1e-4, 'R²');
    close(f.slopeStdErr, 0.1179, 1e-4, 'SE');
    close(f.t, 2.262157, 1e-6, 't(.975,9)');
    close(f.ci[0], 0.5001 - 2.262157 * 0.11791, 2e-4, 'CI low');
    close(f.ci[1], 0.5001 + 2.262157 * 0.11791, 2e-4, 'CI high');
  });

  it('95% intervals cover the true slope about 95% of the time', () => {
    const z = normals(42);
    let covered = 0;
    const trials = 400;
    for (let k = 0; k < trials; k++) {
      const x = Array.from({ length: 30 }, (_, i) => i);
      const f = fitLine(
        x,
        x.map((v) => 1000 + 64 * v + 500 * z()),
      );
      if (f.ci[0] <= 64 && 64 <= f.ci[1]) covered++;
    }
    const rate = covered / trials;
    ok(rate > 0.91 && rate < 0.99, `coverage ${rate}`);
  });

  it('refuses degenerate input', () => {
    let threw = 0;
    for (const [x, y] of [
      [
        [1, 2],
        [1, 2],
      ],
      [
        [1, 1, 1],
        [1, 2, 3],
      ],
      [
        [1, 2, 3],
        [1, 2],
      ],
    ] as Array<[number[], number[]]>) {
      try {
        fitLine(x, y);
      } catch {
        threw++;
      }
    }
    equal(threw, 3);
  });
});
