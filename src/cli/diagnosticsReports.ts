// How the diagnostics reports read as text: the leak check's verdicts and heap diff
// (`camlens leak-check`) and the worker's telemetry (`camlens stats`). The JSON forms are the
// protocol's own types; these are for people.
import { formatBytes } from '../engine/diagnostics/leakCheck';
import type { HeapDiffReport } from '../engine/diagnostics/heapDiff';
import type { LeakCheckReport, TelemetrySample, TelemetrySnapshot } from '../worker/protocol';

const pad = (s: string, n: number) => s.padEnd(n);

/** How many grown types the text summary lists (the JSON report has up to 30). */
const HEAP_DIFF_ROWS = 10;

const signedBytes = (v: number) => `${v >= 0 ? '+' : ''}${formatBytes(v)}`;

export function formatHeapDiff(d: HeapDiffReport): string[] {
  const [b, , f] = d.stages;
  const size = (x: typeof b) => (x.bytes ? `, ${formatBytes(x.bytes)} file` : '');
  const lines = [
    `  heap diff (baseline → after run → after GC; ${(d.analysisMs / 1000).toFixed(1)} s to analyse): ` +
      `${b.reachable} → ${f.reachable} reachable objects, ${formatBytes(b.reachableSize)} → ${formatBytes(f.reachableSize)}${size(f)}`,
  ];
  if (!d.grown.length) return [...lines, '  no object type grew in both count and retained size'];
  lines.push('    ' + [pad('type', 28), pad('count Δ', 9), pad('new', 14), pad('retained Δ', 12), 'count baseline → run → GC'].join(' '));
  for (const g of d.grown.slice(0, HEAP_DIFF_ROWS)) {
    lines.push(
      '    ' +
        [
          pad(g.type.length > 28 ? `${g.type.slice(0, 27)}…` : g.type, 28),
          pad(`+${g.countGrowth}`, 9),
          pad(g.newHeldByCode ? `${g.newObjects} (${g.newHeldByCode} JIT)` : String(g.newObjects), 14),
          pad(signedBytes(g.retainedGrowth), 12),
          g.count.join(' → '),
        ].join(' '),
    );
  }
  if (d.grownTypes > HEAP_DIFF_ROWS) lines.push(`    … ${d.grownTypes - HEAP_DIFF_ROWS} more types grew (see --json)`);
  if (d.grown.some((g) => g.newHeldByCode))
    lines.push('    (JIT: new objects held only by V8 code objects — feedback vectors, allocation sites — i.e. the JIT warming up)');
  const paths = d.grown.filter((g) => g.retainerPathText);
  if (paths.length) lines.push('  retainer paths (GC roots → one new instance):');
  for (const g of paths) lines.push(`    ${g.type} (${g.heldThisWay} of ${g.newObjects} new held like this): ${g.retainerPathText}`);
  return lines;
}

export function formatLeakReport(r: LeakCheckReport): string {
  const lines: string[] = [];
  const it = r.scenarios[0];
  lines.push(
    `leak check: ${r.model} with ${r.input}; provider ${r.provider}; ${it?.iterations ?? 0} iterations after ${it?.warmup ?? 0} warm-up per scenario; ` +
      `threshold ${formatBytes(r.thresholdBytes)}/iteration (${Math.round(r.confidence * 100)}% CI)`,
  );
  for (const s of r.scenarios) {
    lines.push('');
    lines.push(
      `scenario ${s.scenario}: ${s.verdict.toUpperCase()}  (${s.msPerIteration.toFixed(1)} ms/iteration${s.gcForced ? ', full GC before each reading' : ', NO forced GC: slopes include garbage'})`,
    );
    if (s.planted) lines.push(`  planted leak (self-test): ${formatBytes(s.planted.bytesPerIteration)}/iteration`);
    lines.push(
      '  ' +
        [pad('metric', 16), pad('slope/iter', 13), pad(`${Math.round(r.confidence * 100)}% CI`, 26), pad('R²', 6), pad('before → last', 24), 'verdict'].join(
          ' ',
        ),
    );
    for (const m of s.metrics) {
      const f = (v: number) => (m.unit === 'bytes' ? formatBytes(v) : `${Math.round(v * 1000) / 1000}`);
      lines.push(
        '  ' +
          [
            pad(m.metric, 16),
            pad(f(m.slope), 13),
            pad(`${f(m.ci[0])} … ${f(m.ci[1])}`, 26),
            pad(m.r2.toFixed(3), 6),
            pad(`${f(m.before)} → ${f(m.last)}`, 24),
            m.verdict,
          ].join(' '),
      );
    }
    if (s.heapDiff) lines.push(...formatHeapDiff(s.heapDiff));
  }
  lines.push('');
  lines.push(
    `verdict: ${r.verdict}${r.verdict === 'suspected leak' ? ` (${r.scenarios.flatMap((s) => s.metrics.filter((m) => m.verdict === 'suspected leak').map((m) => `${s.scenario}/${m.metric}`)).join(', ')})` : ''}; ${(r.ms / 1000).toFixed(1)} s`,
  );
  return lines.join('\n') + '\n';
}

const gpuText = (s: TelemetrySample) => (s.gpu.available ? `${formatBytes(s.gpu.usedBytes)} (${s.gpu.scope}, nvidia-smi)` : s.gpu.reason);

export function formatSample(s: TelemetrySample): string {
  return [
    `rss ${formatBytes(s.rss)}`,
    `heap ${formatBytes(s.heapUsed)}/${formatBytes(s.heapTotal)}`,
    `external ${formatBytes(s.external)}`,
    `arrayBuffers ${formatBytes(s.arrayBuffers)}`,
    `sessions ${s.sessionsAlive} (${formatBytes(s.sessionBytes)})`,
    `taps ${s.tapHandlesAlive}`,
    `tensors ${s.tensorsHeld} (${formatBytes(s.tensorBytesHeld)})`,
    `in flight ${s.requestsInFlight}`,
    `gpu ${gpuText(s)}`,
  ].join('  ');
}

export function formatSnapshot(snap: TelemetrySnapshot): string {
  const s = snap.sample;
  const rows: Array<[string, string]> = [
    ['worker pid', `${snap.pid} (up ${(snap.uptimeMs / 1000).toFixed(1)} s; sampling every ${snap.intervalMs} ms, ${snap.capacity} samples kept)`],
    ['rss', formatBytes(s.rss)],
    ['heapUsed', formatBytes(s.heapUsed)],
    ['heapTotal', formatBytes(s.heapTotal)],
    ['external', formatBytes(s.external)],
    ['arrayBuffers', formatBytes(s.arrayBuffers)],
    ['live sessions', `${s.sessionsAlive} (models ${formatBytes(s.sessionBytes)})`],
    ['live tap handles', `${s.tapHandlesAlive}`],
    ['tensors held', `${s.tensorsHeld} (${formatBytes(s.tensorBytesHeld)}; counted until garbage-collected)`],
    ['requests in flight', `${s.requestsInFlight}`],
    ['GPU memory', gpuText(s)],
  ];
  const lines = rows.map(([k, v]) => `${k.padEnd(20)}${v}`);
  if (snap.sessions.length) {
    lines.push('', 'sessions:');
    for (const x of snap.sessions) {
      const taps = x.variantKey.startsWith('taps:') ? x.variantKey.slice(5).split('\n').filter(Boolean) : [];
      lines.push(
        `  ${x.modelKey.split('#')[0]}  [${x.purpose}]  ${x.provider}  ${formatBytes(x.bytes)}  ${taps.length ? `taps: ${taps.join(', ')}` : x.purpose.startsWith('explain') ? '' : 'no taps'}`.trimEnd(),
      );
    }
  }
  return lines.join('\n') + '\n';
}
