// The DFF concepts strip without the DOM: one concept's map out of the [K, h, w] maps, its
// overlay pixels (the panel's one blend, pixels.ts, with the panel's colormap and opacity), and
// the words that describe it. Pure, so node tests check what the strip shows.
import type { MapPlane } from '../../src/engine/image/blend';
import type { ConceptsView } from '../../src/panel/protocol';
import { overlayRgba, type Look } from './pixels';

/** Concept k's map: a view into the concept-major maps. */
export function conceptPlane(c: Pick<ConceptsView, 'maps' | 'count'>, k: number): MapPlane {
  const { width, height, data } = c.maps;
  if (!Number.isInteger(k) || k < 0 || k >= c.count) throw new Error(`concept ${k} of ${c.count}`);
  const hw = width * height;
  return { data: data.subarray(k * hw, (k + 1) * hw), width, height };
}

/** RGBA of concept k's map over the picture the model saw, as the overlay canvas draws a map. */
export const conceptRgba = (c: ConceptsView, k: number, look: Look): Uint8Array => overlayRgba(c.image, conceptPlane(c, k), look);

const percent = (p: number) => `${(p * 100).toFixed(1)}%`;

/** "goldfish 61.2%, tench 20.3%": concept k's best classes with their probabilities. */
export const conceptClasses = (c: Pick<ConceptsView, 'topClasses'>, k: number): string =>
  (c.topClasses[k] ?? []).map((t) => `${t.label} ${percent(t.prob)}`).join(', ');

/** What a concept's button says to a screen reader. */
export function conceptDescription(c: Pick<ConceptsView, 'topClasses' | 'chosen'>, k: number, classLabel: string): string {
  const best = k === c.chosen ? `; the concept that best explains ${classLabel} (the map shown above)` : '';
  return `Concept ${k + 1}: ${conceptClasses(c, k) || 'no classes'}${best}`;
}
