// The CAM panel's frame controls for video models: a frame slider (a native range input:
// arrows, PageUp/PageDown, Home/End) labelled "Frame t / T · weight w", play/pause, and a strip
// of per-frame thumbnails (buttons, one tab stop with the same keys as the slider) that shows
// each frame's temporal weight as a bar and a number and highlights the selected frame. The
// large view is app.ts's canvas, drawn for the frame this section selects. Thumbnails are
// composed here from the clip's frames and maps, like the large view, so colormap and opacity
// changes stay local. #video carries data-frame / data-frames for the tests.
import type { DrawnView } from '../../src/panel/protocol';
import { button } from '../components/toolkit';
import { h, paint } from '../dom';
import { overlayRgba, type Look } from './pixels';
import { clampFrame, frameCount, frameForKey, frameLabel, frameSlice, nextFrame, percent, thumbnailSize, weightBars } from './videoState';

export interface VideoSection {
  el: HTMLElement;
  /** A new result: rebuilds the controls for a clip, hides them for an image. */
  setView(view: DrawnView | undefined, frame: number): void;
  /** Repaints the thumbnails when the colormap, opacity or view mode changed. */
  repaint(look: Look): void;
  /** Stops playback (the panel is hidden, a new request started). */
  pause(): void;
}

const THUMB_SIDE = 72;
const PLAY_MS = 125; // the animated GIF's frame delay (engine/video/render.ts)

export function videoSection(onFrame: (t: number) => void, saveGif: () => void): VideoSection {
  const el = h('section', { id: 'video', class: 'video', 'aria-label': 'Frames', hidden: true });
  let view: DrawnView | undefined;
  let frame = 0;
  let look: Look | undefined;
  let paintedKey = '';
  let timer: ReturnType<typeof setInterval> | undefined;
  let slider: HTMLInputElement | undefined;
  let label: HTMLElement | undefined;
  let playButton: HTMLElement | undefined;
  let thumbs: HTMLElement[] = [];

  const count = () => (view ? frameCount(view) : 1);
  const weight = (t: number) => view?.video?.temporalWeights[t];

  /** Moves every control to frame t and tells the panel (which redraws the large view). */
  function select(t: number, options: { focusThumb?: boolean } = {}): void {
    const k = clampFrame(t, count());
    frame = k;
    if (slider) {
      slider.value = String(k);
      slider.setAttribute('aria-valuetext', frameLabel(k, count(), weight(k)));
    }
    if (label) label.textContent = frameLabel(k, count(), weight(k));
    thumbs.forEach((b, i) => {
      b.setAttribute('aria-pressed', String(i === k));
      b.tabIndex = i === k ? 0 : -1; // one tab stop: the selected frame
    });
    if (options.focusThumb) thumbs[k]?.focus();
    el.dataset.frame = String(k);
    onFrame(k);
  }

  function pause(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (playButton) {
      playButton.textContent = 'Play';
      playButton.setAttribute('aria-pressed', 'false');
    }
    el.dataset.playing = 'false';
  }
  function play(): void {
    if (timer !== undefined || count() < 2) return;
    timer = setInterval(() => select(nextFrame(frame, count())), PLAY_MS);
    if (playButton) {
      playButton.textContent = 'Pause';
      playButton.setAttribute('aria-pressed', 'true');
    }
    el.dataset.playing = 'true';
  }

  function build(): void {
    const v = view?.video;
    if (!view || !v) return;
    const T = v.count;
    slider = h('input', {
      id: 'frame',
      type: 'range',
      min: 0,
      max: T - 1,
      step: 1,
      value: frame,
      'aria-label': 'Frame',
    }) as HTMLInputElement;
    slider.addEventListener('input', () => {
      pause();
      select(Number(slider!.value));
    });
    label = h('span', { id: 'frame-label', class: 'frame-label', 'aria-hidden': 'true' });
    playButton = button('play', 'Play', () => (timer === undefined ? play() : pause()));
    playButton.setAttribute('aria-pressed', 'false');
    playButton.setAttribute('aria-label', 'Play the frames');
    const bars = weightBars(v.temporalWeights);
    const size = thumbnailSize(view.image.width, view.image.height, THUMB_SIDE);
    thumbs = Array.from({ length: T }, (_, t) => {
      const canvas = h('canvas', { class: 'thumb-img', width: size.width, height: size.height, 'aria-hidden': 'true' });
      const fill = h('span', { class: 'thumb-bar-fill' });
      fill.style.height = `${Math.round(bars[t] * 100)}%`;
      const b = h(
        'button',
        {
          class: 'thumb',
          'data-frame': t,
          'aria-pressed': 'false',
          tabindex: -1,
          'aria-label': `${frameLabel(t, T, v.temporalWeights[t])}`,
          title: `${frameLabel(t, T, v.temporalWeights[t])}`,
        },
        canvas,
        h(
          'span',
          { class: 'thumb-meta' },
          h('span', { class: 'thumb-bar', 'aria-hidden': 'true' }, fill),
          h('span', { class: 'thumb-weight', 'aria-hidden': 'true' }, percent(v.temporalWeights[t])),
        ),
      );
      b.addEventListener('click', () => {
        pause();
        select(t);
      });
      b.addEventListener('keydown', (e) => {
        const k = frameForKey(e.key, frame, T);
        if (k === undefined) return;
        e.preventDefault();
        pause();
        select(k, { focusThumb: true });
      });
      return b;
    });
    const strip = h(
      'div',
      { id: 'frame-strip', class: 'frame-strip', role: 'group', 'aria-label': 'Frames with their temporal weights; arrow keys choose a frame' },
      ...thumbs,
    );
    el.replaceChildren(
      h(
        'div',
        { class: 'frame-controls' },
        h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Frame'), slider),
        label,
        playButton,
        button('save-gif', 'Save animated GIF', saveGif),
      ),
      strip,
    );
    el.dataset.frames = String(T);
    paintedKey = '';
    if (look) repaint(look);
    select(frame);
  }

  function repaint(next: Look): void {
    look = next;
    if (!view?.video) return;
    const key = `${next.colormap}|${next.alpha}|${next.mode}`;
    if (key === paintedKey) return;
    paintedKey = key;
    thumbs.forEach((b, t) => {
      const canvas = b.querySelector('canvas')!;
      const { image, cam } = frameSlice(view!, t);
      // The thumbnails always show the overlay (or the heatmap), never the bare frame.
      paint(canvas, overlayRgba(image, cam, next, canvas.width, canvas.height), canvas.width, canvas.height);
    });
  }

  return {
    el,
    setView(next, t) {
      pause();
      view = next;
      frame = next ? clampFrame(t, frameCount(next)) : 0;
      thumbs = [];
      slider = undefined;
      label = undefined;
      if (!next?.video) {
        el.hidden = true;
        el.replaceChildren();
        delete el.dataset.frames;
        delete el.dataset.frame;
        return;
      }
      el.hidden = false;
      build();
    },
    repaint,
    pause,
  };
}
