// The `camlens` npm package as a new user gets it: `npm pack` (its prepack makes the production
// bundles) on a snapshot of this checkout, the tarball's file list, then `npm install -g` of the
// tarball into a temporary prefix with the command the README gives (--ignore-scripts: npm 11
// runs onnxruntime-node's CUDA download in a global install and that fails offline), then
// `camlens explain` on the packaged demo model. Needs the npm registry or a warm npm cache.
import { equal, ok } from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const REPO = resolve(__dirname, '../../..');
/** What a checkout has that is not its source: never copied into the snapshot that is packed. */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'out', '.git', '.tmp', '.test-output', '.e2e-cache', '.vscode-test', 'demo-output']);

/** The child npm must not inherit `npm test`'s own npm_* settings; where the cache and registry are stays. */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.has(k.toLowerCase())));
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: timeoutMs });
  equal(r.status, 0, `${command} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the npm package', () => {
  it('packs only what the CLI needs, installs globally without the CUDA download, and explains the demo', { timeout: 300_000 }, (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'camlens-npm-'));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    const snapshot = join(tmp, 'camlens');
    mkdirSync(snapshot);
    for (const entry of readdirSync(REPO)) if (!NOT_SOURCE.has(entry)) cpSync(join(REPO, entry), join(snapshot, entry), { recursive: true });
    symlinkSync(realpathSync(join(REPO, 'node_modules')), join(snapshot, 'node_modules'), 'dir');

    let t0 = Date.now();
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], snapshot, 180_000).stdout) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
      files: Array<{ path: string }>;
    }>;
    const { filename, size, unpackedSize, files } = packed[0];
    t.diagnostic(
      `npm pack: ${filename}, ${(size / 1024 / 1024).toFixed(2)} MB (${(unpackedSize / 1024 / 1024).toFixed(2)} MB unpacked), ${files.length} files, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const paths = files.map((f) => f.path);
    const allowed = [
      /^package\.json$/,
      /^README\.md$/,
      /^LICENSE$/,
      /^CHANGELOG\.md$/,
      /^bin\/camlens\.js$/,
      /^dist\/(cli|worker)\.js$/,
      /^demo\//,
      /^media\/screenshot-panel\.png$/,
    ];
    for (const p of paths) ok(allowed.some((re) => re.test(p)) && !/\.map$|__pycache__/.test(p), `should not be packed: ${p}`);
    for (const need of ['bin/camlens.js', 'dist/cli.js', 'dist/worker.js', 'demo/model.onnx', 'demo/images/circle_1.png', 'LICENSE', 'CHANGELOG.md']) {
      ok(paths.includes(need), `missing from the tarball: ${need}`);
    }
    for (const [, image] of readFileSync(join(REPO, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
      if (!/^https?:/.test(image)) ok(paths.includes(image), `README image ${image} is not in the tarball`);
    }
    ok(!readFileSync(join(snapshot, 'dist/cli.js'), 'utf8').includes('sourceMappingURL'), 'prepack did not make the production bundle');

    const prefix = join(tmp, 'global');
    t0 = Date.now();
    run('npm', ['install', '-g', join(tmp, filename), '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], tmp, 240_000);
    const installS = (Date.now() - t0) / 1000;
    const pkg = join(prefix, 'lib/node_modules/camlens');
    const ortBin = join(pkg, 'node_modules/onnxruntime-node/bin/napi-v6', process.platform, process.arch);
    ok(existsSync(ortBin), `onnxruntime-node has no binaries for this platform at ${ortBin}`);
    ok(!readdirSync(ortBin).some((f) => /providers_cuda/.test(f)), 'the CUDA libraries were downloaded');

    t0 = Date.now();
    const out = join(tmp, 'out');
    run(join(prefix, 'bin/camlens'), ['explain', join(pkg, 'demo/model.onnx'), join(pkg, 'demo/images/circle_1.png'), '--out', out], tmp, 120_000);
    const explainS = (Date.now() - t0) / 1000;
    const result = JSON.parse(readFileSync(join(out, 'circle_1.json'), 'utf8')) as { predictions: Array<{ label: string }>; ep: string };
    ok(result.predictions.length > 0);
    equal(result.ep, 'cpu');
    for (const f of ['circle_1.cam.npy', 'circle_1.overlay.png']) ok(existsSync(join(out, f)), `${f} not written`);
    t.diagnostic(`npm install -g: ${installS.toFixed(1)} s; first camlens explain: ${explainS.toFixed(1)} s (top class ${result.predictions[0].label})`);
  });
});
