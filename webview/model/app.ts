// The model summary custom editor's webview: what the host reads of a .onnx file, with
// "Explain…" and "Open Layer Tree" buttons.
import type { HostToWebview } from '../../src/panel/protocol';
import { send } from '../api';
import { button, registerComponents } from '../components/toolkit';
import { h, root as rootElement, setRootState } from '../dom';

export function modelApp(): void {
  registerComponents();
  const root = rootElement();
  root.replaceChildren(h('p', { class: 'muted' }, 'Reading the model…'));
  window.addEventListener('message', (ev: MessageEvent<HostToWebview>) => {
    const m = ev.data;
    if (m.type === 'summaryError') {
      root.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'CamLens cannot read this model: '), m.message));
      setRootState('error');
      return;
    }
    if (m.type !== 'summary') return;
    const s = m.summary;
    const shape = (x: Array<number | string | null> | null) => (x ? `[${x.map((d) => (d === null ? '?' : d)).join(', ')}]` : '?');
    const row = (k: string, v: Node | string) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v));
    const io = (list: typeof s.inputs) => h('ul', {}, ...list.map((i) => h('li', {}, h('code', {}, i.name), ` ${i.dtype} ${shape(i.shape)}`)));
    root.replaceChildren(
      h('h1', {}, s.path.split(/[\\/]/).pop() ?? s.path),
      h(
        'div',
        { class: 'actions' },
        button('explain', 'Explain…', () => send({ type: 'explainModel' }), 'primary'),
        button('open-tree', 'Open Layer Tree', () => send({ type: 'openTree' })),
      ),
      h(
        'table',
        { class: 'summary' },
        row('Path', s.path),
        row('File size', `${(s.fileBytes / 1024 / 1024).toFixed(2)} MB`),
        row('Producer', s.producer || '—'),
        row('IR version', String(s.irVersion)),
        row(
          'Opsets',
          Object.entries(s.opsets)
            .map(([d, v]) => `${d} ${v}`)
            .join(', '),
        ),
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
    setRootState('done');
  });
  send({ type: 'ready' });
}
