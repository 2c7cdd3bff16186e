// The extension-host test suite (test/host/suite.ts) as one bundle that VS Code loads: shared by
// the code-server run (scripts/e2e.mjs) and the desktop run (scripts/test-desktop.mjs).
import { join } from 'node:path';
import * as esbuild from 'esbuild';

export async function bundleHostSuite(repo) {
  await esbuild.build({
    entryPoints: { suite: join(repo, 'test/host/suite.ts') },
    outdir: join(repo, 'dist/e2e'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'onnxruntime-node', 'sharp'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
