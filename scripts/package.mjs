// `npm run package [targets…]`: one .vsix per VS Code target in out/, each carrying the
// onnxruntime-node and sharp binaries of its platform only (default: every target of the platform
// table, src/engine/runtime/platformProviders.ts; a target that cannot be built says why).
//
// Each target is staged in ~/.cache/camlens-e2e/package-stage/<checkout>/<target>/: `npm ci --omit=dev --os --cpu --libc` there
// installs the locked runtime packages as that platform would get them (its @img/sharp-* binaries
// included) without touching the working node_modules, and is redone only when package-lock.json
// changes. The production bundles, media and docs are copied beside it, with a package.json whose
// camlens.executionProvider enum lists that platform's providers and a dist/providers.json that
// states them. .vscodeignore is the linux-x64 list; each target's ignore file is derived from it.
// Every .vsix is then opened and checked (scripts/lib/vsixContents.mjs); a problem fails the run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, CACHE } from '../test/e2e/lib/env.mjs';
import { loadPlatformTable } from './lib/platforms.mjs';
import { checkVsix } from './lib/vsixContents.mjs';

const { PLATFORM_PROVIDERS, UNBUILDABLE_TARGETS } = await loadPlatformTable();
const requested = process.argv.slice(2);
const targets = requested.length ? requested : [...Object.keys(PLATFORM_PROVIDERS), ...Object.keys(UNBUILDABLE_TARGETS)];
const vsce = join(CACHE, 'tools/node_modules/@vscode/vsce/vsce');
if (!existsSync(vsce)) {
  const s = spawnSync('bash', ['scripts/e2e-setup.sh'], { cwd: REPO, stdio: 'inherit' });
  if (s.status !== 0) process.exit(s.status ?? 1);
}
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const lock = readFileSync(join(REPO, 'package-lock.json'));
const ortVersion = manifest.dependencies['onnxruntime-node'];
const OUT = join(REPO, 'out');
mkdirSync(OUT, { recursive: true });
// Stages live outside the checkout (vsce, packaging the checkout for the e2e tests, would walk
// their 1.5 GB), one folder per checkout so that two checkouts never share one.
const STAGES = join(CACHE, 'package-stage', createHash('sha256').update(REPO).digest('hex').slice(0, 12));

/** Installs the locked production dependencies for a target into its stage (skipped when already done for this lock). */
function installRuntime(stage, os, cpu) {
  const stamp = `${stage}.installed`; // beside the stage, not in it: vsce packs what is inside
  const digest = createHash('sha256').update(lock).update(`${os}-${cpu}`).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return true;
  rmSync(stamp, { force: true });
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(join(REPO, 'package.json'), join(stage, 'package.json'));
  writeFileSync(join(stage, 'package-lock.json'), lock);
  const libc = os === 'linux' ? ['--libc=glibc'] : [];
  // --ignore-scripts: onnxruntime-node's install script would fetch CUDA libraries (an opt-in).
  const args = ['ci', '--omit=dev', '--ignore-scripts', `--os=${os}`, `--cpu=${cpu}`, ...libc, '--no-audit', '--no-fund', '--prefer-offline'];
  const r = spawnSync('npm', args, { cwd: stage, encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`npm ${args.join(' ')} failed in ${stage}:\n${r.stdout}${r.stderr}`);
    return false;
  }
  writeFileSync(stamp, digest);
  return true;
}

/**
 * The target's ignore file, from .vscodeignore (the linux-x64 list). onnxruntime-node's native
 * folder is whitelisted file by file, leaving out byte-identical copies the binding does not load
 * by name (npm packs darwin's libonnxruntime.1.dylib symlink as a second 44 MB file).
 */
function ignoreFileFor(stage, os, cpu, target) {
  const base = readFileSync(join(REPO, '.vscodeignore'), 'utf8');
  const ortLine = '!node_modules/onnxruntime-node/bin/napi-v6/linux/x64/**';
  const sharpLines = '!node_modules/@img/sharp-linux-x64/**\n!node_modules/@img/sharp-libvips-linux-x64/**';
  if (!base.includes(ortLine) || !base.includes(sharpLines)) throw new Error('.vscodeignore no longer has the linux-x64 lines this script rewrites');
  const binDir = join(stage, 'node_modules/onnxruntime-node/bin/napi-v6', os, cpu);
  const files = readdirSync(binDir);
  const binding = readFileSync(join(binDir, 'onnxruntime_binding.node')).toString('latin1');
  const digestOf = (f) =>
    createHash('sha256')
      .update(readFileSync(join(binDir, f)))
      .digest('hex');
  const kept = files.filter((f) => !files.some((g) => g !== f && !binding.includes(f) && binding.includes(g) && digestOf(g) === digestOf(f)));
  const sharp = os === 'win32' ? [`@img/sharp-${target}`] : [`@img/sharp-${target}`, `@img/sharp-libvips-${target}`];
  return base
    .replace(ortLine, kept.map((f) => `!node_modules/onnxruntime-node/bin/napi-v6/${os}/${cpu}/${f}`).join('\n'))
    .replace(sharpLines, sharp.map((p) => `!node_modules/${p}/**`).join('\n'));
}

/** The extension's files beside the runtime packages, with the manifest and providers statement of this target. */
function stageExtension(stage, target, providers) {
  for (const f of ['extension.js', 'worker.js', 'webview.js', 'uplot.css']) {
    if (!existsSync(join(REPO, 'dist', f))) throw new Error(`dist/${f} is missing: run the production build first`);
  }
  rmSync(join(stage, 'dist'), { recursive: true, force: true });
  mkdirSync(join(stage, 'dist'));
  for (const f of ['extension.js', 'worker.js', 'webview.js', 'uplot.css']) copyFileSync(join(REPO, 'dist', f), join(stage, 'dist', f));
  rmSync(join(stage, 'media'), { recursive: true, force: true });
  cpSync(join(REPO, 'media'), join(stage, 'media'), { recursive: true });
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE']) copyFileSync(join(REPO, f), join(stage, f));
  const statement = {
    target,
    onnxruntimeNode: ortVersion,
    bundled: providers.bundled,
    optIn: providers.optIn,
    note: providers.optIn.length ? 'opt-in providers need a one-time download of their libraries: README, "Execution providers"' : undefined,
  };
  writeFileSync(join(stage, 'dist/providers.json'), `${JSON.stringify(statement, null, 2)}\n`);
  const m = structuredClone(manifest);
  const setting = m.contributes.configuration.properties['camlens.executionProvider'];
  const offered = ['auto', ...providers.bundled, ...providers.optIn];
  setting.enumDescriptions = offered.map((p) => setting.enumDescriptions[setting.enum.indexOf(p)]);
  setting.enum = offered;
  // The stage is not a development checkout: no scripts (vsce would run vscode:prepublish), no dev tools.
  delete m.scripts;
  delete m.devDependencies;
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(m, null, 2)}\n`);
}

let failed = 0;
const rows = [];
for (const target of targets) {
  if (UNBUILDABLE_TARGETS[target]) {
    console.log(`✖ ${target}: not built: ${UNBUILDABLE_TARGETS[target]}`);
    if (requested.length) failed++;
    continue;
  }
  const providers = PLATFORM_PROVIDERS[target];
  if (!providers) {
    console.log(`✖ ${target}: unknown target (known: ${Object.keys(PLATFORM_PROVIDERS).join(', ')})`);
    failed++;
    continue;
  }
  const [os, cpu] = target.split('-');
  const stage = join(STAGES, target);
  const t0 = Date.now();
  if (!installRuntime(stage, os, cpu)) {
    failed++;
    continue;
  }
  stageExtension(stage, target, providers);
  writeFileSync(join(stage, '.vscodeignore'), ignoreFileFor(stage, os, cpu, target));
  const out = join(OUT, `camlens-${target}-${manifest.version}.vsix`);
  rmSync(out, { force: true });
  const r = spawnSync(
    process.execPath,
    [
      vsce,
      'package',
      '--target',
      target,
      // The repository is not published yet: README images stay relative (packed in media/).
      '--no-rewrite-relative-links',
      '--allow-missing-repository',
      '--skip-license',
      '--no-update-package-json',
      '--no-git-tag-version',
      '-o',
      out,
    ],
    { cwd: stage, encoding: 'utf8' },
  );
  if (r.status !== 0) {
    console.log(`✖ ${target}: vsce failed (${r.status})\n${r.stdout}${r.stderr}`);
    failed++;
    continue;
  }
  const { natives, problems } = checkVsix(out, target, providers);
  const mb = (n) => (n / 1024 / 1024).toFixed(1);
  if (problems.length) {
    console.log(`✖ ${target}: ${out} has problems:\n  ${problems.join('\n  ')}`);
    failed++;
    continue;
  }
  console.log(
    `✔ ${target}: ${out} (${mb(statSync(out).size)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s), providers ${[...providers.bundled, ...providers.optIn.map((p) => `${p} (opt-in)`)].join(', ')}`,
  );
  for (const n of natives) console.log(`    ${n.name.replace(/^extension\/node_modules\//, '')} (${n.os}-${n.arch}, ${mb(n.size)} MB)`);
  rows.push(target);
}
process.exit(failed ? 1 : 0);
