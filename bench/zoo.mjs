// The issue-15 zoo (test/helpers/zoo.ts): per category, the share of models that explain
// correctly (map non-degenerate and, where a float reference exists, Pearson with its map at or
// above the entry's floor) and the time per explain. Prints JSON lines only.
//
//   node esbuild.mjs && node bench/zoo.mjs [--runs 3]
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
process.chdir(root);
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 3;
const dir = mkdtempSync(join(tmpdir(), 'camlens-bench-zoo-'));
// The zoo is TypeScript shared with the tests: bundle it here with the session cache, one copy
// of the engine (bench/lib is the benchmarks' own code).
const lib = join(root, 'dist/bench/zoo.cjs'); // inside the checkout, so that its externals resolve from node_modules
await esbuild.build({
  stdin: {
    contents: "export { ZOO, runZooEntry } from './test/helpers/zoo'; export { SessionCache } from './src/engine/runtime/sessions';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: lib,
  external: ['onnxruntime-node', 'sharp'],
  logLevel: 'warning',
});
const { ZOO, runZooEntry, SessionCache } = createRequire(join(root, 'package.json'))(lib);
const sessions = new SessionCache();
const byCategory = new Map();
try {
  for (const entry of ZOO) {
    let ok = false;
    let error;
    const times = [];
    let agreement;
    for (let r = 0; r < runs; r++) {
      try {
        const result = await runZooEntry(entry, dir, sessions);
        times.push(result.ms);
        agreement = result.agreement;
        ok = result.informative && (agreement === undefined || agreement >= (entry.minPearson ?? 0.999));
      } catch (e) {
        error = String(e?.message ?? e).slice(0, 200);
        break;
      }
    }
    times.sort((a, b) => a - b);
    const ms = times.length ? times[Math.floor(times.length / 2)] : null;
    console.log(
      JSON.stringify({
        model: entry.name,
        category: entry.category,
        ok,
        pearson: agreement ?? null,
        ms_per_explain: ms && +ms.toFixed(1),
        ...(error ? { error } : {}),
      }),
    );
    const c = byCategory.get(entry.category) ?? { total: 0, ok: 0, ms: [] };
    c.total++;
    if (ok) c.ok++;
    if (ms !== null) c.ms.push(ms);
    byCategory.set(entry.category, c);
  }
  for (const [category, c] of byCategory) {
    const mean = c.ms.reduce((a, b) => a + b, 0) / Math.max(1, c.ms.length);
    console.log(JSON.stringify({ category, explained_correctly: `${c.ok}/${c.total}`, share: c.ok / c.total, ms_per_explain_mean: +mean.toFixed(1), runs }));
  }
} finally {
  await sessions.releaseAll();
  rmSync(dir, { recursive: true, force: true });
}
