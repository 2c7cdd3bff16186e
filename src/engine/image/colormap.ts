// Colormaps for heatmaps, as 256-entry RGB lookup tables. jet follows OpenCV's COLORMAP_JET
// (what pytorch-grad-cam's show_cam_on_image uses); viridis and inferno interpolate 9 samples of
// matplotlib's tables; turbo is Ruofei Du's degree-5 polynomial fit of Google's Turbo, which
// keeps its look but drifts up to ~0.1 from the table at the very ends.
export type ColormapName = 'jet' | 'turbo' | 'viridis' | 'inferno';
export const COLORMAPS: readonly ColormapName[] = ['jet', 'turbo', 'viridis', 'inferno'];

type Rgb = [number, number, number];
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

function jet(t: number): Rgb {
  return [clamp01(1.5 - Math.abs(4 * t - 3)), clamp01(1.5 - Math.abs(4 * t - 2)), clamp01(1.5 - Math.abs(4 * t - 1))];
}

function turbo(t: number): Rgb {
  const t2 = t * t, t3 = t2 * t, t4 = t3 * t, t5 = t4 * t;
  return [
    0.13572138 + 4.6153926 * t - 42.66032258 * t2 + 132.13108234 * t3 - 152.94239396 * t4 + 59.28637943 * t5,
    0.09140261 + 2.19418839 * t + 4.84296658 * t2 - 14.18503333 * t3 + 4.27729857 * t4 + 2.82956604 * t5,
    0.1066733 + 12.64194608 * t - 60.58204836 * t2 + 110.36276771 * t3 - 89.90310912 * t4 + 27.34824973 * t5,
  ].map(clamp01) as Rgb;
}

/** Piecewise-linear through evenly spaced stops (hex colours). */
function stops(hex: string[]): (t: number) => Rgb {
  const colours = hex.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255));
  return (t) => {
    const x = clamp01(t) * (colours.length - 1);
    const i = Math.min(colours.length - 2, Math.floor(x));
    const f = x - i;
    return [0, 1, 2].map((c) => colours[i][c] * (1 - f) + colours[i + 1][c] * f) as Rgb;
  };
}

// matplotlib's viridis and inferno sampled at 9 evenly spaced points.
const viridis = stops(['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725']);
const inferno = stops(['#000004', '#1f0c48', '#550f6d', '#88226a', '#ba3655', '#e35933', '#f98e09', '#f9cb35', '#fcffa4']);

const FUNCTIONS: Record<ColormapName, (t: number) => Rgb> = {
  jet, turbo, viridis, inferno,
};

const tables = new Map<ColormapName, Uint8Array>();

/** 256 × RGB lookup table. */
export function colormapTable(name: ColormapName): Uint8Array {
  let table = tables.get(name);
  if (!table) {
    const f = FUNCTIONS[name];
    if (!f) throw new Error(`unknown colormap ${name}`);
    table = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const rgb = f(i / 255);
      for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(rgb[c] * 255);
    }
    tables.set(name, table);
  }
  return table;
}

/** Map values in [0,1] to interleaved RGB bytes. */
export function applyColormap(map: Float32Array, name: ColormapName): Uint8Array {
  const table = colormapTable(name);
  const out = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    const k = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
    out[i * 3] = table[k * 3];
    out[i * 3 + 1] = table[k * 3 + 1];
    out[i * 3 + 2] = table[k * 3 + 2];
  }
  return out;
}
