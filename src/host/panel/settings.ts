// The panel's starting points from the user's settings, checked (settings.json takes anything).
import * as vscode from 'vscode';
import { COLORMAPS } from '../../engine/image/colormap';
import type { ExplainState, ViewSettings } from '../../panel/protocol';
import { CAM_METHODS, type CamMethodName } from '../../worker/protocol';

/** camlens.colormap and camlens.overlayAlpha: the webview's ViewSettings until the user changes them there. */
export function configuredLook(): Pick<ViewSettings, 'colormap' | 'alpha'> {
  const c = vscode.workspace.getConfiguration('camlens');
  const colormap = c.get<string>('colormap', 'jet');
  const alpha = c.get<number>('overlayAlpha', 0.5);
  return {
    colormap: COLORMAPS.find((m) => m === colormap) ?? 'jet',
    alpha: Number.isFinite(alpha) ? Math.min(1, Math.max(0, alpha)) : 0.5,
  };
}

/** A new panel's state: the first image, camlens.defaultMethod, the suggested layer, every method option at its default. */
export function defaultExplainState(modelPath: string, images: string[]): ExplainState {
  const method = vscode.workspace.getConfiguration('camlens').get<string>('defaultMethod', 'gradcam');
  return {
    modelPath,
    images,
    imageIndex: 0,
    method: (CAM_METHODS as readonly string[]).includes(method) ? (method as CamMethodName) : 'gradcam',
    augSmooth: false,
    multiScale: false,
    options: {},
  };
}
