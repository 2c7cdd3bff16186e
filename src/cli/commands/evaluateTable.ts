// `camlens evaluate --method a,b,c`: one table comparing the methods over the images — a row per
// method with its mean explain time and the mean of each metric, the random-map baseline as a
// row of its own, the best value of each column starred, and each failed method named below.
import { betterDirection, LOWER_IS_BETTER } from '../../engine/metrics/direction';
import type { CompareResult } from '../../engine/pipeline/compare';

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const finite = (xs: ReadonlyArray<number | undefined>) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

/** `order` puts the metric names in summary.csv's column order (evaluate.ts's metricColumns). */
export function comparisonTable(results: readonly CompareResult[], order: (rows: ReadonlyArray<Record<string, number>>) => string[]): string {
  const methods = [...new Set(results.flatMap((r) => r.methods.map((m) => m.method)))];
  const cells = results.flatMap((r) => r.methods.map((m) => ({ image: r.input, ...m })));
  const scored = cells.filter((c) => c.ok && c.evaluation);
  const columns = order(scored.map((c) => c.evaluation!.metrics)).filter((k) => !k.startsWith('random_'));
  const rows = methods.map((method) => {
    const mine = cells.filter((c) => c.method === method);
    const ok = mine.filter((c) => c.ok && c.evaluation);
    return {
      name: method,
      images: `${ok.length}/${mine.length}`,
      ms: mean(ok.map((c) => c.explainMs)),
      values: columns.map((k) => mean(finite(ok.map((c) => c.evaluation!.metrics[k])))),
    };
  });
  // The best method per column (random map excluded: it is the bar to clear, not a candidate).
  const best = columns.map((k, j) => {
    const vs = rows.map((r) => r.values[j]).filter(Number.isFinite);
    return vs.length > 1 ? (betterDirection(k) > 0 ? Math.max(...vs) : Math.min(...vs)) : NaN;
  });
  const baseline = columns.map((k) => mean(finite(scored.map((c) => c.evaluation!.metrics[`random_${k}`]))));
  const head = ['method', 'images', 'explain ms', ...columns.map((k) => `${k}${LOWER_IS_BETTER.has(k) ? ' (low)' : ''}`)];
  const num = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
  const body = rows.map((r) => [
    r.name,
    r.images,
    Number.isFinite(r.ms) ? r.ms.toFixed(0) : '-',
    ...r.values.map((v, j) => `${num(v)}${v === best[j] ? '*' : ' '}`),
  ]);
  if (baseline.some(Number.isFinite)) body.push(['random map', '', '', ...baseline.map((v) => `${num(v)} `)]);
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length)));
  const line = (cols: string[]) =>
    cols
      .map((c, j) => (j < 2 ? c.padEnd(widths[j]) : c.padStart(widths[j])))
      .join('  ')
      .trimEnd();
  const failures = cells.filter((c) => !c.ok).map((c) => `  ${c.method} on ${c.image}: ${c.error?.message ?? 'failed'}`);
  return [
    line(head),
    ...body.map(line),
    `* best of the methods; (low): lower is better; means over ${results.length} image(s), every method explaining the same class per image;`,
    `explain ms: the explanation alone (the first method to use a session also builds it), not its scoring`,
    ...(failures.length ? ['failed:', ...failures] : []),
  ].join('\n');
}
