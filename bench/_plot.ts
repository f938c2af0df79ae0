/**
 * Draws the `scale.*` curves of a bench run as one self-contained SVG (no dependency, no
 * script, no external font): one panel per curve, one line per series, the median of the runs
 * at each point with a whisker from the min to the max. A point's figure id is
 * `scale.<curve>.<series>.<x>` (see `scale.ts`); the x axis is logarithmic, the y axis linear
 * from zero.
 *
 * @module
 */

/** One measured point, as in the table or the `--json` file. */
export interface PlotFigure {
  readonly id: string;
  readonly unit: string;
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

/** What each curve's panel is titled, in the order the panels are drawn. */
const CURVES: Readonly<Record<string, string>> = {
  tell: "tell throughput vs actors",
  ask: "ask p50 vs actors",
  spawn: "spawn n actors at once, to the last first reply",
  rss: "resident memory per actor",
  pool: "pool throughput vs pool size",
};

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const PANEL_W = 440;
const PANEL_H = 270;
const MARGIN = { left: 64, right: 16, top: 34, bottom: 40 };
const COLUMNS = 2;

/** One point of a series: the value drawn, with a whisker from `min` to `max`. */
export interface PlotPoint {
  x: number;
  value: number;
  min: number;
  max: number;
}

/** One panel of a picture: its series share the axes. */
export interface PlotPanel {
  /** The title, followed by the unit in brackets. */
  title: string;
  unit: string;
  /** What the x axis counts. */
  xLabel: string;
  /** `"log"` (base 2, the scale curves) or `"linear"` (time). Default `"log"`. */
  xScale?: "log" | "linear";
  series: Map<string, PlotPoint[]>;
}

interface Curve extends PlotPanel {
  name: string;
}

const ID = /^scale\.([a-z0-9]+)\.([a-z0-9]+)\.(\d+)$/;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A short label: 1234567 -> "1.2M", 12345 -> "12k", 0.5 -> "0.5". */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  const trim = (n: number, suffix: string) => `${Number(n.toPrecision(2))}${suffix}`;
  if (abs >= 1e6) return trim(value / 1e6, "M");
  if (abs >= 1e3) return trim(value / 1e3, "k");
  if (abs === 0) return "0";
  return `${Number(value.toPrecision(2))}`;
}

/** Tick values from 0 to at least `max`, at a 1, 2 or 5 times a power of ten step. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Tick values 1, 2 and 5 times powers of ten from below `min` to above `max`. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min));; e++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (t * 5 <= min && ticks.length === 0) continue;
      if (ticks.length === 0 || ticks[ticks.length - 1] < max) ticks.push(t);
    }
    if (ticks[ticks.length - 1] >= max) break;
  }
  return ticks;
}

function curvesOf(figures: readonly PlotFigure[]): Curve[] {
  const curves = new Map<string, Curve>();
  for (const figure of figures) {
    const match = ID.exec(figure.id);
    if (match === null) continue;
    const [, name, series, x] = match;
    let curve = curves.get(name);
    if (curve === undefined) {
      curve = {
        name,
        title: CURVES[name] ?? name,
        unit: figure.unit,
        xLabel: name === "pool" ? "pool size (workers)" : "actors",
        series: new Map(),
      };
      curves.set(name, curve);
    }
    let points = curve.series.get(series);
    if (points === undefined) curve.series.set(series, points = []);
    points.push({ x: Number(x), value: figure.value, min: figure.min, max: figure.max });
  }
  for (const curve of curves.values()) {
    for (const points of curve.series.values()) points.sort((a, b) => a.x - b.x);
  }
  const order = Object.keys(CURVES);
  const rank = (name: string) => order.includes(name) ? order.indexOf(name) : order.length;
  return [...curves.values()].sort((a, b) => rank(a.name) - rank(b.name));
}

function panel(curve: PlotPanel, left: number, top: number): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = left + MARGIN.left;
  const y0 = top + MARGIN.top;
  const all = [...curve.series.values()].flat();
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const linear = curve.xScale === "linear";
  const scale = linear ? (x: number) => x : Math.log2;
  const lo = linear ? Math.min(0, xs[0]) : scale(xs[0]);
  const hi = linear ? Math.max(niceTicks(xs[xs.length - 1]).at(-1)!, lo) : scale(xs[xs.length - 1]);
  const span = hi > lo ? hi - lo : 1;
  const px = (x: number) => x0 + (hi > lo ? (scale(x) - lo) / span * w : w / 2);
  // A linear axis gets round ticks; a log one a tick at each measured point.
  const xTicks = linear ? niceTicks(hi).filter((t) => t <= hi) : xs;
  const highest = Math.max(...all.map((p) => p.max));
  const lowest = Math.min(...all.map((p) => p.min));
  // Values that span more than 20x get a logarithmic y axis, so the small ones stay readable.
  const log = lowest > 0 && highest / lowest > 20;
  const ticks = log ? logTicks(lowest, highest) : niceTicks(highest);
  const bottom = log ? ticks[0] : 0;
  const top_ = ticks[ticks.length - 1];
  const py = log
    ? (y: number) => y0 + h - Math.log10(y / bottom) / Math.log10(top_ / bottom) * h
    : (y: number) => y0 + h - y / top_ * h;
  const out: string[] = [];
  const title = curve.title;
  out.push(
    `<text x="${left + PANEL_W / 2}" y="${top + 20}" text-anchor="middle" class="title">` +
      `${escape(title)} (${escape(curve.unit)}${log ? ", log scale" : ""})</text>`,
  );
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" class="frame"/>`);
  for (const t of ticks) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" class="grid"/>`);
    out.push(
      `<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">` +
        `${shortNumber(t)}</text>`,
    );
  }
  for (const x of xTicks) {
    const X = px(x).toFixed(1);
    out.push(`<line x1="${X}" y1="${y0 + h}" x2="${X}" y2="${y0 + h + 4}" class="axis"/>`);
    out.push(`<text x="${X}" y="${y0 + h + 16}" text-anchor="middle">${shortNumber(x)}</text>`);
  }
  out.push(
    `<text x="${x0 + w / 2}" y="${y0 + h + 32}" text-anchor="middle" class="label">` +
      `${escape(curve.xLabel)}</text>`,
  );
  let index = 0;
  for (const [series, points] of curve.series) {
    const color = COLORS[index % COLORS.length];
    const path = points.map((p) => `${px(p.x).toFixed(1)},${py(p.value).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of points) {
      const X = px(p.x).toFixed(1);
      out.push(
        `<line x1="${X}" y1="${py(p.min).toFixed(1)}" x2="${X}" y2="${py(p.max).toFixed(1)}" ` +
          `stroke="${color}" stroke-width="1"/>`,
      );
      out.push(
        `<circle cx="${X}" cy="${py(p.value).toFixed(1)}" r="3" fill="${color}">` +
          `<title>${escape(`${series} ${p.x}: ${shortNumber(p.value)} ${curve.unit}`)}` +
          ` (min ${shortNumber(p.min)}, max ${shortNumber(p.max)})</title></circle>`,
      );
    }
    const ly = y0 + 8 + index * 16;
    out.push(
      `<line x1="${x0 + w - 92}" y1="${ly}" x2="${x0 + w - 72}" y2="${ly}" stroke="${color}" ` +
        `stroke-width="2"/>`,
    );
    out.push(
      `<text x="${x0 + w - 66}" y="${ly}" dominant-baseline="middle">${escape(series)}</text>`,
    );
    index++;
  }
  return out.join("\n");
}

/**
 * Returns the SVG document of every `scale.*` figure in `figures`, or `undefined` when there is
 * none. `caption` goes under the panels (the conditions of the run).
 */
export function plotSvg(figures: readonly PlotFigure[], caption: string): string | undefined {
  const curves = curvesOf(figures);
  if (curves.length === 0) return undefined;
  return panelsSvg(curves, caption);
}

/**
 * Returns the SVG document of `panels`, two to a row, with `caption` under them: the drawing
 * that {@linkcode plotSvg} uses, for pictures other than the scale curves (the soak's).
 */
export function panelsSvg(curves: readonly PlotPanel[], caption: string): string {
  const rows = Math.ceil(curves.length / COLUMNS);
  const width = PANEL_W * COLUMNS;
  const height = PANEL_H * rows + 28;
  const body = curves.map((curve, i) =>
    panel(curve, (i % COLUMNS) * PANEL_W, Math.floor(i / COLUMNS) * PANEL_H)
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<style>.title{font-size:13px;font-weight:bold}.label{fill:#444}` +
    `.frame{fill:none;stroke:#888}.grid{stroke:#ddd}.axis{stroke:#888}</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    `<text x="8" y="${height - 10}" class="label">${escape(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
