// DFF's concept files, as `camlens explain` and `camlens batch` both write them: S.concepts.npy
// (every concept's map) and S.json's `concepts` (the layer, that file, each concept's best classes).
import type { ConceptExplanation } from '../explainTypes';
import { encodeNpy } from '../npy';

/** The file name of a stem's concept maps. */
export const conceptsFile = (stem: string): string => `${stem}.concepts.npy`;

/** S.concepts.npy: float32 [K, H, W], each concept's map at the model's input size. */
export const conceptsNpy = (c: ConceptExplanation): Buffer => encodeNpy(c.maps.data, [c.count, c.maps.height, c.maps.width]);

/** S.json's `concepts` (probabilities to 4 decimals); `stem`: the file stem S.concepts.npy is named after. */
export function conceptsJson(c: Pick<ConceptExplanation, 'layer' | 'topClasses'>, stem: string) {
  return {
    layer: c.layer,
    file: conceptsFile(stem),
    top_classes: c.topClasses.map((top) => top.map((k) => ({ ...k, prob: Math.round(k.prob * 1e4) / 1e4 }))),
  };
}
