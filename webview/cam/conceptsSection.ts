// DFF's concepts in the CAM panel: every concept's map side by side over the picture the model
// saw, each with its best classes, the one that best explains the class marked (the map shown
// above). Each is a button (keyboard: Tab to it, Enter/Space shows it large below the strip);
// which concept is shown large is how the result is shown, so it stays here (no intent). Maps are
// drawn with the panel's colormap and opacity through the one blend (conceptsState.ts, pixels.ts).
import type { ConceptsView, ExplainView } from '../../src/panel/protocol';
import { asF32, asU8, h, paint } from '../dom';
import { conceptClasses, conceptDescription, conceptRgba } from './conceptsState';
import type { Look } from './pixels';
import { thumbnailSize } from './videoState';

/** The longer side of a concept's thumbnail and of the large view, in CSS pixels. */
const THUMB = 128;
const LARGE = 360;

export function conceptsSection(look: () => Look) {
  const heading = h('h2', { hidden: true }, 'Concepts');
  const el = h('section', { id: 'concepts', class: 'concepts', 'aria-label': 'DFF concepts: choose one to show it large', hidden: true });
  const strip = h('div', { class: 'concept-strip', role: 'group', 'aria-label': 'Concepts of the layer' });
  const large = h('figure', { id: 'concept-large', class: 'concept-large' });
  const note = h('p', { class: 'muted' });
  el.append(note, strip, large);
  let concepts: ConceptsView | undefined;
  let classLabel = '';
  /** The concept shown large: the chosen one until the user picks another (a new result resets it). */
  let shown = 0;

  const canvasOf = (k: number, side: number, label: string) => {
    const c = concepts!;
    const canvas = h('canvas', { class: 'img concept-img', role: 'img', 'aria-label': label });
    const size = thumbnailSize(c.image.width, c.image.height, side);
    canvas.style.width = `${size.width}px`;
    canvas.style.height = `${size.height}px`;
    paint(canvas, conceptRgba(c, k, look()), c.image.width, c.image.height);
    return canvas;
  };

  function show(k: number): void {
    shown = k;
    el.dataset.shown = String(k);
    repaint();
  }

  /** Draws the strip and the large view with the current look (a colormap or opacity change redraws). */
  function repaint(): void {
    const c = concepts;
    if (!c) return;
    strip.replaceChildren(
      ...Array.from({ length: c.count }, (_, k) => {
        const best = k === c.chosen;
        const b = h(
          'button',
          {
            class: `concept${best ? ' chosen' : ''}`,
            'data-concept': k,
            'aria-pressed': String(k === shown),
            'aria-label': `${conceptDescription(c, k, classLabel)}. Show it large.`,
          },
          canvasOf(k, THUMB, `Concept ${k + 1}'s map`),
          h('span', { class: 'concept-title' }, `Concept ${k + 1}`, best ? h('span', { class: 'concept-best' }, ` ★ best for ${classLabel}`) : ''),
          h('span', { class: 'concept-classes' }, conceptClasses(c, k)),
        );
        b.addEventListener('click', () => {
          if (k !== shown) show(k);
        });
        return b;
      }),
    );
    large.replaceChildren(
      canvasOf(shown, LARGE, conceptDescription(c, shown, classLabel)),
      h('figcaption', {}, `Concept ${shown + 1}${shown === c.chosen ? ` (★ best for ${classLabel})` : ''}: ${conceptClasses(c, shown)}`),
    );
  }

  /** The concepts of `v` (hidden for any other method). */
  function render(v: ExplainView | undefined): void {
    const c = v?.concepts;
    el.hidden = heading.hidden = !c;
    if (!v || !c) {
      concepts = undefined;
      delete el.dataset.shown;
      strip.replaceChildren();
      large.replaceChildren();
      return;
    }
    concepts = { ...c, image: { ...c.image, data: asU8(c.image.data) }, maps: { ...c.maps, data: asF32(c.maps.data) } };
    classLabel = v.label;
    note.textContent = `${c.count} concepts of ${c.layer} (non-negative matrix factorisation of its activations), each with the classes the model's head gives it; the map above is concept ${c.chosen + 1}, the one that gives ${v.label} the highest probability.`;
    show(c.chosen);
  }

  return { heading, el, render, repaint };
}
