// Leak-check soak on the demo model (not a test): runs `camlens leak-check --json` per scenario
// and prints one JSON line per scenario with the slope/CI/R²/verdict of every metric.
// Usage: node esbuild.mjs && node bench/soak.mjs [--explain N] [--taps N] [--sessions N] [--warmup N] [--provider cpu]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    explain: { type: 'string', default: '1000' },
    taps: { type: 'string', default: '500' },
    sessions: { type: 'string', default: '1000' },
    // The worker's rss keeps settling (allocator, JIT) for ~1,000 iterations and then flattens:
    // with 50 warm-up steps 1,000 explanations fit 1.3–2.3 KiB/iteration, with 1,000 0.6, with 2,000 0.3.
    warmup: { type: 'string', default: '1000' },
    provider: { type: 'string', default: 'cpu' },
    model: { type: 'string', default: 'demo/model.onnx' },
    image: { type: 'string', default: 'demo/images/star_1.png' },
  },
});
for (const scenario of ['explain', 'taps', 'sessions']) {
  const iterations = values[scenario];
  if (iterations === '0') continue;
  const r = spawnSync(
    process.execPath,
    [
      'bin/camlens.js',
      'leak-check',
      values.model,
      values.image,
      '--scenario',
      scenario,
      '--iterations',
      iterations,
      '--warmup',
      values.warmup,
      '--provider',
      values.provider,
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (r.status !== 0 && r.status !== 3) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const report = JSON.parse(r.stdout);
  const s = report.scenarios[0];
  const metrics = Object.fromEntries(
    s.metrics.map((m) => [
      m.metric,
      {
        slope: Math.round(m.slope * 10) / 10,
        ci: m.ci.map((v) => Math.round(v * 10) / 10),
        r2: Math.round(m.r2 * 1000) / 1000,
        lateSlope: Math.round(m.lateSlope * 10) / 10,
        before: m.before,
        first: m.first,
        last: m.last,
        verdict: m.verdict,
      },
    ]),
  );
  console.log(
    JSON.stringify({
      bench: 'soak',
      scenario,
      model: values.model,
      provider: report.provider,
      iterations: s.iterations,
      warmup: s.warmup,
      msPerIteration: Math.round(s.msPerIteration * 10) / 10,
      verdict: s.verdict,
      rssGrowthMiB: Math.round(((s.metrics.find((m) => m.metric === 'rss').last - s.metrics.find((m) => m.metric === 'rss').before) / 2 ** 20) * 100) / 100,
      metrics,
      seconds: Math.round(report.ms / 100) / 10,
    }),
  );
}
