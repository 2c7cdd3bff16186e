// Browser code of the CamLens webviews: the CAM panel (data-view="cam") and the model summary
// editor (data-view="model"). Rendering is local (canvas): opacity, colormap, view mode and zoom
// never round-trip to the host. The root's data-state says where it is: loading | busy | done |
// error | cancelled (tests wait on it).
import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDivider, vsCodeDropdown, vsCodeOption, vsCodeProgressRing, vsCodeRadio, vsCodeRadioGroup,
} from '@vscode/webview-ui-toolkit';
import { lut } from './colormaps';
import { memorySection, metricsSection } from './sections';
import { videoSection } from './videoSection';
import { frameSlice } from './videoState';
import type { CamPanelState, Colormap, ExplainView, HostToWebview, ViewMode, WebviewToHost } from './messages';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDivider(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeRadio(), vsCodeRadioGroup());

interface VsCodeApi {
  postMessage(m: WebviewToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();
const send = (m: WebviewToHost) => vscode.postMessage(m);
const root = document.getElementById('root') as HTMLElement;

type Attrs = Record<string, string | number | boolean | undefined>;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...kids: Array<Node | string | null | undefined>): HTMLElementTagNameMap[K];
function h(tag: string, attrs?: Attrs, ...kids: Array<Node | string | null | undefined>): HTMLElement;
function h(tag: string, attrs: Attrs = {}, ...kids: Array<Node | string | null | undefined>): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids) if (k != null) el.append(k);
  return el;
}

function setState(state: string): void {
  root.dataset.state = state;
  root.setAttribute('aria-busy', String(state === 'busy' || state === 'loading'));
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(d).replace(/\.?0+$/, '') || '0') : String(x));
const asU8 = (x: unknown): Uint8Array => (x instanceof Uint8Array ? x : ArrayBuffer.isView(x) ? new Uint8Array(x.buffer) : new Uint8Array(Object.values(x as object) as number[]));
const asF32 = (x: unknown): Float32Array => (x instanceof Float32Array ? x : new Float32Array(Object.values(x as object) as number[]));

function dropdown(id: string, label: string, options: Array<{ value: string; label: string }>, value: string | undefined, onChange: (v: string) => void): HTMLElement {
  const dd = h('vscode-dropdown', { id, 'aria-label': label, position: 'below' });
  for (const o of options) dd.append(h('vscode-option', { value: o.value }, o.label));
  if (value !== undefined) queueMicrotask(() => ((dd as unknown as { value: string }).value = value));
  dd.addEventListener('change', () => onChange((dd as unknown as { value: string }).value));
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), dd);
}

// ---------------------------------------------------------------- the CAM panel
function camPanel(): void {
  const saved = vscode.getState() as { host?: CamPanelState } | undefined;
  let state: CamPanelState | undefined = saved?.host;
  let methods: readonly string[] = [];
  let layerChoices: Array<{ value: string; label: string }> = [];
  let imageNames: string[] = [];
  let view: ExplainView | undefined;
  let busyId = 0;
  /** The clip frame shown (0 for an image); the video section chooses it. */
  let frame = 0;

  const persist = () => { if (state) vscode.setState({ host: state }); };
  const ui = () => state && send({ type: 'ui', colormap: state.colormap, alpha: state.alpha, mode: state.mode, zoom: state.zoom });

  const header = h('header', { class: 'header' });
  const notices = h('div', { id: 'notices', role: 'status', 'aria-live': 'polite' });
  const controls = h('section', { class: 'controls', 'aria-label': 'Explanation settings' });
  const progress = h('div', { id: 'progress', class: 'progress', hidden: true, role: 'status', 'aria-live': 'polite' });
  const errorBox = h('div', { id: 'error', class: 'error', hidden: true, role: 'alert' });
  const display = h('section', { class: 'display', 'aria-label': 'Heatmap' });
  const canvases = h('div', { class: 'canvases' });
  const original = h('canvas', { id: 'original', class: 'img', tabindex: 0, 'aria-label': 'Input image' });
  const overlay = h('canvas', { id: 'overlay', class: 'img', tabindex: 0, 'aria-label': 'CAM overlay; arrow keys move the probe, the value under it is read out below' });
  const hover = h('div', { id: 'hover', class: 'muted', 'aria-live': 'polite' }, 'Hover the map (or focus it and use the arrow keys) to read CAM values.');
  const bars = h('section', { id: 'predictions', class: 'predictions', 'aria-label': 'Predictions: choose a class to explain it' });
  const tapsBox = h('section', { id: 'taps', class: 'taps', 'aria-label': 'Tap statistics' });
  const exportsBox = h('section', { class: 'exports', 'aria-label': 'Export' });
  const facts = h('div', { id: 'facts', class: 'muted' });
  const metrics = metricsSection(h, send, (id, label, onClick, appearance) => button(id, label, onClick, appearance));
  const memory = memorySection(h, send, (id, label, onClick, appearance) => button(id, label, onClick, appearance));
  const video = videoSection(h, (id, label, onClick, appearance) => button(id, label, onClick, appearance), (t) => {
    frame = t;
    root.dataset.frame = String(t);
    draw();
  }, () => send({ type: 'saveGif' }));
  root.replaceChildren(header, notices, controls, progress, errorBox, display, video.el, facts, h('h2', {}, 'Predictions'), bars, h('h2', {}, 'Tap statistics'), tapsBox, exportsBox,
    h('h2', {}, 'Metrics'), metrics.el, h('h2', {}, 'Memory'), memory.el);
  // charts take their colours from the theme: rebuild them when it (the body's class) changes
  new MutationObserver(() => { metrics.rebuild(); memory.rebuild(); }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  const explain = (m: Partial<Extract<WebviewToHost, { type: 'explain' }>> = {}) => send({ type: 'explain', ...m });

  function renderControls(): void {
    if (!state) return;
    const s = state;
    header.replaceChildren(
      h('h1', {}, `CamLens · ${s.modelPath.split(/[\\/]/).pop()}`),
      h('div', { class: 'muted' }, imageNames[s.imageIndex] ?? ''),
    );
    const layerOpts = [...layerChoices, { value: '__tree__', label: 'Choose in tree…' }];
    const current = s.layer ?? layerChoices[0]?.value ?? '';
    controls.replaceChildren(
      imageNames.length > 1 ? dropdown('image', 'Image', imageNames.map((n, i) => ({ value: String(i), label: n })), String(s.imageIndex), (v) => explain({ imageIndex: Number(v) })) : h('span'),
      dropdown('method', 'Method', methods.map((m) => ({ value: m, label: m })), s.method, (v) => { s.method = v as CamPanelState['method']; persist(); explain({ method: s.method }); }),
      dropdown('layer', 'Layer', layerOpts, current, (v) => {
        if (v === '__tree__') { send({ type: 'chooseLayerInTree' }); return; }
        s.layer = v; persist(); explain({ layer: v });
      }),
      checkbox('aug', 'Smoothing (flip × brightness)', s.augSmooth, (c) => { s.augSmooth = c; persist(); explain({ augSmooth: c }); }),
      checkbox('scales', 'Multi-scale (1, 0.75, 0.5)', s.multiScale, (c) => { s.multiScale = c; persist(); explain({ multiScale: c }); }),
      button('rerun', 'Explain again', () => explain()),
    );
    renderDisplayControls();
  }

  function checkbox(id: string, label: string, checked: boolean, onChange: (c: boolean) => void): HTMLElement {
    const cb = h('vscode-checkbox', { id, checked }, label);
    cb.addEventListener('change', () => onChange((cb as unknown as { checked: boolean }).checked));
    return cb;
  }
  function button(id: string, label: string, onClick: () => void, appearance = 'secondary'): HTMLElement {
    const b = h('vscode-button', { id, appearance }, label);
    b.addEventListener('click', onClick);
    return b;
  }

  const displayControls = h('div', { class: 'display-controls' });
  display.replaceChildren(displayControls, canvases, hover);

  function renderDisplayControls(): void {
    if (!state) return;
    const s = state;
    const modes = h('vscode-radio-group', { id: 'mode', 'aria-label': 'View' }, h('label', { slot: 'label' }, 'View'));
    for (const [v, l] of [['overlay', 'Overlay'], ['side-by-side', 'Side by side'], ['heatmap', 'Heatmap only']] as const) {
      modes.append(h('vscode-radio', { value: v, checked: s.mode === v }, l));
    }
    modes.addEventListener('change', () => { const v = (modes as unknown as { value: string }).value as ViewMode; if (v && v !== s.mode) { s.mode = v; persist(); ui(); draw(); } });
    const alpha = h('input', { id: 'alpha', type: 'range', min: 0, max: 1, step: 0.05, value: s.alpha, 'aria-label': 'Overlay opacity' });
    alpha.addEventListener('input', () => { s.alpha = Number(alpha.value); draw(); });
    alpha.addEventListener('change', () => { persist(); ui(); });
    const zoomOut = button('zoom-out', '−', () => setZoom(currentZoom() / 1.5));
    const zoomIn = button('zoom-in', '+', () => setZoom(currentZoom() * 1.5));
    const zoomFit = button('zoom-fit', 'Fit', () => setZoom(0));
    zoomOut.setAttribute('aria-label', 'Zoom out');
    zoomIn.setAttribute('aria-label', 'Zoom in');
    displayControls.replaceChildren(
      modes,
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Opacity'), alpha),
      dropdown('colormap', 'Colormap', (['jet', 'turbo', 'viridis', 'inferno'] as const).map((c) => ({ value: c, label: c })), s.colormap, (v) => { s.colormap = v as Colormap; persist(); ui(); draw(); }),
      h('span', { class: 'field' }, h('span', { class: 'field-label' }, 'Zoom'), h('span', { class: 'zoom' }, zoomOut, zoomFit, zoomIn)),
    );
  }

  function currentZoom(): number {
    if (!view || !state) return 1;
    if (state.zoom > 0) return state.zoom;
    const panes = state.mode === 'side-by-side' ? 2 : 1;
    const avail = Math.max(160, Math.min(document.body.clientWidth - 48, 1100) / panes - 16);
    return Math.max(0.25, Math.min(8, Math.min(avail, 420) / view.image.width));
  }
  function setZoom(z: number): void {
    if (!state) return;
    state.zoom = z === 0 ? 0 : Math.max(0.25, Math.min(16, z));
    persist(); ui(); draw();
  }

  function draw(): void {
    if (!view || !state) return;
    // A clip shows one frame at a time: that frame's picture and map.
    const { image, cam } = frameSlice(view, frame);
    const W = image.width, H = image.height;
    const table = lut(state.colormap);
    const a = state.alpha;
    const base = new ImageData(W, H);
    const over = new ImageData(W, H);
    const sx = cam.width / W, sy = cam.height / H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const v = cam.data[Math.min(cam.height - 1, Math.floor(y * sy)) * cam.width + Math.min(cam.width - 1, Math.floor(x * sx))];
        const k = Math.max(0, Math.min(255, Math.round((Number.isFinite(v) ? v : 0) * 255))) * 3;
        for (let c = 0; c < 3; c++) {
          const px = image.data[i * 3 + c];
          base.data[i * 4 + c] = px;
          over.data[i * 4 + c] = state.mode === 'heatmap' ? table[k + c] : Math.round((1 - a) * px + a * table[k + c]);
        }
        base.data[i * 4 + 3] = 255;
        over.data[i * 4 + 3] = 255;
      }
    }
    const z = currentZoom();
    for (const [cv, data] of [[original, base], [overlay, over]] as const) {
      cv.width = W; cv.height = H;
      cv.getContext('2d')!.putImageData(data, 0, 0);
      cv.style.width = `${Math.round(W * z)}px`;
      cv.style.height = `${Math.round(H * z)}px`;
    }
    canvases.replaceChildren(...(state.mode === 'side-by-side' ? [figure(original, 'Image'), figure(overlay, 'Overlay')] : [figure(overlay, state.mode === 'heatmap' ? 'Heatmap' : 'Overlay')]));
    root.dataset.mode = state.mode;
    root.dataset.colormap = state.colormap;
    video.repaint({ colormap: state.colormap, alpha: state.alpha, mode: state.mode });
  }
  const figure = (c: HTMLCanvasElement, caption: string) => h('figure', {}, c, h('figcaption', { class: 'muted' }, caption));

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
    bars.replaceChildren(...v.predictions.map((p) => {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.width = `${(p.prob / max) * 100}%`;
      const b = h('button', { class: 'bar', 'data-class': p.index, 'aria-pressed': String(p.index === v.classIndex), title: `Explain class ${p.index} (${p.label})` },
        h('span', { class: 'bar-label' }, `${p.label}`), h('span', { class: 'bar-track' }, fill), h('span', { class: 'bar-value' }, `${(p.prob * 100).toFixed(1)}%`));
      b.addEventListener('click', () => explain({ classIndex: p.index }));
      return b;
    }));
  }

  function renderExports(): void {
    exportsBox.replaceChildren(
      button('save-overlay', 'Save overlay PNG', () => send({ type: 'saveOverlay' })),
      button('save-npy', 'Save map .npy', () => send({ type: 'saveNpy' })),
      button('save-report', 'Save report PNG', () => void saveReport()),
    );
  }
  async function saveReport(): Promise<void> {
    if (!view) return;
    // the report image: the views side by side plus the prediction list
    const W = view.image.width, H = view.image.height, scale = Math.max(1, Math.round(256 / W));
    const c = document.createElement('canvas');
    c.width = W * scale * 2 + 30; c.height = H * scale + 24 + 18 * view.predictions.length + 10;
    const g = c.getContext('2d')!;
    g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
    g.imageSmoothingEnabled = true;
    g.drawImage(original, 10, 10, W * scale, H * scale);
    g.drawImage(overlay, 20 + W * scale, 10, W * scale, H * scale);
    g.fillStyle = '#000'; g.font = '13px sans-serif';
    view.predictions.forEach((p, i) => g.fillText(`${p.index === view!.classIndex ? '▶ ' : ''}${p.label}: ${(p.prob * 100).toFixed(1)}%`, 10, H * scale + 30 + 18 * i));
    const blob = await new Promise<Blob | null>((r) => c.toBlob(r, 'image/png'));
    if (blob) send({ type: 'savePng', png: new Uint8Array(await blob.arrayBuffer()), name: `${(imageNames[state?.imageIndex ?? 0] ?? 'report').split('/').pop()}-${view.method}-report` });
  }

  function renderTaps(list: Extract<HostToWebview, { type: 'tapStats' }>): void {
    tapsBox.replaceChildren(h('p', { class: 'muted' }, list.note), ...list.taps.map((t) => {
      const s = t.stats;
      if (!s) return h('div', { class: 'tap' }, h('code', {}, t.value), ' (no statistics)');
      const max = Math.max(...s.histogram.counts, 1);
      const hist = h('div', { class: 'hist', role: 'img', 'aria-label': `Histogram of ${t.value} from ${fmt(s.histogram.min)} to ${fmt(s.histogram.max)}` });
      for (const c of s.histogram.counts) { const b = h('span'); b.style.height = `${(c / max) * 100}%`; hist.append(b); }
      return h('div', { class: 'tap', 'data-tap': t.value },
        h('div', {}, h('code', {}, t.value), h('span', { class: 'muted' }, `  ${s.dtype} [${s.shape.join('×')}]`)),
        h('div', { class: 'stats' }, `min ${fmt(s.min)} · max ${fmt(s.max)} · mean ${fmt(s.mean)} · std ${fmt(s.std)} · zeros ${(s.zeroFraction * 100).toFixed(1)}% · NaN ${s.nanCount} · Inf ${s.infCount}`),
        hist);
    }));
    root.dataset.taps = String(list.taps.length);
  }

  function showProgress(text: string | undefined, cancellable: boolean): void {
    if (!text) { progress.hidden = true; progress.replaceChildren(); return; }
    progress.hidden = false;
    progress.replaceChildren(h('vscode-progress-ring'), h('span', { id: 'progress-text' }, text), cancellable ? button('cancel', 'Cancel', () => send({ type: 'cancel' })) : h('span'));
  }

  function notice(text: string, level: string): void {
    const n = h('div', { class: `notice ${level}` }, text);
    notices.append(n);
    root.dataset.notice = text;
    setTimeout(() => n.remove(), 20_000);
  }

  window.addEventListener('message', (ev: MessageEvent<HostToWebview>) => {
    const m = ev.data;
    if (metrics.onMessage(m) || memory.onMessage(m)) return;
    switch (m.type) {
      case 'init':
        state = m.state; methods = m.methods; layerChoices = m.layerChoices; imageNames = m.imageNames;
        persist(); renderControls(); renderExports();
        if (!m.trusted) { errorBox.hidden = false; errorBox.textContent = 'This workspace is not trusted, so CamLens does not run models here.'; }
        if (!view) setState('loading');
        return;
      case 'layerChoices':
        layerChoices = m.layerChoices;
        if (state && m.layer !== undefined) state.layer = m.layer;
        renderControls();
        return;
      case 'busy':
        busyId = m.requestId;
        video.pause();
        errorBox.hidden = true;
        setState('busy');
        showProgress(`Explaining: ${m.what}…`, true);
        return;
      case 'progress':
        if (m.requestId === busyId) showProgress(`${m.message ?? 'Working'}: ${m.done}/${m.total}`, true);
        return;
      case 'result': {
        const v = m.view;
        view = {
          ...v, image: { ...v.image, data: asU8(v.image.data) }, cam: { ...v.cam, data: asF32(v.cam.data) },
          video: v.video ? { ...v.video, frames: asU8(v.video.frames) } : undefined,
        };
        if (state && state.method !== v.method) { state.method = v.method; renderControls(); }
        persist();
        showProgress(undefined, false);
        errorBox.hidden = true;
        // A clip keeps the frame being looked at (same clip, another method or class).
        if (view.video) video.setView(view, frame);
        else { video.setView(undefined, 0); frame = 0; delete root.dataset.frame; draw(); }
        renderPredictions();
        let sum = 0;
        for (const x of view.cam.data) sum += x;
        facts.textContent = `${v.method} on ${v.layers.join(', ')} · class ${v.classIndex} (${v.label}) · map ${v.camRaw.width}×${v.camRaw.height} → ${v.cam.width}×${v.cam.height}${v.video ? ` × ${v.video.count} frames` : ''} · ${v.ep} · ${Math.round(v.timings.total ?? 0)} ms`;
        root.dataset.method = v.method;
        root.dataset.classIndex = String(v.classIndex);
        root.dataset.camSum = sum.toFixed(4);
        setState('done');
        return;
      }
      case 'error':
        if (m.requestId !== busyId && busyId !== 0 && m.requestId < busyId) return;
        showProgress(undefined, false);
        errorBox.hidden = false;
        errorBox.replaceChildren(h('strong', {}, 'CamLens could not explain this: '), m.message, m.code ? h('span', { class: 'muted' }, ` (${m.code})`) : '');
        setState('error');
        return;
      case 'cancelled':
        showProgress(undefined, false);
        notice('Cancelled.', 'info');
        setState(view ? 'done' : 'cancelled');
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
    if (state?.zoom === 0) draw();
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { metrics.rebuild(); memory.rebuild(); }, 150);
  });
  if (state) renderControls();
  send({ type: 'ready' });
}

// ---------------------------------------------------------------- the model summary editor
function modelView(): void {
  root.replaceChildren(h('p', { class: 'muted' }, 'Reading the model…'));
  window.addEventListener('message', (ev: MessageEvent<HostToWebview>) => {
    const m = ev.data;
    if (m.type === 'summaryError') {
      root.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'CamLens cannot read this model: '), m.message));
      setState('error');
      return;
    }
    if (m.type !== 'summary') return;
    const s = m.summary;
    const shape = (x: Array<number | string | null> | null) => (x ? `[${x.map((d) => (d === null ? '?' : d)).join(', ')}]` : '?');
    const row = (k: string, v: Node | string) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v));
    const io = (list: typeof s.inputs) => h('ul', {}, ...list.map((i) => h('li', {}, h('code', {}, i.name), ` ${i.dtype} ${shape(i.shape)}`)));
    const explainBtn = h('vscode-button', { id: 'explain', appearance: 'primary' }, 'Explain…');
    explainBtn.addEventListener('click', () => send({ type: 'explainModel' }));
    const treeBtn = h('vscode-button', { id: 'open-tree', appearance: 'secondary' }, 'Open Layer Tree');
    treeBtn.addEventListener('click', () => send({ type: 'openTree' }));
    root.replaceChildren(
      h('h1', {}, s.path.split(/[\\/]/).pop() ?? s.path),
      h('div', { class: 'actions' }, explainBtn, treeBtn),
      h('table', { class: 'summary' },
        row('Path', s.path),
        row('File size', `${(s.fileBytes / 1024 / 1024).toFixed(2)} MB`),
        row('Producer', s.producer || '—'),
        row('IR version', String(s.irVersion)),
        row('Opsets', Object.entries(s.opsets).map(([d, v]) => `${d} ${v}`).join(', ')),
        row('Inputs', io(s.inputs)),
        row('Outputs', io(s.outputs)),
        row('Nodes', String(s.nodeCount)),
        row('Values', String(m.layerCount)),
        row('Parameters', s.parameterCount.toLocaleString('en-US')),
        row('Suggested CAM layer', m.suggestion ? h('code', {}, m.suggestion) : '—'),
        row('Op types', m.ops.map(([op, n]) => `${op} ×${n}`).join(', ')),
      ),
      h('p', { class: 'muted' }, 'CamLens opens .onnx files read-only. Use "Reopen Editor With…" to see the bytes.'),
    );
    setState('done');
  });
  send({ type: 'ready' });
}

if (document.body.dataset.view === 'model') modelView();
else camPanel();
