// `npm run package [targets…]`: one .vsix per VS Code target with onnxruntime-node and sharp
// binaries of that platform only (default: linux-x64; also win32-x64, darwin-arm64, linux-arm64).
// .vscodeignore is the linux-x64 list; other targets get a derived ignore file. sharp's native
// packages (@img/sharp-<platform>) must be installed for the target: npm installs only the
// host's, so a target whose packages are missing is reported and skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, CACHE } from '../test/e2e/lib/env.mjs';

const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['linux-x64'];
const vsce = join(CACHE, 'tools/node_modules/@vscode/vsce/vsce');
if (!existsSync(vsce)) {
  const s = spawnSync('bash', ['scripts/e2e-setup.sh'], { cwd: REPO, stdio: 'inherit' });
  if (s.status !== 0) process.exit(s.status ?? 1);
}
const base = readFileSync(join(REPO, '.vscodeignore'), 'utf8');
const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
mkdirSync(join(REPO, 'out'), { recursive: true });
let failed = 0;
for (const target of targets) {
  const [os, arch] = target.split('-');
  const sharpPkgs = os === 'win32' ? [`@img/sharp-${os}-${arch}`] : [`@img/sharp-${os}-${arch}`, `@img/sharp-libvips-${os}-${arch}`];
  const missing = sharpPkgs.filter((p) => !existsSync(join(REPO, 'node_modules', p, 'package.json')));
  if (!existsSync(join(REPO, 'node_modules/onnxruntime-node/bin/napi-v6', os, arch))) missing.push(`onnxruntime-node binaries for ${os}/${arch}`);
  if (missing.length) {
    console.log(
      `✖ ${target}: skipped, missing ${missing.join(', ')} (install with: npm install --no-save --force --os=${os} --cpu=${arch} ${sharpPkgs.map((p) => `${p}@0.35.5`).join(' ')})`,
    );
    failed++;
    continue;
  }
  const ignore = base
    .replace('!node_modules/onnxruntime-node/bin/napi-v6/linux/x64/**', `!node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/**`)
    .replace('!node_modules/@img/sharp-linux-x64/**\n!node_modules/@img/sharp-libvips-linux-x64/**', sharpPkgs.map((p) => `!node_modules/${p}/**`).join('\n'));
  const ignoreFile = join(REPO, 'out', `.vscodeignore-${target}`);
  writeFileSync(ignoreFile, ignore);
  const out = join(REPO, 'out', `camlens-${target}-${version}.vsix`);
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      vsce,
      'package',
      '--target',
      target,
      '--ignoreFile',
      ignoreFile,
      '--no-rewrite-relative-links',
      '--allow-missing-repository',
      '--skip-license',
      '--no-update-package-json',
      '--no-git-tag-version',
      '-o',
      out,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) {
    console.log(`✖ ${target}: vsce failed (${r.status})\n${r.stdout}`);
    failed++;
    continue;
  }
  console.log(`✔ ${target}: ${out} (${(statSync(out).size / 1024 / 1024).toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
process.exit(failed ? 1 : 0);
