// The CAM panel's Memory and Metrics sections. Charts are uPlot (bundled into dist/webview.js,
// its stylesheet linked from dist/uplot.css), coloured from the VS Code theme variables and
// rebuilt when the theme changes. Each section's element carries data attributes the tests wait
// on: #memory[data-samples][data-sessions][data-leak], #metrics[data-state].
import uPlot from 'uplot';
import type { HostToWebview, LeakReportView, MetricsView, SessionRow, TelemetrySample } from '../../src/panel/protocol';
import { send } from '../api';
import { button } from '../components/toolkit';
import { h } from '../dom';

const MiB = 2 ** 20;
const MAX_SAMPLES = 1200; // 5 minutes at the default 250 ms
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const num = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(d));

function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}
function theme() {
  return {
    fg: themeColor('--vscode-foreground', '#ccc'),
    muted: themeColor('--vscode-descriptionForeground', '#999'),
    grid: themeColor('--vscode-editorWidget-border', themeColor('--vscode-panel-border', 'rgba(128,128,128,.35)')),
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    green: themeColor('--vscode-charts-green', '#89d185'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    red: themeColor('--vscode-charts-red', '#f14c4c'),
    purple: themeColor('--vscode-charts-purple', '#b180d7'),
    font: `${themeColor('--vscode-font-size', '12px')} ${themeColor('--vscode-font-family', 'sans-serif')}`,
  };
}
function axes(t: ReturnType<typeof theme>, yLabel: string, yValues?: uPlot.Axis['values']): uPlot.Axis[] {
  const common = { stroke: t.muted, font: t.font, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
  return [{ ...common }, { ...common, label: yLabel, labelFont: t.font, size: 64, values: yValues }];
}
const chartWidth = (el: HTMLElement) => Math.max(280, Math.min(960, (el.parentElement?.clientWidth || document.body.clientWidth || 640) - 8));

/** Keyboard access to a chart: arrow keys move the cursor sample by sample (the legend reads it out). */
function keyboardCursor(el: HTMLElement, chart: () => uPlot | undefined): void {
  let idx = -1;
  el.addEventListener('keydown', (e) => {
    const u = chart();
    const xs = u?.data[0];
    if (!u || !xs?.length) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === 'ArrowLeft') idx = Math.max(0, (idx < 0 ? xs.length : idx) - step);
    else if (e.key === 'ArrowRight') idx = Math.min(xs.length - 1, (idx < 0 ? xs.length - 1 : idx + step));
    else if (e.key === 'Home') idx = 0;
    else if (e.key === 'End') idx = xs.length - 1;
    else return;
    e.preventDefault();
    const y = u.data[1]?.[idx];
    u.setCursor({ left: u.valToPos(xs[idx], 'x'), top: y == null ? 0 : u.valToPos(y, u.series[1]?.scale ?? 'y') });
  });
}

// ---------------------------------------------------------------- Memory
export function memorySection() {
  const el = h('section', { id: 'memory', class: 'memory', 'aria-label': 'Worker memory', 'data-samples': 0, 'data-sessions': 0 });
  const chartBox = h('div', { id: 'memory-chart', class: 'chart', tabindex: 0, role: 'img', 'aria-label': 'Worker memory over time: rss, heap used and external, with request markers. Arrow keys move the cursor.' });
  const status = h('div', { id: 'memory-status', class: 'muted', 'aria-live': 'polite' }, 'Waiting for the worker’s telemetry…');
  const note = h('div', { id: 'memory-note', class: 'muted', role: 'status', 'aria-live': 'polite' });
  const sessionsBox = h('div', { id: 'sessions' });
  const leakBox = h('div', { id: 'leak' }, h('p', { class: 'muted' }, 'No leak check run yet in this session.'));
  el.append(
    h('div', { class: 'actions' },
      button('release-all', 'Release all sessions', () => send({ type: 'releaseAll' })),
      button('leak-check', 'Run leak check…', () => send({ type: 'leakCheck' })),
      button('heap-snapshot', 'Take heap snapshot', () => send({ type: 'heapSnapshot' }))),
    status, chartBox, note,
    h('h3', {}, 'Live sessions'), sessionsBox,
    h('h3', {}, 'Last leak check'), leakBox,
  );

  const cols: number[][] = [[], [], [], [], []];
  let chart: uPlot | undefined;
  let pending = false;
  let total = 0;

  function build(): void {
    chart?.destroy();
    const t = theme();
    chart = new uPlot({
      width: chartWidth(chartBox), height: 220,
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.max(0, min * 0.9), max * 1.05 + 1] } },
      axes: [{ ...axes(t, '')[0], space: 90, values: (_u, vals) => vals.map((v) => new Date(v * 1000).toLocaleTimeString([], { hour12: false })) }, axes(t, 'MiB')[1]],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'time' },
        { label: 'rss', stroke: t.blue, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
        { label: 'heapUsed', stroke: t.green, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
        { label: 'external', stroke: t.orange, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
        { label: 'request', stroke: t.red, width: 0, paths: () => null, points: { show: true, size: 7, stroke: t.red, fill: t.red }, value: (u, v, _s, i) => (v == null || i == null ? '—' : markerKind[i] === 1 ? 'start' : 'end') },
      ],
    }, cols as uPlot.AlignedData, chartBox);
  }
  const markerKind: number[] = [];
  function redraw(): void {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (!chart) build();
      chart!.setData(cols as uPlot.AlignedData);
    });
  }

  function add(samples: TelemetrySample[], reset: boolean): void {
    if (reset) { for (const c of cols) c.length = 0; markerKind.length = 0; }
    for (const s of samples) {
      const isReq = s.reason === 'request-start' || s.reason === 'request-end';
      cols[0].push(s.time / 1000);
      cols[1].push(s.rss / MiB);
      cols[2].push(s.heapUsed / MiB);
      cols[3].push(s.external / MiB);
      (cols[4] as Array<number | null>).push(isReq ? s.rss / MiB : null);
      markerKind.push(s.reason === 'request-start' ? 1 : s.reason === 'request-end' ? 2 : 0);
    }
    const extra = cols[0].length - MAX_SAMPLES;
    if (extra > 0) { for (const c of cols) c.splice(0, extra); markerKind.splice(0, extra); }
    total += samples.length;
    el.dataset.samples = String(total);
    const last = samples[samples.length - 1];
    if (last) {
      const gpu = last.gpu.available ? ` · GPU ${mib(last.gpu.usedBytes)}` : '';
      status.textContent = `rss ${mib(last.rss)} · heap ${mib(last.heapUsed)} / ${mib(last.heapTotal)} · external ${mib(last.external)} · array buffers ${mib(last.arrayBuffers)} · sessions ${last.sessionsAlive} · taps ${last.tapHandlesAlive} · tensors held ${last.tensorsHeld} (${mib(last.tensorBytesHeld)}) · in flight ${last.requestsInFlight}${gpu}`;
      chartBox.setAttribute('aria-label', `Worker memory over time (last: rss ${mib(last.rss)}, heap used ${mib(last.heapUsed)}, external ${mib(last.external)}). Arrow keys move the cursor.`);
    }
    redraw();
  }

  function renderSessions(rows: SessionRow[], pid: number): void {
    el.dataset.sessions = String(rows.length);
    if (!rows.length) { sessionsBox.replaceChildren(h('p', { class: 'muted' }, `No live sessions in worker ${pid}.`)); return; }
    const tr = (...cells: Array<string | Node>) => h('tr', {}, ...cells.map((c) => h('td', {}, c)));
    sessionsBox.replaceChildren(h('table', { class: 'grid', id: 'sessions-table' },
      h('thead', {}, h('tr', {}, ...['Model', 'Purpose', 'Provider', 'Size', 'Taps', 'Users'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows.map((r) => {
        const taps = r.variantKey.startsWith('taps:') ? r.variantKey.slice(5).split('\n').filter(Boolean) : [];
        return tr(h('span', { title: r.modelKey }, (r.modelKey.split(/[\\/]/).pop() ?? r.modelKey).replace(/#.*$/, '')), r.purpose, r.provider, mib(r.bytes),
          taps.length ? h('span', { title: taps.join('\n') }, `${taps.length}: ${taps.slice(0, 3).join(', ')}${taps.length > 3 ? ', …' : ''}`) : '—', String(r.users));
      }))));
  }

  function renderLeak(r: LeakReportView | null, running?: string): void {
    el.dataset.leak = running ? 'running' : r ? r.verdict : 'none';
    const head = running ? h('p', { class: 'muted' }, `Running: ${running}…`) : null;
    if (!r) { leakBox.replaceChildren(head ?? h('p', { class: 'muted' }, 'No leak check run yet in this session.')); return; }
    leakBox.replaceChildren(...[head ?? '',
      h('p', {}, h('strong', { class: r.verdict === 'no leak' ? 'ok' : 'bad' }, r.verdict), ` · ${r.model.split(/[\\/]/).pop()} on ${r.input.split(/[\\/]/).pop()} · ${r.provider} · threshold ${r.thresholdBytes} B/iteration · ${(r.ms / 1000).toFixed(1)} s · ${r.startedAt}`),
      h('table', { class: 'grid', id: 'leak-table' },
        h('thead', {}, h('tr', {}, ...['Scenario', 'Metric', 'Verdict', 'Slope / iteration', `${Math.round(r.confidence * 100)}% CI`, 'R²', 'Growth'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...r.scenarios.flatMap((s) => s.metrics.map((m) => {
          const u = (x: number) => (m.unit === 'bytes' ? `${num(x, 0)} B` : num(x, 3));
          return h('tr', { title: m.summary, class: m.verdict === 'suspected leak' ? 'bad' : '' },
            h('td', {}, `${s.scenario} (${s.iterations}×)`), h('td', {}, m.metric), h('td', {}, m.verdict), h('td', {}, u(m.slope)),
            h('td', {}, `${u(m.ci[0])} … ${u(m.ci[1])}`), h('td', {}, num(m.r2, 2)), h('td', {}, m.unit === 'bytes' ? mib(m.growth) : num(m.growth, 0)));
        })))),
      heapDiffTable(r),
    ]);
  }

  /** The heap diff's top grown object types per scenario, with a retainer path for the first few. */
  function heapDiffTable(r: LeakReportView): HTMLElement | string {
    const rows = r.scenarios.flatMap((s) => (s.heapDiff?.grown ?? []).map((g) => ({ s, g })));
    if (!r.scenarios.some((s) => s.heapDiff)) return '';
    if (!rows.length) return h('p', { class: 'muted', id: 'heap-diff-none' }, 'Heap diff: no object type grew in both count and retained size.');
    const kib = (b: number) => `${b >= 0 ? '+' : ''}${(b / 1024).toFixed(1)} KiB`;
    return h('div', { id: 'heap-diff' },
      h('h3', {}, 'Heap diff (baseline → after the run and a forced GC)'),
      h('table', { class: 'grid', id: 'heap-diff-table' },
        h('thead', {}, h('tr', {}, ...['Scenario', 'Type', 'Count Δ', 'New', 'Retained Δ', 'Retainer path (GC roots → one new instance)'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows.map(({ s, g }) => h('tr', { title: `count ${g.count.join(' → ')}; retained ${g.retainedSize.join(' → ')} B` },
          h('td', {}, s.scenario), h('td', {}, g.type), h('td', {}, `+${g.countGrowth}`),
          h('td', { title: 'Objects the baseline did not have; "JIT": held only by V8 code objects (feedback vectors, allocation sites)' }, g.newHeldByCode ? `${g.newObjects} (${g.newHeldByCode} JIT)` : String(g.newObjects)),
          h('td', {}, kib(g.retainedGrowth)),
          h('td', { class: 'muted' }, g.retainerPathText ?? '—')))),
      ));
  }

  keyboardCursor(chartBox, () => chart);
  return {
    el,
    rebuild(): void { if (chart) { build(); chart.setData(cols as uPlot.AlignedData); } },
    onMessage(m: HostToWebview): boolean {
      switch (m.type) {
        case 'telemetry':
          if (m.reset) note.textContent = m.intervalMs ? `Sampled every ${m.intervalMs} ms; markers at the start and end of each request.` : '';
          add(m.samples, m.reset);
          return true;
        case 'telemetryStopped': note.textContent = m.reason; return true;
        case 'sessions': renderSessions(m.sessions, m.pid); return true;
        case 'leakReport': renderLeak(m.report, m.running); return true;
        case 'memoryNote': note.textContent = m.text; return true;
        default: return false;
      }
    },
  };
}

// ---------------------------------------------------------------- Metrics
/** Metrics where a lower value is the better explanation (deletion: the score falls fast). */
const LOWER_IS_BETTER = new Set(['deletion_auc', 'max_sensitivity', 'confidence_drop', 'road_morf', 'sanity_spearman']);

export function metricsSection() {
  const el = h('section', { id: 'metrics', class: 'metrics', 'aria-label': 'Explanation metrics', 'data-state': 'idle' });
  const status = h('div', { id: 'metrics-status', class: 'muted', role: 'status', 'aria-live': 'polite' }, 'Faithfulness, stability and (with a mask beside the image) localisation of the current map, each beside a random-map baseline.');
  const cancel = button('cancel-metrics', 'Cancel', () => send({ type: 'cancelMetrics' }));
  cancel.hidden = true;
  const tableBox = h('div', { id: 'metrics-table-box' });
  const chartBox = h('div', { id: 'curves-chart', class: 'chart', tabindex: 0, role: 'img', 'aria-label': 'Deletion and insertion curves. Arrow keys move the cursor.' });
  chartBox.hidden = true;
  el.append(h('div', { class: 'actions' }, button('compute-metrics', 'Compute metrics', () => send({ type: 'computeMetrics' }), 'primary'), cancel), status, tableBox, chartBox);
  let busyId = 0;
  let chart: uPlot | undefined;
  let view: MetricsView | undefined;

  function renderTable(v: MetricsView): void {
    const keys = Object.keys(v.metrics).filter((k) => !k.startsWith('random_')).sort();
    tableBox.replaceChildren(h('p', { class: 'muted' }, `${v.method} on ${v.layers.join(', ')} · class ${v.classIndex} (${v.label}) · ${v.input} · ${v.ep} · ${(v.ms / 1000).toFixed(1)} s${v.groundTruth ? ` · ground truth: ${v.groundTruth}` : ' · no ground truth found (localisation skipped)'}`), h('table', { class: 'grid', id: 'metrics-table' },
      h('thead', {}, h('tr', {}, ...['Metric', 'Value', 'Random map', 'vs random'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...keys.map((k) => {
        const x = v.metrics[k], r = v.metrics[`random_${k}`];
        const dir = LOWER_IS_BETTER.has(k) ? -1 : 1;
        const cmp = r === undefined || !Number.isFinite(x) || !Number.isFinite(r) ? '' : (x - r) * dir > 0 ? 'better' : (x - r) * dir < 0 ? 'worse' : 'equal';
        return h('tr', { 'data-metric': k },
          h('th', { scope: 'row' }, h('code', {}, k), LOWER_IS_BETTER.has(k) ? h('span', { class: 'muted' }, ' (lower is better)') : ''),
          h('td', { class: 'num' }, num(x)), h('td', { class: 'num' }, num(r)), h('td', { class: cmp === 'better' ? 'ok' : cmp === 'worse' ? 'bad' : '' }, cmp || '—'));
      }))));
  }

  function buildChart(): void {
    chart?.destroy();
    chart = undefined;
    const v = view;
    const c = v?.curves;
    const n = Math.max(c?.deletion?.length ?? 0, c?.insertion?.length ?? 0);
    chartBox.hidden = !n;
    if (!v || !c || !n) return;
    const t = theme();
    const xs = Array.from({ length: n }, (_, i) => i / (n - 1));
    const pad = (a?: number[]) => (a ? a : new Array<number | null>(n).fill(null));
    const fmtV = (_u: uPlot, x: number | null) => (x == null ? '—' : x.toFixed(3));
    chart = new uPlot({
      width: chartWidth(chartBox), height: 220,
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [{ ...axes(t, '')[0], values: (_u, vals) => vals.map((x) => `${Math.round(x * 100)}%`) }, axes(t, 'class probability')[1]],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'pixels removed / inserted', value: (_u, x) => (x == null ? '—' : `${Math.round(x * 100)}%`) },
        { label: 'deletion', stroke: t.red, width: 2, value: fmtV },
        { label: 'insertion', stroke: t.green, width: 2, value: fmtV },
        { label: 'random deletion', stroke: t.red, width: 1, dash: [5, 4], value: fmtV },
        { label: 'random insertion', stroke: t.green, width: 1, dash: [5, 4], value: fmtV },
      ],
    }, [xs, pad(c.deletion), pad(c.insertion), pad(c.random_deletion), pad(c.random_insertion)] as uPlot.AlignedData, chartBox);
  }
  keyboardCursor(chartBox, () => chart);

  return {
    el,
    rebuild(): void { if (chart) buildChart(); },
    onMessage(m: HostToWebview): boolean {
      switch (m.type) {
        case 'metricsBusy':
          busyId = m.requestId;
          el.dataset.state = 'busy';
          cancel.hidden = false;
          status.textContent = `Computing metrics: ${m.what}…`;
          return true;
        case 'metricsProgress':
          if (m.requestId === busyId) status.textContent = `Computing metrics: ${m.message ?? 'working'} ${m.done}/${m.total}`;
          return true;
        case 'metrics':
          view = m.view;
          cancel.hidden = true;
          status.textContent = `${Object.keys(m.view.metrics).filter((k) => !k.startsWith('random_')).length} metrics in ${(m.view.ms / 1000).toFixed(1)} s.`;
          renderTable(m.view);
          buildChart();
          el.dataset.state = 'done';
          return true;
        case 'metricsError':
          if (m.requestId !== busyId) return true;
          cancel.hidden = true;
          status.textContent = m.cancelled ? 'Cancelled.' : `Metrics failed: ${m.message}`;
          el.dataset.state = view ? 'done' : m.cancelled ? 'idle' : 'error';
          return true;
        default:
          return false;
      }
    },
  };
}
