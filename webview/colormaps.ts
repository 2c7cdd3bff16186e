// Colormaps as 256-entry RGB tables (the panel recolours the map locally when the user picks one).
import type { Colormap } from './messages';

const clamp = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
const hex = (h: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as [number, number, number];
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'].map(hex);
const INFERNO = ['#000004', '#1b0c41', '#4a0c6b', '#781c6d', '#a52c60', '#cf4446', '#ed6925', '#fb9b06', '#f7d13d', '#fcffa4'].map(hex);

function stops(table: Array<[number, number, number]>, t: number): [number, number, number] {
  const x = clamp(t) * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => table[i][c] * (1 - f) + table[i + 1][c] * f) as [number, number, number];
}

function rgb(name: Colormap, t: number): [number, number, number] {
  switch (name) {
    case 'jet':
      return [clamp(1.5 - Math.abs(4 * t - 3)), clamp(1.5 - Math.abs(4 * t - 2)), clamp(1.5 - Math.abs(4 * t - 1))];
    case 'turbo': // polynomial fit of Google's Turbo
      return [
        clamp(0.13572138 + t * (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))))),
        clamp(0.09140261 + t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))))),
        clamp(0.1066733 + t * (12.64194608 + t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))))),
      ];
    case 'viridis':
      return stops(VIRIDIS, t);
    case 'inferno':
      return stops(INFERNO, t);
  }
}

const cache = new Map<Colormap, Uint8Array>();
export function lut(name: Colormap): Uint8Array {
  let t = cache.get(name);
  if (!t) {
    t = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const [r, g, b] = rgb(name, i / 255);
      t[i * 3] = Math.round(r * 255);
      t[i * 3 + 1] = Math.round(g * 255);
      t[i * 3 + 2] = Math.round(b * 255);
    }
    cache.set(name, t);
  }
  return t;
}
