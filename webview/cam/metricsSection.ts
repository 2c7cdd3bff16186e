// The CAM panel's Metrics section: "Compute metrics" on the shown explanation, a table of each
// metric beside its random-map baseline, and the deletion/insertion curves (uPlot). Its element
// carries #metrics[data-state] for the tests.
import uPlot from 'uplot';
import { LOWER_IS_BETTER, type HostToWebview, type MetricsView } from '../../src/panel/protocol';
import { send } from '../api';
import { button } from '../components/toolkit';
import { h } from '../dom';
import { axes, chartWidth, keyboardCursor, num, theme } from './charts';

export function metricsSection() {
  const el = h('section', { id: 'metrics', class: 'metrics', 'aria-label': 'Explanation metrics', 'data-state': 'idle' });
  const status = h(
    'div',
    { id: 'metrics-status', class: 'muted', role: 'status', 'aria-live': 'polite' },
    'Faithfulness, stability and (with a mask beside the image) localisation of the current map, each beside a random-map baseline.',
  );
  const cancel = button('cancel-metrics', 'Cancel', () => send({ type: 'cancelMetrics' }));
  cancel.hidden = true;
  const tableBox = h('div', { id: 'metrics-table-box' });
  const chartBox = h('div', {
    id: 'curves-chart',
    class: 'chart',
    tabindex: 0,
    role: 'img',
    'aria-label': 'Deletion and insertion curves. Arrow keys move the cursor.',
  });
  chartBox.hidden = true;
  el.append(
    h(
      'div',
      { class: 'actions' },
      button('compute-metrics', 'Compute metrics', () => send({ type: 'computeMetrics' }), 'primary'),
      cancel,
    ),
    status,
    tableBox,
    chartBox,
  );
  let busyId = 0;
  let chart: uPlot | undefined;
  let view: MetricsView | undefined;

  function renderTable(v: MetricsView): void {
    const keys = Object.keys(v.metrics)
      .filter((k) => !k.startsWith('random_'))
      .sort();
    tableBox.replaceChildren(
      h(
        'p',
        { class: 'muted' },
        `${v.method} on ${v.layers.join(', ')} · class ${v.classIndex} (${v.label}) · ${v.input} · ${v.ep} · ${(v.ms / 1000).toFixed(1)} s${v.groundTruth ? ` · ground truth: ${v.groundTruth}` : ' · no ground truth found (localisation skipped)'}`,
      ),
      h(
        'table',
        { class: 'grid', id: 'metrics-table' },
        h('thead', {}, h('tr', {}, ...['Metric', 'Value', 'Random map', 'vs random'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ...keys.map((k) => {
            const x = v.metrics[k],
              r = v.metrics[`random_${k}`];
            const dir = LOWER_IS_BETTER.has(k) ? -1 : 1;
            const cmp =
              r === undefined || !Number.isFinite(x) || !Number.isFinite(r) ? '' : (x - r) * dir > 0 ? 'better' : (x - r) * dir < 0 ? 'worse' : 'equal';
            return h(
              'tr',
              { 'data-metric': k },
              h('th', { scope: 'row' }, h('code', {}, k), LOWER_IS_BETTER.has(k) ? h('span', { class: 'muted' }, ' (lower is better)') : ''),
              h('td', { class: 'num' }, num(x)),
              h('td', { class: 'num' }, num(r)),
              h('td', { class: cmp === 'better' ? 'ok' : cmp === 'worse' ? 'bad' : '' }, cmp || '—'),
            );
          }),
        ),
      ),
    );
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
    chart = new uPlot(
      {
        width: chartWidth(chartBox),
        height: 220,
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
      },
      [xs, pad(c.deletion), pad(c.insertion), pad(c.random_deletion), pad(c.random_insertion)] as uPlot.AlignedData,
      chartBox,
    );
  }
  keyboardCursor(chartBox, () => chart);

  return {
    el,
    rebuild(): void {
      if (chart) buildChart();
    },
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
