// What the panel's webview gets of a comparison and of a layer sweep, and the PNG each exports:
// composed by the engine's sheet (the one blend, a bitmap-font caption) with the colormap and
// opacity the panel shows. No 'vscode' import, so node tests check them.
import type { ColormapName } from '../../engine/image/colormap';
import { encodeRgbPng } from '../../engine/image/png';
import { composeSheet, type SheetTile } from '../../engine/image/sheet';
import { shortLayerName } from '../../engine/shapeText';
import type { CompareCell, CompareView, SweepView } from '../../panel/protocol';
import type { CompareResult, LayerSweepResult } from '../../worker/protocol';

type Look = { colormap: ColormapName; alpha: number };

const copyImage = (i: { data: Uint8Array; width: number; height: number }) => ({ data: new Uint8Array(i.data), width: i.width, height: i.height });

export function compareView(r: CompareResult, requestId: number, input: string, ms: number): CompareView | undefined {
  if (!r.image) return undefined;
  const cells: CompareCell[] = r.methods.map((m) => ({
    method: m.method,
    ms: m.explainMs,
    ...(m.evaluation ? { deletionAuc: m.evaluation.metrics.deletion_auc, insertionAuc: m.evaluation.metrics.insertion_auc } : {}),
    ...(m.cam ? { cam: { data: new Float32Array(m.cam.data), width: m.cam.width, height: m.cam.height } } : {}),
    layers: m.layers,
    warnings: m.warnings.map((w) => w.message),
    ...(m.error ? { error: m.error.message } : {}),
  }));
  const scored = r.methods.find((m) => m.evaluation && 'random_deletion_auc' in m.evaluation.metrics)?.evaluation?.metrics;
  return {
    requestId,
    input,
    classIndex: r.classIndex,
    label: r.label,
    image: copyImage(r.image),
    cells,
    ...(scored ? { baseline: { deletionAuc: scored.random_deletion_auc, insertionAuc: scored.random_insertion_auc } } : {}),
    ep: r.ep,
    ms,
  };
}

export function sweepView(r: LayerSweepResult, requestId: number, input: string, ms: number): SweepView {
  return {
    requestId,
    input,
    method: r.method,
    classIndex: r.classIndex,
    label: r.label,
    image: copyImage(r.image),
    steps: r.steps.map((s) => ({
      layer: s.layer,
      cam: { data: new Float32Array(s.cam.data), width: s.cam.width, height: s.cam.height },
      rawWidth: s.rawWidth,
      rawHeight: s.rawHeight,
      warnings: s.warnings.map((w) => w.message),
    })),
    found: r.found,
    ep: r.ep,
    ms,
  };
}

const auc = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));

/** The compare grid as one PNG: a tile per method that succeeded, failures named in the title. */
export function comparePng(v: CompareView, look: Look): Uint8Array {
  const ok = v.cells.filter((c) => c.cam);
  if (!ok.length) throw new Error('compare: no method gave a map');
  const failed = v.cells.filter((c) => !c.cam).map((c) => c.method);
  const tiles: SheetTile[] = ok.map((c) => ({
    map: c.cam!,
    caption: [c.method, `${Math.round(c.ms)} ms`, `del ${auc(c.deletionAuc)} ins ${auc(c.insertionAuc)}`],
  }));
  const title = [
    `${v.input}: class ${v.classIndex} (${v.label})`,
    'deletion AUC: lower is better; insertion AUC: higher',
    ...(v.baseline ? [`random map: del ${auc(v.baseline.deletionAuc)} ins ${auc(v.baseline.insertionAuc)}`] : []),
    ...(failed.length ? [`failed: ${failed.join(', ')}`] : []),
  ];
  const s = composeSheet(v.image, tiles, { columns: Math.min(3, tiles.length), colormap: look.colormap, alpha: look.alpha, title });
  return encodeRgbPng(s.rgb, s.width, s.height);
}

/** The layer sweep as one PNG strip, input side on the left. */
export function sweepPng(v: SweepView, look: Look): Uint8Array {
  if (!v.steps.length) throw new Error('layer sweep: no layer maps');
  const tiles: SheetTile[] = v.steps.map((s) => ({ map: s.cam, caption: [shortLayerName(s.layer), `${s.rawHeight}x${s.rawWidth}`] }));
  const title = [`${v.input}: ${v.method} for class ${v.classIndex} (${v.label}) at ${v.steps.length} block outputs, input to head`];
  const s = composeSheet(v.image, tiles, { tileSize: 112, colormap: look.colormap, alpha: look.alpha, title });
  return encodeRgbPng(s.rgb, s.width, s.height);
}
