// DOM helpers both webview apps use: element building, the root's data-state (tests wait on
// it), number formatting, typed arrays out of structured clones, and painting RGBA to a canvas.
export type Attrs = Record<string, string | number | boolean | undefined>;
export type Child = Node | string | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...kids: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...kids: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...kids: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids) if (k != null) el.append(k);
  return el;
}

export const root = (): HTMLElement => document.getElementById('root') as HTMLElement;

/** loading | busy | done | error | cancelled */
export function setRootState(state: string): void {
  const r = root();
  r.dataset.state = state;
  r.setAttribute('aria-busy', String(state === 'busy' || state === 'loading'));
}

export const fmt = (x: number, d = 4): string =>
  Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(d).replace(/\.?0+$/, '') || '0') : String(x);

export const asU8 = (x: unknown): Uint8Array =>
  x instanceof Uint8Array ? x : ArrayBuffer.isView(x) ? new Uint8Array(x.buffer) : new Uint8Array(Object.values(x as object) as number[]);
export const asF32 = (x: unknown): Float32Array => (x instanceof Float32Array ? x : new Float32Array(Object.values(x as object) as number[]));

/** Draws `rgba` (width × height × 4) into the canvas at its own resolution. */
export function paint(canvas: HTMLCanvasElement, rgba: Uint8Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  canvas
    .getContext('2d')!
    .putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.byteLength), width, height), 0, 0);
}
