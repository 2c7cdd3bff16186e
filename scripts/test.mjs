// Runs every compiled test file with node's test runner (the runner prints its pass/fail
// summary). Node 20 has no glob support in `node --test`, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
