// The extension-host suite (test/host/suite.ts) on desktop VS Code via @vscode/test-electron.
// It downloads VS Code from update.code.visualstudio.com, which offline machines cannot reach:
// then it fails with a clear message (use `npm run test:e2e`, which runs the same suite in
// code-server). Set VSCODE_EXECUTABLE to use an installed VS Code instead. On Linux without a
// display, run it under xvfb-run.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleHostSuite } from './lib/hostSuite.mjs';
import { runTests } from '@vscode/test-electron';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const VERSION = process.env.VSCODE_VERSION ?? '1.100.3';
await bundleHostSuite(REPO);
const executable = process.env.VSCODE_EXECUTABLE;
if (!executable) {
  try {
    await fetch('https://update.code.visualstudio.com/api/releases/stable', { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    console.error(`test:desktop: cannot download VS Code ${VERSION} (update.code.visualstudio.com unreachable: ${e.cause?.code ?? e.message}).`);
    console.error('This machine is offline. Run `npm run test:e2e` (the same suite inside code-server), or set VSCODE_EXECUTABLE to an installed VS Code.');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
const ws = mkdtempSync(join(tmpdir(), 'camlens-desktop-ws-'));
cpSync(join(REPO, 'demo'), ws, { recursive: true });
writeFileSync(join(ws, 'notes.txt'), 'not a model\n');
const results = join(ws, '..', `camlens-desktop-results-${process.pid}.json`);
let code = 1;
try {
  code = await runTests({
    version: VERSION,
    ...(executable ? { vscodeExecutablePath: executable } : {}),
    extensionDevelopmentPath: REPO,
    extensionTestsPath: join(REPO, 'dist/e2e/suite.js'),
    extensionTestsEnv: { CAMLENS_TEST_RESULTS: results },
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
} catch (e) {
  console.error(`test:desktop: ${e?.message ?? e}`);
  code = 1;
} finally {
  rmSync(ws, { recursive: true, force: true });
}
try {
  const r = JSON.parse((await import('node:fs')).readFileSync(results, 'utf8'));
  console.log(`${r.passed} passed, ${r.failed} failed`);
  rmSync(results, { force: true });
} catch {
  console.log('0 passed, 1 failed (no results)');
}
process.exit(code ? 1 : 0);
