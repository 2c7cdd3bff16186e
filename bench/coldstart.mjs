// Cold start (issue 17): the first explanation in a new process, as a user feels it after a
// right-click, with an empty session cache ("cold") and with the cache the previous process left
// ("warm"). Each sample is a new `camlens explain` process (Grad-CAM, the suggested layer, a
// seeded 1x3x224x224 .npy, overlay PNG written); printed: wall time of the process and the
// S.json timings (session = onnxruntime session builds, apart from run). Models: torchvision
// ResNet-50 and ViT-B/16 exported by scripts/refs/export_bench_models.py into /tmp/models.
// Usage: node esbuild.mjs && BENCH_REPEATS=3 node bench/coldstart.mjs [model.onnx ...]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { median, npyBytes } from './lib/client.mjs';

const models = process.argv.slice(2).length ? process.argv.slice(2) : ['/tmp/models/resnet50.onnx', '/tmp/models/vit_b_16.onnx'];
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'camlens-bench-cold-'));
const npy = join(work, 'input.npy');
writeFileSync(npy, npyBytes([1, 3, 224, 224], 7));

function explainInNewProcess(model, cacheDir) {
  const out = mkdtempSync(join(work, 'out-'));
  const t0 = performance.now();
  execFileSync(process.execPath, [resolve('bin/camlens.js'), 'explain', model, npy, '--out', out, '--provider', 'cpu'], {
    env: { ...process.env, CAMLENS_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const wall = performance.now() - t0;
  const json = JSON.parse(
    readFileSync(
      join(
        out,
        readdirSync(out).find((f) => f.endsWith('.json')),
      ),
      'utf8',
    ),
  );
  rmSync(out, { recursive: true, force: true });
  return { wall, ...json.timings_ms };
}

const round = (x) => Math.round(x);
const summary = (xs) => Object.fromEntries(Object.keys(xs[0]).map((k) => [k, round(median(xs.map((x) => x[k])))]));
for (const model of models) {
  if (!existsSync(model)) {
    console.log(JSON.stringify({ bench: 'coldstart', model, skipped: 'not found: run /usr/bin/python3 scripts/refs/export_bench_models.py' }));
    continue;
  }
  const cold = [];
  const warm = [];
  // Interleaved: each cold sample fills a fresh cache, the warm sample after it uses that cache.
  for (let i = 0; i < repeats; i++) {
    const cacheDir = mkdtempSync(join(work, 'cache-'));
    cold.push(explainInNewProcess(model, cacheDir));
    warm.push(explainInNewProcess(model, cacheDir));
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const c = summary(cold);
  const w = summary(warm);
  console.log(
    JSON.stringify({
      bench: 'coldstart',
      model: basename(model),
      repeats,
      cold_ms: c,
      warm_ms: w,
      ratio_wall_warm_vs_cold: Math.round(median(warm.map((x, i) => x.wall / cold[i].wall)) * 1000) / 1000,
      ratio_session_warm_vs_cold: Math.round(median(warm.map((x, i) => x.session / cold[i].session)) * 1000) / 1000,
    }),
  );
}
rmSync(work, { recursive: true, force: true });
