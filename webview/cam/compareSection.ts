// The CAM panel's "Compare methods" grid and "Layer sweep" strip: the host computes (one request
// at a time, cancellable, with progress); this section chooses the methods, shows each map with
// the panel's colormap and opacity (the engine's blend, pixels.ts), each method's time and
// deletion/insertion AUC beside the random map's, and asks the host for the PNG of either.
// #compare[data-state] and #sweep[data-state] say where each is (idle | busy | done | error).
import {
  LOWER_IS_BETTER,
  shortLayerName,
  type CamMethodName,
  type CompareKind,
  type CompareView,
  type HostToWebview,
  type SweepView,
} from '../../src/panel/protocol';
import { send } from '../api';
import { button, checkbox, progressRing } from '../components/toolkit';
import { asF32, asU8, fmt, h, paint } from '../dom';
import { overlayRgba, type Look } from './pixels';

/** The longer side of a grid cell's and a strip thumbnail's picture, in CSS pixels. */
const CELL = 180;
const THUMB = 112;

export function compareSection(look: () => Look) {
  const el = h('section', { id: 'comparisons', class: 'comparisons', 'aria-label': 'Compare methods and layers' });
  let methods: readonly CamMethodName[] = [];
  const chosen = new Set<CamMethodName>();
  let busy: { kind: CompareKind; id: number } | undefined;
  let compare: CompareView | undefined;
  let sweep: SweepView | undefined;

  const picker = h('fieldset', { id: 'compare-methods', class: 'method-picker' });
  const status = h('div', { id: 'compare-status', class: 'progress', role: 'status', 'aria-live': 'polite' });
  const grid = h('div', { id: 'compare', class: 'compare-grid', 'data-state': 'idle', 'aria-label': 'Maps of the compared methods' });
  const strip = h('div', { id: 'sweep', class: 'sweep-strip', 'data-state': 'idle', 'aria-label': 'Grad-CAM at each block output, input side first' });
  const baseline = h('p', { id: 'compare-baseline', class: 'muted' });
  const sweepNote = h('p', { id: 'sweep-note', class: 'muted' });
  const cancel = button('cancel-compare', 'Cancel', () => send({ type: 'cancelCompare' }));
  const saveCompare = button('save-compare', 'Save compare PNG', () => save('compare'));
  const saveSweep = button('save-sweep', 'Save sweep PNG', () => save('sweep'));
  cancel.hidden = true;
  saveCompare.hidden = true;
  saveSweep.hidden = true;
  const compareButton = button(
    'run-compare',
    'Compare methods',
    () => {
      const list = methods.filter((m) => chosen.has(m));
      if (list.length) send({ type: 'compareMethods', methods: list });
      else say('Choose at least one method to compare.');
    },
    'primary',
  );
  el.append(
    h(
      'p',
      { class: 'muted' },
      'One image, the chosen methods side by side: each map with its time and deletion/insertion AUC (the same class for every method).',
    ),
    picker,
    h(
      'div',
      { class: 'actions' },
      compareButton,
      button('run-sweep', 'Layer sweep', () => send({ type: 'layerSweep' })),
      cancel,
      saveCompare,
      saveSweep,
    ),
    status,
    baseline,
    grid,
    h('h3', {}, 'Layer sweep'),
    sweepNote,
    strip,
  );

  function save(kind: CompareKind): void {
    const l = look();
    // what the canvases show: the heatmap view draws the colormap alone
    send({ type: 'saveCompare', kind, colormap: l.colormap, alpha: l.mode === 'heatmap' ? 1 : l.alpha });
  }

  function say(text: string | undefined, withRing = false): void {
    status.replaceChildren(...(withRing ? [progressRing()] : []), h('span', { id: 'compare-status-text' }, text ?? ''));
  }

  function renderPicker(): void {
    picker.replaceChildren(
      h('legend', { class: 'field-label' }, 'Methods to compare'),
      ...methods.map((m) =>
        checkbox(`compare-${m}`, m, chosen.has(m), (on) => {
          if (on) chosen.add(m);
          else chosen.delete(m);
        }),
      ),
    );
  }

  /** A figure whose canvas shows `cam` over the picture as the panel's overlay does. */
  function mapFigure(
    image: CompareView['image'],
    cam: { data: Float32Array; width: number; height: number },
    size: number,
    label: string,
    caption: Array<Node | string>,
  ) {
    const canvas = h('canvas', { class: 'img', tabindex: 0, role: 'img', 'aria-label': label });
    const scale = size / Math.max(image.width, image.height);
    canvas.style.width = `${Math.round(image.width * scale)}px`;
    canvas.style.height = `${Math.round(image.height * scale)}px`;
    paint(canvas, overlayRgba(image, cam, look()), image.width, image.height);
    return h('figure', {}, canvas, h('figcaption', {}, ...caption));
  }

  const auc = (x: number | undefined) => (x === undefined ? '—' : fmt(x, 3));
  /** 'ok' when the value beats the random map's, 'bad' when it does not. */
  const versus = (metric: string, x: number | undefined, random: number | undefined) =>
    x === undefined || random === undefined ? '' : (x - random) * (LOWER_IS_BETTER.has(metric) ? -1 : 1) > 0 ? 'ok' : 'bad';

  function renderCompare(): void {
    const v = compare;
    if (!v) return;
    baseline.textContent = `${v.input} · class ${v.classIndex} (${v.label}) · ${v.ep} · ${(v.ms / 1000).toFixed(1)} s · deletion AUC: lower is better, insertion AUC: higher${v.baseline ? ` · random map: deletion ${auc(v.baseline.deletionAuc)}, insertion ${auc(v.baseline.insertionAuc)}` : ''}`;
    grid.replaceChildren(
      ...v.cells.map((c) => {
        if (!c.cam)
          return h('figure', { class: 'failed', 'data-method': c.method }, h('div', { class: 'error' }, h('strong', {}, `${c.method}: `), c.error ?? 'failed'));
        const text = `${c.method}: ${Math.round(c.ms)} ms, deletion AUC ${auc(c.deletionAuc)}, insertion AUC ${auc(c.insertionAuc)}`;
        const f = mapFigure(v.image, c.cam, CELL, text, [
          h('strong', {}, c.method),
          h('span', { class: 'muted' }, ` · ${Math.round(c.ms)} ms`),
          h('br'),
          h('span', { class: versus('deletion_auc', c.deletionAuc, v.baseline?.deletionAuc) }, `del ${auc(c.deletionAuc)}`),
          ' · ',
          h('span', { class: versus('insertion_auc', c.insertionAuc, v.baseline?.insertionAuc) }, `ins ${auc(c.insertionAuc)}`),
          ...(c.warnings.length ? [h('br'), h('span', { class: 'warn', title: c.warnings.join('\n') }, `${c.warnings.length} warning(s)`)] : []),
        ]);
        f.dataset.method = c.method;
        return f;
      }),
    );
  }

  function renderSweep(): void {
    const v = sweep;
    if (!v) return;
    sweepNote.textContent = `${v.method} for class ${v.classIndex} (${v.label}) at ${v.steps.length}${v.found > v.steps.length ? ` of ${v.found}` : ''} block outputs, input side first · ${(v.ms / 1000).toFixed(1)} s`;
    strip.replaceChildren(
      ...v.steps.map((s, i) => {
        const f = mapFigure(v.image, s.cam, THUMB, `Layer ${i + 1} of ${v.steps.length}: ${s.layer}, map ${s.rawHeight} by ${s.rawWidth}`, [
          h('span', { class: 'sweep-layer', title: s.layer }, shortLayerName(s.layer)),
          h('br'),
          h('span', { class: 'muted' }, `${s.rawHeight}×${s.rawWidth}`),
          ...(s.warnings.length ? [' ', h('span', { class: 'warn', title: s.warnings.join('\n') }, '⚠')] : []),
        ]);
        f.dataset.layer = s.layer;
        return f;
      }),
    );
  }

  const box = (kind: CompareKind) => (kind === 'compare' ? grid : strip);

  return {
    el,
    /** The methods the panel offers and the ones checked at first (from the host's init). */
    setMethods(all: readonly CamMethodName[], defaults: readonly CamMethodName[]): void {
      const first = !methods.length;
      methods = all;
      if (first) defaults.forEach((m) => chosen.add(m));
      renderPicker();
    },
    /** The look changed: draw the maps again. */
    repaint(): void {
      renderCompare();
      renderSweep();
    },
    onMessage(m: HostToWebview): boolean {
      switch (m.type) {
        case 'compareBusy':
          busy = { kind: m.kind, id: m.requestId };
          box(m.kind).dataset.state = 'busy';
          cancel.hidden = false;
          say(`${m.kind === 'compare' ? 'Comparing' : 'Sweeping'}: ${m.what}…`, true);
          return true;
        case 'compareProgress':
          if (busy?.id === m.requestId) say(`${m.message ?? 'working'} (${m.done}/${m.total})`, true);
          return true;
        case 'compare':
        case 'sweep': {
          const v = m.view;
          const image = { ...v.image, data: asU8(v.image.data) };
          if (m.type === 'compare') {
            compare = { ...m.view, image, cells: m.view.cells.map((c) => (c.cam ? { ...c, cam: { ...c.cam, data: asF32(c.cam.data) } } : c)) };
            renderCompare();
            saveCompare.hidden = false;
          } else {
            sweep = { ...m.view, image, steps: m.view.steps.map((s) => ({ ...s, cam: { ...s.cam, data: asF32(s.cam.data) } })) };
            renderSweep();
            saveSweep.hidden = false;
          }
          if (busy?.id === v.requestId) {
            busy = undefined;
            cancel.hidden = true;
            say(undefined);
          }
          box(m.type).dataset.state = 'done';
          return true;
        }
        case 'compareError':
          if (busy && busy.id !== m.requestId) return true;
          busy = undefined;
          cancel.hidden = true;
          say(m.cancelled ? 'Cancelled.' : `${m.kind === 'compare' ? 'Compare' : 'Layer sweep'} failed: ${m.message}`);
          box(m.kind).dataset.state = (m.kind === 'compare' ? compare : sweep) ? 'done' : m.cancelled ? 'idle' : 'error';
          return true;
        default:
          return false;
      }
    },
  };
}
