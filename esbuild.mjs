// Builds every bundle: extension host, worker, CLI, webview, and the tests.
// Native modules (onnxruntime-node, sharp) stay external: they are loaded from node_modules at
// run time, and only by the worker and the CLI (never by the extension host).
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const external = ['vscode', 'onnxruntime-node', 'sharp'];
const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  target: 'node20',
};

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'fixtures' ? [] : findTests(path);
    return /\.test\.ts$/.test(entry) ? [path] : [];
  });
}

const builds = [
  { entryPoints: { extension: 'src/host/extension.ts' }, platform: 'node', format: 'cjs', outdir: 'dist', external },
  { entryPoints: { worker: 'src/worker/main.ts' }, platform: 'node', format: 'cjs', outdir: 'dist', external },
  { entryPoints: { cli: 'src/cli/main.ts' }, platform: 'node', format: 'cjs', outdir: 'dist', external },
  { entryPoints: { lib: 'bench/lib/index.ts' }, platform: 'node', format: 'cjs', outdir: 'dist/bench', external },
  { entryPoints: { webview: 'webview/main.ts' }, platform: 'browser', format: 'esm', outdir: 'dist', target: 'es2022' },
];

const tests = findTests('test');
if (tests.length && !production) {
  builds.push({
    entryPoints: tests,
    platform: 'node',
    format: 'cjs',
    outdir: 'dist/test',
    outbase: 'test',
    external,
  });
}

// Only `--clean` wipes dist/: several builds may run side by side (tests, benchmarks).
if (process.argv.includes('--clean')) rmSync('dist', { recursive: true, force: true });
await Promise.all(builds.map((b) => esbuild.build({ ...common, ...b })));
// uPlot (bundled into dist/webview.js) brings a small stylesheet; the webview links it from dist/.
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/uplot/dist/uPlot.min.css', 'dist/uplot.css');
