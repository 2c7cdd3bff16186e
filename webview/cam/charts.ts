// What the panel's uPlot charts share: colours from the VS Code theme variables (the sections
// rebuild their charts when the theme changes), axes, width, keyboard access, number formats.
// uPlot is bundled into dist/webview.js; its stylesheet is linked from dist/uplot.css.
import type uPlot from 'uplot';

export const MiB = 2 ** 20;
export const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
export const num = (x: number | undefined, d = 3) =>
  x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(d);

export function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}
export function theme() {
  return {
    fg: themeColor('--vscode-foreground', '#ccc'),
    muted: themeColor('--vscode-descriptionForeground', '#999'),
    grid: themeColor('--vscode-editorWidget-border', themeColor('--vscode-panel-border', 'rgba(128,128,128,.35)')),
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    green: themeColor('--vscode-charts-green', '#89d185'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    red: themeColor('--vscode-charts-red', '#f14c4c'),
    purple: themeColor('--vscode-charts-purple', '#b180d7'),
    font: `${themeColor('--vscode-font-size', '12px')} ${themeColor('--vscode-font-family', 'sans-serif')}`,
  };
}
export function axes(t: ReturnType<typeof theme>, yLabel: string, yValues?: uPlot.Axis['values']): uPlot.Axis[] {
  const common = { stroke: t.muted, font: t.font, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
  return [{ ...common }, { ...common, label: yLabel, labelFont: t.font, size: 64, values: yValues }];
}
export const chartWidth = (el: HTMLElement) => Math.max(280, Math.min(960, (el.parentElement?.clientWidth || document.body.clientWidth || 640) - 8));

/** Keyboard access to a chart: arrow keys move the cursor sample by sample (the legend reads it out). */
export function keyboardCursor(el: HTMLElement, chart: () => uPlot | undefined): void {
  let idx = -1;
  el.addEventListener('keydown', (e) => {
    const u = chart();
    const xs = u?.data[0];
    if (!u || !xs?.length) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === 'ArrowLeft') idx = Math.max(0, (idx < 0 ? xs.length : idx) - step);
    else if (e.key === 'ArrowRight') idx = Math.min(xs.length - 1, idx < 0 ? xs.length - 1 : idx + step);
    else if (e.key === 'Home') idx = 0;
    else if (e.key === 'End') idx = xs.length - 1;
    else return;
    e.preventDefault();
    const y = u.data[1]?.[idx];
    u.setCursor({ left: u.valToPos(xs[idx], 'x'), top: y == null ? 0 : u.valToPos(y, u.series[1]?.scale ?? 'y') });
  });
}
