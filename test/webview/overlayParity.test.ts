// What the panel shows is what the CLI writes: for every colormap and several opacities, the
// pixels the CAM webview paints on its overlay canvas (from the `result` message the host posts)
// equal the overlay PNG the engine encodes for the CLI, byte for byte; and "Save overlay PNG"
// (composed by the host with the look the webview reports) writes the CLI's very file.
import { deepEqual, equal } from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { COLORMAPS } from '../../src/engine/image/colormap';
import { explain, explainAnswer } from '../../src/engine/explain';
import { SessionCache } from '../../src/engine/runtime/sessions';
import { explainView, overlayPngAsShown } from '../../src/host/panel/explainView';
import { withShownMap } from '../../src/panel/protocol';
import { overlayRgba, shownAlpha, type Look } from '../../webview/cam/pixels';
import { frameSlice } from '../../webview/cam/videoState';

const demo = resolve(__dirname, '../../../demo/model.onnx');
const input = resolve(__dirname, '../../../demo/images/star_1.png');
const OPACITIES = [0, 0.3, 0.5, 0.85, 1];

describe('panel overlay parity with the CLI', () => {
  const sessions = new SessionCache();
  after(() => sessions.releaseAll());

  it('the overlay canvas equals the CLI overlay PNG for every colormap and opacity', async () => {
    let compared = 0;
    const panel = await explainAnswer({ modelPath: demo, input, overlay: false, mapsAt: 'layer' }, { sessions });
    equal(panel.explanations[0].cam, undefined, 'the map travels at the layer size');
    for (const colormap of COLORMAPS) {
      for (const alpha of OPACITIES) {
        // The CLI's `explain --colormap … --alpha …` writes this explanation's overlayPng.
        const r = await explain({ modelPath: demo, input, colormap, alpha }, { sessions });
        const cli = await sharp(Buffer.from(r.explanations[0].overlayPng!)).raw().toBuffer({ resolveWithObject: true });
        equal(cli.info.channels, 3);
        // The panel: its request (the map at the layer's size, no overlay), the host's result
        // message, the map drawn from the layer's map and painted by the webview's pixel code.
        const view = withShownMap(explainView(panel, 1)!);
        const { image, cam } = frameSlice(view, 0);
        const look: Look = { colormap, alpha, mode: 'overlay' };
        const rgba = overlayRgba(image, cam, look);
        equal(rgba.length, cli.info.width * cli.info.height * 4);
        let differing = 0;
        for (let i = 0, j = 0; j < cli.data.length; i += 4, j += 3) {
          if (rgba[i] !== cli.data[j] || rgba[i + 1] !== cli.data[j + 1] || rgba[i + 2] !== cli.data[j + 2] || rgba[i + 3] !== 255) differing++;
        }
        equal(differing, 0, `${colormap} at opacity ${alpha}: ${differing} pixels differ`);
        // "Save overlay PNG" with the look the webview reports: the CLI's bytes.
        deepEqual(Buffer.from(overlayPngAsShown(r, { colormap, alpha: shownAlpha(look) })), Buffer.from(r.explanations[0].overlayPng!));
        compared++;
      }
    }
    equal(compared, COLORMAPS.length * OPACITIES.length);
  });

  it('the heatmap view is the CLI overlay at opacity 1 (the colormap alone)', async () => {
    const r = await explain({ modelPath: demo, input, colormap: 'inferno', alpha: 1 }, { sessions });
    const cli = await sharp(Buffer.from(r.explanations[0].overlayPng!)).raw().toBuffer();
    const { image, cam } = frameSlice(withShownMap(explainView(r, 1)!), 0);
    const rgba = overlayRgba(image, cam, { colormap: 'inferno', alpha: 0.2, mode: 'heatmap' });
    deepEqual(Buffer.from(rgba.filter((_, i) => i % 4 !== 3)), cli);
  });
});
