// The CAM panel's webview. It shows the state the host pushes (model, image, method, layer,
// class, options) and sends intents to change it; it owns only how a result is shown (colormap,
// opacity, view mode, zoom: ViewSettings, kept in the webview's state) and draws the overlay
// itself with the engine's blend. The root's data-state says where it is: loading | busy | done |
// error | cancelled (tests wait on it).
import {
  persistedViewSettings,
  withShownMap,
  type DrawnView,
  type ExplainState,
  type HostToWebview,
  type LayerChoice,
  type ViewMode,
  type ViewSettings,
} from '../../src/panel/protocol';
import { COLORMAPS, type ColormapName } from '../../src/engine/image/colormap';
import { loadState, saveState, send } from '../api';
import { button, checkbox, dropdown, progressRing, radioGroup, registerComponents } from '../components/toolkit';
import { asF32, asU8, fmt, h, paint, root as rootElement, setRootState } from '../dom';
import { overlayRgba, pictureRgba, shownAlpha } from './pixels';
import { memorySection } from './memorySection';
import { metricsSection } from './metricsSection';
import { compareSection } from './compareSection';
import { regionsSection } from './regionsSection';
import { videoSection } from './videoSection';
import { detectionsSection } from './detectionsSection';
import { conceptsSection } from './conceptsSection';
import { optionsSection } from './optionsSection';
import { frameSlice } from './videoState';

const MODES: ReadonlyArray<readonly [ViewMode, string]> = [
  ['overlay', 'Overlay'],
  ['side-by-side', 'Side by side'],
  ['heatmap', 'Heatmap only'],
];
const FIT: ViewSettings = { colormap: 'jet', alpha: 0.5, mode: 'overlay', zoom: 0 };

export function camApp(): void {
  registerComponents();
  const root = rootElement();
  const saved = loadState();
  /** The host's state as last pushed (kept for the serializer; never changed here). */
  let state: ExplainState | undefined = (saved as { host?: ExplainState } | undefined)?.host;
  /** How the result is shown: the webview's own. */
  let look: ViewSettings = persistedViewSettings(saved, FIT);
  let lookStored = Boolean((saved as { view?: unknown } | undefined)?.view);
  let methods: readonly string[] = [];
  let layerChoices: LayerChoice[] = [];
  let imageNames: string[] = [];
  let view: DrawnView | undefined;
  /** A result came for a picture this webview did not have, and the host was asked for it again. */
  let redrawAsked = false;
  let busyId = 0;
  /** The clip frame shown (0 for an image); the video section chooses it. */
  let frame = 0;

  const persist = () => saveState({ host: state, view: look });
  const changeLook = (next: Partial<ViewSettings>) => {
    look = { ...look, ...next };
    lookStored = true;
    persist();
    draw();
    concepts.repaint();
  };

  const header = h('header', { class: 'header' });
  const notices = h('div', { id: 'notices', role: 'status', 'aria-live': 'polite' });
  const controls = h('section', { class: 'controls', 'aria-label': 'Explanation settings' });
  const progress = h('div', { id: 'progress', class: 'progress', hidden: true, role: 'status', 'aria-live': 'polite' });
  const errorBox = h('div', { id: 'error', class: 'error', hidden: true, role: 'alert' });
  // The explanation's warnings (an empty or constant map, non-finite values): until the next result.
  const warningsBox = h('div', { id: 'warnings', hidden: true, role: 'alert' });
  const display = h('section', { class: 'display', 'aria-label': 'Heatmap' });
  const canvases = h('div', { class: 'canvases' });
  const original = h('canvas', { id: 'original', class: 'img', tabindex: 0, 'aria-label': 'Input image' });
  const overlay = h('canvas', {
    id: 'overlay',
    class: 'img',
    tabindex: 0,
    'aria-label': 'CAM overlay; arrow keys move the probe, the value under it is read out below',
  });
  const hover = h('div', { id: 'hover', class: 'muted', 'aria-live': 'polite' }, 'Hover the map (or focus it and use the arrow keys) to read CAM values.');
  const bars = h('section', { id: 'predictions', class: 'predictions', 'aria-label': 'Predictions: choose a class to explain it' });
  const tapsBox = h('section', { id: 'taps', class: 'taps', 'aria-label': 'Tap statistics' });
  const exportsBox = h('section', { class: 'exports', 'aria-label': 'Export' });
  const facts = h('div', { id: 'facts', class: 'muted' });
  const detections = detectionsSection((box) => send({ type: 'setBox', box }));
  const regions = regionsSection((classIndex) => send({ type: 'setRegionClass', classIndex }));
  const concepts = conceptsSection(() => look);
  const options = optionsSection((methodOptions) => send({ type: 'setOptions', methodOptions }));
  const metrics = metricsSection();
  const comparisons = compareSection(() => look);
  const memory = memorySection();
  const video = videoSection(
    (t) => {
      frame = t;
      root.dataset.frame = String(t);
      draw();
    },
    () => send({ type: 'saveGif' }),
  );
  root.replaceChildren(
    header,
    notices,
    controls,
    options.el,
    progress,
    errorBox,
    warningsBox,
    display,
    video.el,
    facts,
    detections.heading,
    detections.list,
    regions.heading,
    regions.list,
    concepts.heading,
    concepts.el,
    h('h2', {}, 'Predictions'),
    bars,
    h('h2', {}, 'Tap statistics'),
    tapsBox,
    exportsBox,
    h('h2', {}, 'Metrics'),
    metrics.el,
    h('h2', {}, 'Compare methods'),
    comparisons.el,
    h('h2', {}, 'Memory'),
    memory.el,
  );
  // charts take their colours from the theme: rebuild them when it (the body's class) changes
  new MutationObserver(() => {
    metrics.rebuild();
    memory.rebuild();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  function renderControls(): void {
    if (!state) return;
    const s = state;
    header.replaceChildren(h('h1', {}, `CamLens · ${s.modelPath.split(/[\\/]/).pop()}`), h('div', { class: 'muted' }, imageNames[s.imageIndex] ?? ''));
    const layerOpts = [...layerChoices, { value: '__tree__', label: 'Choose in tree…' }];
    const current = s.layer ?? layerChoices[0]?.value ?? '';
    // Each control asks the host; what it shows comes back with the host's next 'state'.
    controls.replaceChildren(
      imageNames.length > 1
        ? dropdown(
            'image',
            'Image',
            imageNames.map((n, i) => ({ value: String(i), label: n })),
            String(s.imageIndex),
            (v) => send({ type: 'setImage', imageIndex: Number(v) }),
          )
        : h('span'),
      dropdown(
        'method',
        'Method',
        methods.map((m) => ({ value: m, label: m })),
        s.method,
        (v) => {
          if (v !== s.method) send({ type: 'setMethod', method: v as ExplainState['method'] });
        },
      ),
      dropdown('layer', 'Layer', layerOpts, current, (v) => {
        if (v === '__tree__') send({ type: 'chooseLayerInTree' });
        else if (v !== current) send({ type: 'setLayer', layer: v });
      }),
      checkbox('aug', 'Smoothing (flip × brightness)', s.augSmooth, (c) => send({ type: 'setOptions', augSmooth: c })),
      checkbox('scales', 'Multi-scale (1, 0.75, 0.5)', s.multiScale, (c) => send({ type: 'setOptions', multiScale: c })),
      button('rerun', 'Explain again', () => send({ type: 'rerun' })),
    );
    options.render(s);
  }

  const displayControls = h('div', { class: 'display-controls' });
  display.replaceChildren(displayControls, canvases, hover);

  function renderDisplayControls(): void {
    const alpha = h('input', { id: 'alpha', type: 'range', min: 0, max: 1, step: 0.05, value: look.alpha, 'aria-label': 'Overlay opacity' });
    alpha.addEventListener('input', () => changeLook({ alpha: Number(alpha.value) }));
    const zoomOut = button('zoom-out', '−', () => setZoom(currentZoom() / 1.5));
    const zoomIn = button('zoom-in', '+', () => setZoom(currentZoom() * 1.5));
    const zoomFit = button('zoom-fit', 'Fit', () => setZoom(0));
    zoomOut.setAttribute('aria-label', 'Zoom out');
    zoomIn.setAttribute('aria-label', 'Zoom in');
    displayControls.replaceChildren(
      radioGroup('mode', 'View', MODES, look.mode, (v) => {
        if (v !== look.mode) changeLook({ mode: v as ViewMode });
      }),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Opacity'), alpha),
      dropdown(
        'colormap',
        'Colormap',
        COLORMAPS.map((c) => ({ value: c, label: c })),
        look.colormap,
        (v) => changeLook({ colormap: v as ColormapName }),
      ),
      h('span', { class: 'field' }, h('span', { class: 'field-label' }, 'Zoom'), h('span', { class: 'zoom' }, zoomOut, zoomFit, zoomIn)),
    );
  }

  function currentZoom(): number {
    if (!view) return 1;
    if (look.zoom > 0) return look.zoom;
    const panes = look.mode === 'side-by-side' ? 2 : 1;
    const avail = Math.max(160, Math.min(document.body.clientWidth - 48, 1100) / panes - 16);
    return Math.max(0.25, Math.min(8, Math.min(avail, 420) / view.image.width));
  }
  function setZoom(z: number): void {
    changeLook({ zoom: z === 0 ? 0 : Math.max(0.25, Math.min(16, z)) });
  }

  function draw(): void {
    if (!view) return;
    // A clip shows one frame at a time: that frame's picture and map.
    const { image, cam } = frameSlice(view, frame);
    const W = image.width,
      H = image.height;
    paint(original, pictureRgba(image), W, H);
    paint(overlay, overlayRgba(image, cam, look), W, H);
    const z = currentZoom();
    for (const cv of [original, overlay]) {
      cv.style.width = `${Math.round(W * z)}px`;
      cv.style.height = `${Math.round(H * z)}px`;
    }
    // A detector's boxes go over every picture shown (a clip is never a detector's input).
    const boxed = (c: HTMLCanvasElement) => (view!.video ? c : detections.framed(c, view!, z));
    canvases.replaceChildren(
      ...(look.mode === 'side-by-side'
        ? [figure(boxed(original), 'Image'), figure(boxed(overlay), 'Overlay')]
        : [figure(boxed(overlay), look.mode === 'heatmap' ? 'Heatmap' : 'Overlay')]),
    );
    root.dataset.mode = look.mode;
    root.dataset.colormap = look.colormap;
    video.repaint(look);
    comparisons.repaint();
  }
  const figure = (c: HTMLElement, caption: string) => h('figure', {}, c, h('figcaption', { class: 'muted' }, caption));

  // hover / keyboard probe of the CAM value
  let probe = { x: 0, y: 0 };
  function readout(x: number, y: number): void {
    if (!view) return;
    const { cam, image } = frameSlice(view, frame);
    const cx = Math.min(cam.width - 1, Math.floor((x / image.width) * cam.width));
    const cy = Math.min(cam.height - 1, Math.floor((y / image.height) * cam.height));
    hover.textContent = `CAM at (${x}, ${y}): ${fmt(cam.data[cy * cam.width + cx], 3)}`;
  }
  for (const cv of [overlay, original]) {
    cv.addEventListener('mousemove', (e) => {
      if (!view) return;
      const r = cv.getBoundingClientRect();
      probe = { x: Math.floor(((e.clientX - r.left) / r.width) * view.image.width), y: Math.floor(((e.clientY - r.top) / r.height) * view.image.height) };
      readout(probe.x, probe.y);
    });
    cv.addEventListener('keydown', (e) => {
      if (!view) return;
      const step = e.shiftKey ? 8 : 1;
      const d: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      const m = d[e.key];
      if (!m) return;
      e.preventDefault();
      probe = { x: Math.max(0, Math.min(view.image.width - 1, probe.x + m[0])), y: Math.max(0, Math.min(view.image.height - 1, probe.y + m[1])) };
      readout(probe.x, probe.y);
    });
  }

  function renderPredictions(): void {
    if (!view) return;
    const v = view;
    const max = Math.max(...v.predictions.map((p) => p.prob), 1e-9);
    bars.replaceChildren(
      ...v.predictions.map((p) => {
        const fill = h('span', { class: 'bar-fill' });
        fill.style.width = `${(p.prob / max) * 100}%`;
        const b = h(
          'button',
          { class: 'bar', 'data-class': p.index, 'aria-pressed': String(p.index === v.classIndex), title: `Explain class ${p.index} (${p.label})` },
          h('span', { class: 'bar-label' }, `${p.label}`),
          h('span', { class: 'bar-track' }, fill),
          h('span', { class: 'bar-value' }, `${(p.prob * 100).toFixed(1)}%`),
        );
        b.addEventListener('click', () => send({ type: 'setClass', classIndex: p.index }));
        return b;
      }),
    );
  }

  function renderExports(): void {
    exportsBox.replaceChildren(
      // what the overlay canvas shows: its colormap and its opacity (1 in the heatmap view)
      button('save-overlay', 'Save overlay PNG', () => send({ type: 'saveOverlay', colormap: look.colormap, alpha: shownAlpha(look) })),
      button('save-npy', 'Save map .npy', () => send({ type: 'saveNpy' })),
      button('save-report', 'Save report PNG', () => void saveReport()),
    );
  }
  async function saveReport(): Promise<void> {
    if (!view) return;
    // the report image: the views side by side plus the prediction list
    const W = view.image.width,
      H = view.image.height,
      scale = Math.max(1, Math.round(256 / W));
    const c = document.createElement('canvas');
    c.width = W * scale * 2 + 30;
    c.height = H * scale + 24 + 18 * view.predictions.length + 10;
    const g = c.getContext('2d')!;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    g.imageSmoothingEnabled = true;
    g.drawImage(original, 10, 10, W * scale, H * scale);
    g.drawImage(overlay, 20 + W * scale, 10, W * scale, H * scale);
    g.fillStyle = '#000';
    g.font = '13px sans-serif';
    view.predictions.forEach((p, i) =>
      g.fillText(`${p.index === view!.classIndex ? '▶ ' : ''}${p.label}: ${(p.prob * 100).toFixed(1)}%`, 10, H * scale + 30 + 18 * i),
    );
    const blob = await new Promise<Blob | null>((r) => c.toBlob(r, 'image/png'));
    if (blob)
      send({
        type: 'savePng',
        png: new Uint8Array(await blob.arrayBuffer()),
        name: `${(imageNames[state?.imageIndex ?? 0] ?? 'report').split('/').pop()}-${view.method}-report`,
      });
  }

  function renderTaps(list: Extract<HostToWebview, { type: 'tapStats' }>): void {
    tapsBox.replaceChildren(
      h('p', { class: 'muted' }, list.note),
      ...list.taps.map((t) => {
        const s = t.stats;
        if (!s) return h('div', { class: 'tap' }, h('code', {}, t.value), ' (no statistics)');
        const max = Math.max(...s.histogram.counts, 1);
        const hist = h('div', { class: 'hist', role: 'img', 'aria-label': `Histogram of ${t.value} from ${fmt(s.histogram.min)} to ${fmt(s.histogram.max)}` });
        for (const c of s.histogram.counts) {
          const b = h('span');
          b.style.height = `${(c / max) * 100}%`;
          hist.append(b);
        }
        return h(
          'div',
          { class: 'tap', 'data-tap': t.value },
          h('div', {}, h('code', {}, t.value), h('span', { class: 'muted' }, `  ${s.dtype} [${s.shape.join('×')}]`)),
          h(
            'div',
            { class: 'stats' },
            `min ${fmt(s.min)} · max ${fmt(s.max)} · mean ${fmt(s.mean)} · std ${fmt(s.std)} · zeros ${(s.zeroFraction * 100).toFixed(1)}% · NaN ${s.nanCount} · Inf ${s.infCount}`,
          ),
          hist,
        );
      }),
    );
    root.dataset.taps = String(list.taps.length);
  }

  function showProgress(text: string | undefined, cancellable: boolean): void {
    if (!text) {
      progress.hidden = true;
      progress.replaceChildren();
      return;
    }
    progress.hidden = false;
    progress.replaceChildren(
      progressRing(),
      h('span', { id: 'progress-text' }, text),
      cancellable ? button('cancel', 'Cancel', () => send({ type: 'cancel' })) : h('span'),
    );
  }

  function showWarnings(list: readonly string[]): void {
    warningsBox.hidden = list.length === 0;
    warningsBox.replaceChildren(...list.map((text) => h('div', { class: 'notice warning' }, h('strong', {}, 'Warning: '), text)));
    root.dataset.warnings = String(list.length);
  }

  function notice(text: string, level: string): void {
    const n = h('div', { class: `notice ${level}` }, text);
    notices.append(n);
    root.dataset.notice = text;
    setTimeout(() => n.remove(), 20_000);
  }

  window.addEventListener('message', (ev: MessageEvent<HostToWebview>) => {
    const m = ev.data;
    if (metrics.onMessage(m) || memory.onMessage(m) || comparisons.onMessage(m)) return;
    switch (m.type) {
      case 'init':
        state = m.state;
        methods = m.methods;
        comparisons.setMethods(m.methods, m.compareMethods ?? []);
        options.setDeclared(m.methodOptions);
        layerChoices = m.layerChoices;
        imageNames = m.imageNames;
        // the user's settings seed the look until the user changes it here
        if (!lookStored) look = { ...look, ...m.view };
        persist();
        renderControls();
        renderDisplayControls();
        renderExports();
        draw();
        if (!m.trusted) {
          errorBox.hidden = false;
          errorBox.textContent = 'This workspace is not trusted, so CamLens does not run models here.';
        }
        if (!view) setRootState('loading');
        return;
      case 'state':
        state = m.state;
        layerChoices = m.layerChoices;
        imageNames = m.imageNames;
        persist();
        renderControls();
        return;
      case 'busy':
        busyId = m.requestId;
        video.pause();
        errorBox.hidden = true;
        setRootState('busy');
        showProgress(`Explaining: ${m.what}…`, true);
        return;
      case 'progress':
        if (m.requestId === busyId) showProgress(`${m.message ?? 'Working'}: ${m.done}/${m.total}`, true);
        return;
      case 'result': {
        const v = m.view;
        // A map that came at the layer's size is drawn from it here (mapsAt: 'layer'); the picture
        // of the same image is the one already shown.
        try {
          view = withShownMap(
            {
              ...v,
              ...(v.image ? { image: { ...v.image, data: asU8(v.image.data) } } : {}),
              ...(v.cam ? { cam: { ...v.cam, data: asF32(v.cam.data) } } : {}),
              camRaw: { ...v.camRaw, ...(v.camRaw.data ? { data: asF32(v.camRaw.data) } : {}) },
              video: v.video ? { ...v.video, frames: asU8(v.video.frames) } : undefined,
            },
            view, // the same image's picture, when the host did not send it again
          );
        } catch (e) {
          // A result on a picture this webview does not have: ask the host once for everything
          // again (as after a reload); else say so, as for a failed explanation.
          if (v.samePicture && !redrawAsked) {
            redrawAsked = true;
            send({ type: 'ready' });
            return;
          }
          showProgress(undefined, false);
          errorBox.hidden = false;
          errorBox.replaceChildren(h('strong', {}, 'CamLens could not draw this result: '), (e as Error).message);
          setRootState('error');
          return;
        }
        redrawAsked = false;
        showProgress(undefined, false);
        errorBox.hidden = true;
        // A clip keeps the frame being looked at (same clip, another method or class).
        if (view.video) video.setView(view, frame);
        else {
          video.setView(undefined, 0);
          frame = 0;
          delete root.dataset.frame;
          draw();
        }
        renderPredictions();
        detections.render(view);
        regions.render(view);
        concepts.render(view);
        if (v.detections) root.dataset.detection = String(v.detection ?? '');
        else delete root.dataset.detection;
        showWarnings(v.warnings ?? []);
        let sum = 0;
        // NaN marks the parts of a centre-cropped photo the model never saw.
        for (const x of view.cam.data) if (Number.isFinite(x)) sum += x;
        facts.textContent = `${v.method} on ${v.layers.join(', ')} · class ${v.classIndex} (${v.label}) · map ${v.camRaw.width}×${v.camRaw.height} → ${view.cam.width}×${view.cam.height}${v.video ? ` × ${v.video.count} frames` : ''} · ${v.ep} · ${Math.round(v.timings.total ?? 0)} ms`;
        root.dataset.method = v.method;
        root.dataset.classIndex = String(v.classIndex);
        root.dataset.camSum = sum.toFixed(4);
        setRootState('done');
        return;
      }
      case 'error':
        if (m.requestId !== busyId && busyId !== 0 && m.requestId < busyId) return;
        showProgress(undefined, false);
        showWarnings([]);
        errorBox.hidden = false;
        errorBox.replaceChildren(h('strong', {}, 'CamLens could not explain this: '), m.message, m.code ? h('span', { class: 'muted' }, ` (${m.code})`) : '');
        setRootState('error');
        return;
      case 'cancelled':
        showProgress(undefined, false);
        notice('Cancelled.', 'info');
        setRootState(view ? 'done' : 'cancelled');
        return;
      case 'notice':
        notice(m.text, m.level);
        return;
      case 'tapStats':
        renderTaps(m);
        return;
      default:
        return;
    }
  });
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    if (look.zoom === 0) draw();
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      metrics.rebuild();
      memory.rebuild();
    }, 150);
  });
  renderDisplayControls();
  if (state) renderControls();
  send({ type: 'ready' });
}
