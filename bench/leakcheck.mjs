// Does the leak check cry wolf? (issue 18; not a test). Runs the shipped default check —
// `camlens leak-check MODEL IMAGE --scenario S` with default iterations, warm-up and heap diff —
// RUNS times per clean scenario and model, and the same with a planted 1 KiB/iteration leak of
// each kind, and prints one JSON line per (model, scenario, plant) with the verdict counts and the
// wall time of one check.
// Usage: node esbuild.mjs && BENCH_RUNS=10 node bench/leakcheck.mjs
//   BENCH_MODELS=demo,small,resnet18  BENCH_SCENARIOS=explain,taps,sessions  BENCH_PLANTS=none,heap,native,tensors
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const FIXTURES = process.env.CAMLENS_FIXTURES ?? resolve('../shared/fixtures');
const MODELS = {
  demo: { model: 'demo/model.onnx', image: 'demo/images/star_1.png' },
  small: { model: `${FIXTURES}/models/shapes_cnn.onnx`, image: 'demo/images/circle_1.png' },
  resnet18: { model: `${FIXTURES}/models/resnet18.onnx`, image: `${FIXTURES}/images/dogs.png` },
};
const runs = Number(process.env.BENCH_RUNS ?? 3);
const list = (name, all) => (process.env[name] ?? all).split(',').filter(Boolean);

for (const name of list('BENCH_MODELS', 'demo,small,resnet18')) {
  const m = MODELS[name];
  if (!m || !existsSync(m.model)) {
    console.log(JSON.stringify({ model: name, skipped: `${m?.model ?? name} not found` }));
    continue;
  }
  for (const scenario of list('BENCH_SCENARIOS', 'explain,taps,sessions')) {
    for (const plant of list('BENCH_PLANTS', 'none,heap,native,tensors')) {
      const verdicts = {};
      const seconds = [];
      for (let k = 0; k < runs; k++) {
        const args = ['bin/camlens.js', 'leak-check', m.model, m.image, '--scenario', scenario, '--provider', 'cpu', '--json'];
        if (plant !== 'none') args.push('--plant', plant, '--plant-bytes', '1024');
        const t0 = Date.now();
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
        seconds.push((Date.now() - t0) / 1000);
        if (r.status !== 0 && r.status !== 3) {
          verdicts.error = (verdicts.error ?? 0) + 1;
          process.stderr.write(r.stderr.slice(-2000));
          continue;
        }
        const report = JSON.parse(r.stdout);
        verdicts[report.verdict] = (verdicts[report.verdict] ?? 0) + 1;
        const flagged = report.scenarios[0].metrics
          .filter((x) => x.verdict !== 'no leak' && x.verdict !== 'not judged')
          .map((x) => `${x.metric}: ${x.verdict}`);
        if (flagged.length) verdicts.flagged = [...(verdicts.flagged ?? []), flagged.join('; ')];
      }
      seconds.sort((a, b) => a - b);
      console.log(
        JSON.stringify({ model: name, scenario, plant, runs, verdicts, seconds_median: seconds[Math.floor(seconds.length / 2)], seconds_max: seconds.at(-1) }),
      );
    }
  }
}
