// Maps that are their layer's map upsampled (Explanation.mapAtLayer) travel at the layer's size
// in the panel's answers (ExplainParams.mapsAt = 'layer', engine/explain.ts: explainAnswer). This
// module rebuilds them where they are used (the webview draws them, the host saves them) with the
// code explain runs for its own maps, so the values are the same to the bit.
// Pure (no Node, no VS Code): the webview imports it.
import type { AnswerExplanation, ExplainAnswer, ExplainResult, Explanation, MapData } from '../explainTypes';
import { mapToOriginal, type ImageGeometry } from '../image/geometry';
import { finalCam } from './postprocess';

/** The final map of one layer's relu'd map `raw` at `size`: relu → min-max → cv2 resize → min-max (finalCam). */
export function layerMapAt(raw: MapData, size: { height: number; width: number }): MapData {
  const map = finalCam({ data: raw.data, shape: [1, raw.height, raw.width] }, [size.height, size.width]);
  return { data: map.data, height: size.height, width: size.width };
}

/** An input-sized map on the original picture (explain's camImage). */
export function onOriginal(map: MapData, geometry: ImageGeometry): MapData {
  return { data: mapToOriginal(geometry, map.data), height: geometry.original.height, width: geometry.original.width };
}

/** The map drawn from a layer's map: at `size`, then on the original picture when `geometry` is given. */
export function mapFromLayer(raw: MapData, size: { height: number; width: number }, geometry?: ImageGeometry): MapData {
  const cam = layerMapAt(raw, size);
  return geometry ? onOriginal(cam, geometry) : cam;
}

/** The maps an answer left at the layer's size, rebuilt: an ExplainResult as explain returned it. */
export function withFullMaps(r: ExplainAnswer): ExplainResult {
  return { ...r, explanations: r.explanations.map((e) => fullExplanation(e, r.original?.geometry)) };
}

function fullExplanation(e: AnswerExplanation, geometry: ImageGeometry | undefined): Explanation {
  if (e.cam) return e as Explanation;
  if (!e.mapAtLayer) throw new Error(`the explanation of class ${e.classIndex} has no map (neither cam nor mapAtLayer)`);
  const cam = layerMapAt(e.camRaw, e.mapAtLayer);
  return { ...e, cam, ...(geometry && !e.camImage ? { camImage: onOriginal(cam, geometry) } : {}) };
}
