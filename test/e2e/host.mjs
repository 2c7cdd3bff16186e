// Runs test/host/suite.ts (bundled to dist/e2e/suite.js) INSIDE code-server's extension host.
// code-server has no --extensionTestsPath flag: the browser workbench reads
// extensionDevelopmentPath/extensionTestsPath from the URL's `payload` parameter and calls
// window.codeAutomationExit(code) when the suite ends. The suite also writes a results file.
// Usage: node test/e2e/host.mjs <workspace folder> [--untrusted]
// --untrusted: workspace trust on and the folder not trusted (restricted mode); the suite then
// runs its untrusted tests only (CAMLENS_E2E_UNTRUSTED=1).
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { REPO, OUT } from './lib/env.mjs';
import { startCodeServer, launchChromium } from './lib/codeserver.mjs';

const FOLDER = process.argv[2];
const UNTRUSTED = process.argv.includes('--untrusted');
const TESTS = join(REPO, 'dist/e2e/suite.js');
const TIMEOUT = Number(process.env.EXT_TEST_TIMEOUT_MS ?? 240_000);
const t0 = Date.now();
mkdirSync(OUT, { recursive: true });
const resultsFile = join(OUT, UNTRUSTED ? 'host-untrusted-results.json' : 'host-results.json');
try {
  (await import('node:fs')).rmSync(resultsFile, { force: true });
} catch {}

const cs = await startCodeServer({
  folder: FOLDER,
  env: { CAMLENS_TEST_RESULTS: resultsFile, ...(UNTRUSTED ? { CAMLENS_E2E_UNTRUSTED: '1' } : {}) },
  ...(UNTRUSTED
    ? {
        workspaceTrust: true,
        // no trust prompt: the folder opens in restricted mode, as when a user picks "Don't Trust"
        settings: {
          'security.workspace.trust.enabled': true,
          'security.workspace.trust.startupPrompt': 'never',
          'security.workspace.trust.emptyWindow': false,
        },
      }
    : {}),
});
const { context, close } = await launchChromium();
let exitCode = 1;
let page;
try {
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await context.exposeFunction('codeAutomationLog', (type, args) => {
    const text = format(...(Array.isArray(args) ? args : [args]));
    if (!text.trim()) return;
    if (process.env.VERBOSE || /^(✔|✖|ℹ|  |    )/.test(text)) console.log(text);
  });
  await context.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  page = context.pages()[0] ?? (await context.newPage());
  const authority = new URL(cs.url).host;
  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://${authority}${REPO}`],
    ['extensionTestsPath', `vscode-remote://${authority}${TESTS}`],
  ];
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(FOLDER)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const timer = new Promise((_, rej) => setTimeout(() => rej(new Error(`no codeAutomationExit within ${TIMEOUT} ms`)), TIMEOUT));
  exitCode = await Promise.race([exited, timer]);
  console.log(`extension host suite: codeAutomationExit(${exitCode}) after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
} catch (e) {
  console.error(String(e));
  await page?.screenshot({ path: join(OUT, 'host-suite-failure.png') }).catch(() => {});
  console.error(cs.getLog().slice(-4000));
  exitCode = 1;
} finally {
  await close();
  await cs.stop();
}
if (existsSync(resultsFile)) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  console.log(`${r.passed} passed, ${r.failed} failed`);
  if (r.failed > 0 && exitCode === 0) exitCode = 1;
} else {
  console.log('0 passed, 1 failed (the suite wrote no results file)');
  exitCode = exitCode || 1;
}
process.exit(exitCode);
