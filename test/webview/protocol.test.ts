// The host's gate on webview messages: intents with checked payloads pass, everything else
// (old message shapes included) is dropped; a revived panel's saved state is read field by field.
import { deepEqual, equal } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFromWebview, persistedExplainState, persistedViewSettings, type ViewSettings } from '../../src/panel/protocol';

describe('panel protocol', () => {
  it('passes intents with valid payloads and nothing else', () => {
    deepEqual(parseFromWebview({ type: 'ready', extra: 1 }), { type: 'ready' });
    deepEqual(parseFromWebview({ type: 'setMethod', method: 'eigencam' }), { type: 'setMethod', method: 'eigencam' });
    deepEqual(parseFromWebview({ type: 'setLayer', layer: '' }), { type: 'setLayer', layer: '' });
    deepEqual(parseFromWebview({ type: 'setImage', imageIndex: 2 }), { type: 'setImage', imageIndex: 2 });
    deepEqual(parseFromWebview({ type: 'setClass', classIndex: null }), { type: 'setClass', classIndex: null });
    deepEqual(parseFromWebview({ type: 'setOptions', multiScale: true }), { type: 'setOptions', augSmooth: undefined, multiScale: true });
    deepEqual(parseFromWebview({ type: 'saveOverlay', colormap: 'viridis', alpha: 0.3 }), { type: 'saveOverlay', colormap: 'viridis', alpha: 0.3 });
    const png = new Uint8Array(8);
    deepEqual(parseFromWebview({ type: 'savePng', png, name: 'r' }), { type: 'savePng', png, name: 'r' });
    for (const bad of [
      null,
      'ready',
      { type: 'nope' },
      { type: 'setMethod', method: 'rainbowcam' },
      { type: 'setLayer', layer: 3 },
      { type: 'setImage', imageIndex: -1 },
      { type: 'setImage', imageIndex: 1.5 },
      { type: 'setClass', classIndex: '3' },
      { type: 'setOptions', augSmooth: 'yes' },
      { type: 'saveOverlay', colormap: 'rainbow', alpha: 0.5 },
      { type: 'saveOverlay', colormap: 'jet', alpha: 1.2 },
      { type: 'savePng', png: [1, 2], name: 'r' },
      // the webview no longer sets what is explained, nor reports its look outside a save
      { type: 'explain', method: 'gradcam' },
      { type: 'ui', colormap: 'jet', alpha: 0.5, mode: 'overlay', zoom: 1 },
    ])
      equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
  });

  it('reads a saved panel state field by field', () => {
    equal(persistedExplainState(undefined), undefined);
    equal(persistedExplainState({ host: { modelPath: 'm.onnx', images: [1] } }), undefined);
    deepEqual(persistedExplainState({ host: { modelPath: 'm.onnx', images: ['a.png'], imageIndex: 4, method: 'gradcam++', layer: 'x', augSmooth: 'no' } }), {
      modelPath: 'm.onnx',
      images: ['a.png'],
      method: 'gradcam++',
      layer: 'x',
    });
    const defaults: ViewSettings = { colormap: 'jet', alpha: 0.5, mode: 'overlay', zoom: 0 };
    deepEqual(persistedViewSettings({ view: { colormap: 'inferno', alpha: 0.8, mode: 'heatmap', zoom: 2 } }, defaults), {
      colormap: 'inferno',
      alpha: 0.8,
      mode: 'heatmap',
      zoom: 2,
    });
    deepEqual(persistedViewSettings({ view: { colormap: 'rainbow', alpha: 7, mode: 'x', zoom: -1 } }, defaults), defaults);
    deepEqual(persistedViewSettings({}, defaults), defaults);
  });
});
