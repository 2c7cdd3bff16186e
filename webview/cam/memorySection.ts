// The CAM panel's Memory section: the worker's memory over time (uPlot), live sessions, the last
// leak check and its heap diff, and the buttons that act on the worker. Its element carries
// #memory[data-samples][data-sessions][data-leak] for the tests.
import uPlot from 'uplot';
import type { HostToWebview, LeakReportView, SessionRow, TelemetrySample } from '../../src/panel/protocol';
import { send } from '../api';
import { button } from '../components/toolkit';
import { h } from '../dom';
import { axes, chartWidth, keyboardCursor, MiB, mib, num, theme } from './charts';

const MAX_SAMPLES = 1200; // 5 minutes at the default 250 ms

export function memorySection() {
  const el = h('section', { id: 'memory', class: 'memory', 'aria-label': 'Worker memory', 'data-samples': 0, 'data-sessions': 0 });
  const chartBox = h('div', {
    id: 'memory-chart',
    class: 'chart',
    tabindex: 0,
    role: 'img',
    'aria-label': 'Worker memory over time: rss, heap used and external, with request markers. Arrow keys move the cursor.',
  });
  const status = h('div', { id: 'memory-status', class: 'muted', 'aria-live': 'polite' }, 'Waiting for the worker’s telemetry…');
  const note = h('div', { id: 'memory-note', class: 'muted', role: 'status', 'aria-live': 'polite' });
  const sessionsBox = h('div', { id: 'sessions' });
  const leakBox = h('div', { id: 'leak' }, h('p', { class: 'muted' }, 'No leak check run yet in this session.'));
  el.append(
    h(
      'div',
      { class: 'actions' },
      button('release-all', 'Release all sessions', () => send({ type: 'releaseAll' })),
      button('leak-check', 'Run leak check…', () => send({ type: 'leakCheck' })),
      button('heap-snapshot', 'Take heap snapshot', () => send({ type: 'heapSnapshot' })),
    ),
    status,
    chartBox,
    note,
    h('h3', {}, 'Live sessions'),
    sessionsBox,
    h('h3', {}, 'Last leak check'),
    leakBox,
  );

  const cols: number[][] = [[], [], [], [], []];
  let chart: uPlot | undefined;
  let pending = false;
  let total = 0;

  function build(): void {
    chart?.destroy();
    const t = theme();
    chart = new uPlot(
      {
        width: chartWidth(chartBox),
        height: 220,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.max(0, min * 0.9), max * 1.05 + 1] } },
        axes: [
          { ...axes(t, '')[0], space: 90, values: (_u, vals) => vals.map((v) => new Date(v * 1000).toLocaleTimeString([], { hour12: false })) },
          axes(t, 'MiB')[1],
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        series: [
          { label: 'time' },
          { label: 'rss', stroke: t.blue, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
          { label: 'heapUsed', stroke: t.green, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
          { label: 'external', stroke: t.orange, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} MiB`) },
          {
            label: 'request',
            stroke: t.red,
            width: 0,
            paths: () => null,
            points: { show: true, size: 7, stroke: t.red, fill: t.red },
            value: (u, v, _s, i) => (v == null || i == null ? '—' : markerKind[i] === 1 ? 'start' : 'end'),
          },
        ],
      },
      cols as uPlot.AlignedData,
      chartBox,
    );
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
    if (reset) {
      for (const c of cols) c.length = 0;
      markerKind.length = 0;
    }
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
    if (extra > 0) {
      for (const c of cols) c.splice(0, extra);
      markerKind.splice(0, extra);
    }
    total += samples.length;
    el.dataset.samples = String(total);
    const last = samples[samples.length - 1];
    if (last) {
      const gpu = last.gpu.available ? ` · GPU ${mib(last.gpu.usedBytes)}` : '';
      status.textContent = `rss ${mib(last.rss)} · heap ${mib(last.heapUsed)} / ${mib(last.heapTotal)} · external ${mib(last.external)} · array buffers ${mib(last.arrayBuffers)} · sessions ${last.sessionsAlive} · taps ${last.tapHandlesAlive} · tensors held ${last.tensorsHeld} (${mib(last.tensorBytesHeld)}) · in flight ${last.requestsInFlight}${gpu}`;
      chartBox.setAttribute(
        'aria-label',
        `Worker memory over time (last: rss ${mib(last.rss)}, heap used ${mib(last.heapUsed)}, external ${mib(last.external)}). Arrow keys move the cursor.`,
      );
    }
    redraw();
  }

  function renderSessions(rows: SessionRow[], pid: number): void {
    el.dataset.sessions = String(rows.length);
    if (!rows.length) {
      sessionsBox.replaceChildren(h('p', { class: 'muted' }, `No live sessions in worker ${pid}.`));
      return;
    }
    const tr = (...cells: Array<string | Node>) => h('tr', {}, ...cells.map((c) => h('td', {}, c)));
    sessionsBox.replaceChildren(
      h(
        'table',
        { class: 'grid', id: 'sessions-table' },
        h('thead', {}, h('tr', {}, ...['Model', 'Purpose', 'Provider', 'Size', 'Taps', 'Users'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ...rows.map((r) => {
            const taps = r.variantKey.startsWith('taps:') ? r.variantKey.slice(5).split('\n').filter(Boolean) : [];
            return tr(
              h('span', { title: r.modelKey }, (r.modelKey.split(/[\\/]/).pop() ?? r.modelKey).replace(/#.*$/, '')),
              r.purpose,
              r.provider,
              mib(r.bytes),
              taps.length ? h('span', { title: taps.join('\n') }, `${taps.length}: ${taps.slice(0, 3).join(', ')}${taps.length > 3 ? ', …' : ''}`) : '—',
              String(r.users),
            );
          }),
        ),
      ),
    );
  }

  function renderLeak(r: LeakReportView | null, running?: string): void {
    el.dataset.leak = running ? 'running' : r ? r.verdict : 'none';
    const head = running ? h('p', { class: 'muted' }, `Running: ${running}…`) : null;
    if (!r) {
      leakBox.replaceChildren(head ?? h('p', { class: 'muted' }, 'No leak check run yet in this session.'));
      return;
    }
    leakBox.replaceChildren(
      ...[
        head ?? '',
        h(
          'p',
          {},
          h('strong', { class: r.verdict === 'no leak' ? 'ok' : r.verdict === 'inconclusive' ? 'warn' : 'bad' }, r.verdict),
          ` · ${r.model.split(/[\\/]/).pop()} on ${r.input.split(/[\\/]/).pop()} · ${r.provider} · threshold ${r.thresholdBytes} B/iteration · ${(r.ms / 1000).toFixed(1)} s · ${r.startedAt}`,
        ),
        h(
          'table',
          { class: 'grid', id: 'leak-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Scenario', 'Metric', 'Verdict', 'Slope / iteration', `${Math.round(r.confidence * 100)}% CI`, 'R²', 'Growth'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...r.scenarios.flatMap((s) =>
              s.metrics.map((m) => {
                const u = (x: number) => (m.unit === 'bytes' ? `${num(x, 0)} B` : num(x, 3));
                return h(
                  'tr',
                  { title: m.summary, class: m.verdict === 'suspected leak' ? 'bad' : m.verdict === 'inconclusive' ? 'warn' : '' },
                  h('td', {}, `${s.scenario} (${s.iterations}×)`),
                  h('td', {}, m.metric),
                  h('td', {}, m.verdict),
                  h('td', {}, u(m.slope)),
                  h('td', {}, `${u(m.ci[0])} … ${u(m.ci[1])}`),
                  h('td', {}, num(m.r2, 2)),
                  h('td', {}, m.unit === 'bytes' ? mib(m.growth) : num(m.growth, 0)),
                );
              }),
            ),
          ),
        ),
        heapDiffTable(r),
      ],
    );
  }

  /** The heap diff's top grown object types per scenario, with a retainer path for the first few. */
  function heapDiffTable(r: LeakReportView): HTMLElement | string {
    const rows = r.scenarios.flatMap((s) => (s.heapDiff?.grown ?? []).map((g) => ({ s, g })));
    if (!r.scenarios.some((s) => s.heapDiff)) return '';
    if (!rows.length) return h('p', { class: 'muted', id: 'heap-diff-none' }, 'Heap diff: no object type grew in both count and retained size.');
    const kib = (b: number) => `${b >= 0 ? '+' : ''}${(b / 1024).toFixed(1)} KiB`;
    return h(
      'div',
      { id: 'heap-diff' },
      h('h3', {}, 'Heap diff (baseline → after the run and a forced GC)'),
      h(
        'table',
        { class: 'grid', id: 'heap-diff-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Scenario', 'Type', 'Count Δ', 'New', 'Retained Δ', 'Retainer path (GC roots → one new instance)'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          ...rows.map(({ s, g }) =>
            h(
              'tr',
              { title: `count ${g.count.join(' → ')}; retained ${g.retainedSize.join(' → ')} B` },
              h('td', {}, s.scenario),
              h('td', {}, g.type),
              h('td', {}, `+${g.countGrowth}`),
              h(
                'td',
                { title: 'Objects the baseline did not have; "JIT": held only by V8 code objects (feedback vectors, allocation sites)' },
                g.newHeldByCode ? `${g.newObjects} (${g.newHeldByCode} JIT)` : String(g.newObjects),
              ),
              h('td', {}, kib(g.retainedGrowth)),
              h('td', { class: 'muted' }, g.retainerPathText ?? '—'),
            ),
          ),
        ),
      ),
    );
  }

  keyboardCursor(chartBox, () => chart);
  return {
    el,
    rebuild(): void {
      if (chart) {
        build();
        chart.setData(cols as uPlot.AlignedData);
      }
    },
    onMessage(m: HostToWebview): boolean {
      switch (m.type) {
        case 'telemetry':
          if (m.reset) note.textContent = m.intervalMs ? `Sampled every ${m.intervalMs} ms; markers at the start and end of each request.` : '';
          add(m.samples, m.reset);
          return true;
        case 'telemetryStopped':
          note.textContent = m.reason;
          return true;
        case 'sessions':
          renderSessions(m.sessions, m.pid);
          return true;
        case 'leakReport':
          renderLeak(m.report, m.running);
          return true;
        case 'memoryNote':
          note.textContent = m.text;
          return true;
        default:
          return false;
      }
    },
  };
}
