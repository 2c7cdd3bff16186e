// Runs every compiled test file with node's test runner (the runner prints its pass/fail
// summary). Node 20 has no glob support in `node --test`, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const list = (dir) =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? list(p) : p.endsWith('.test.js') ? [p] : [];
  });
const only = process.argv.slice(2);
const files = list('dist/test').filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  // `node --test` with no files would fall back to its own discovery (and pick up test/e2e).
  console.error(`no compiled test files match ${only.join(', ') || '(all)'} under dist/test; run the build first`);
  process.exit(1);
}
// Workers and CLIs the tests start cache sessions in a folder of this run, not the user's cache.
const cacheDir = process.env.CAMLENS_CACHE_DIR ?? mkdtempSync(join(tmpdir(), 'camlens-test-cache-'));
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, CAMLENS_CACHE_DIR: cacheDir },
});
if (!process.env.CAMLENS_CACHE_DIR) rmSync(cacheDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
