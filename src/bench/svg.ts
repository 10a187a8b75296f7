/**
 * Hand-written SVG charts for the HTML reports: grouped bars, a histogram, stacked bars,
 * horizontal bars and a labelled scatter plot.
 * Strings in, one `<svg>` string out, no dependencies and no external references, so the
 * report is a single file that opens anywhere (and can be attached to an issue).
 */
import { niceStep, type Histogram } from './stats.js';

/** Escape text for HTML/SVG content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Axis ticks from 0 to at least `max`, on a 1/2/2.5/5 × 10ⁿ step (whole numbers when `integer`), about `count` of them. */
export function niceTicks(max: number, count = 5, integer = false): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const step = integer ? Math.max(1, Math.round(niceStep(top / count))) : niceStep(top / count);
  const ticks: number[] = [];
  for (let v = 0; v < top + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.length < 2) ticks.push(step);
  return ticks;
}

/** Short number for labels: 1234 → "1234", 12.34 → "12.3", 0.1234 → "0.123". */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** Axis tick label: ticks sit on 1/2/2.5/5 steps, so the shortest exact form reads best (25, 2.5, 0.05). */
const tick = (v: number): string => String(Number(v.toPrecision(10)));

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';
const f = (v: number): string => (Math.round(v * 10) / 10).toString();

export interface Series {
  name: string;
  color: string;
  values: number[];
}

/** Vertical grouped bar chart: one group per category, one bar per series, values printed on top. */
export function groupedBarChart(o: { title: string; categories: string[]; series: Series[]; yLabel: string; height?: number }): string {
  // Wide enough for the bars and for the longest line of the category labels (~6.5 px a character).
  const longest = Math.max(0, ...o.categories.flatMap((c) => c.split('\n').map((l) => l.length)));
  const groupW = Math.max(120, 40 * o.series.length + 40, longest * 6.5 + 16);
  const m = { top: 48, right: 16, bottom: 64, left: 64 };
  const width = Math.max(760, m.left + m.right + groupW * o.categories.length);
  const height = o.height ?? 340;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  // 8% headroom so the value printed on the tallest bar stays inside the plot.
  const ticks = niceTicks(1.08 * Math.max(0, ...o.series.flatMap((s) => s.values.filter(Number.isFinite))));
  const yMax = ticks[ticks.length - 1];
  const y = (v: number): number => m.top + plotH - (v / yMax) * plotH;
  const slot = plotW / Math.max(1, o.categories.length);
  const barW = Math.min(40, (slot - 20) / o.series.length);
  const parts: string[] = [];
  parts.push(`<text x="${m.left}" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`);
  // Legend, top right.
  let lx = width - m.right;
  for (const s of [...o.series].reverse()) {
    const w = 22 + s.name.length * 7;
    lx -= w;
    parts.push(`<rect x="${f(lx)}" y="28" width="12" height="12" fill="${s.color}"/><text x="${f(lx + 16)}" y="38.5" font-size="12">${esc(s.name)}</text>`);
  }
  for (const t of ticks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f(y(t) + 4)}" font-size="11" text-anchor="end" fill="#555">${tick(t)}</text>`);
  }
  parts.push(`<text transform="translate(16 ${f(m.top + plotH / 2)}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">${esc(o.yLabel)}</text>`);
  o.categories.forEach((cat, i) => {
    const x0 = m.left + i * slot + (slot - barW * o.series.length) / 2;
    o.series.forEach((s, j) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const x = x0 + j * barW;
      parts.push(`<rect x="${f(x + 1)}" y="${f(y(v))}" width="${f(barW - 2)}" height="${f(m.top + plotH - y(v))}" fill="${s.color}"><title>${esc(`${cat} — ${s.name}: ${fmt(v)}`)}</title></rect>`);
      parts.push(`<text x="${f(x + barW / 2)}" y="${f(y(v) - 4)}" font-size="10.5" text-anchor="middle" fill="#222">${fmt(v)}</text>`);
    });
    const lines = cat.split('\n');
    lines.forEach((line, k) => parts.push(`<text x="${f(m.left + i * slot + slot / 2)}" y="${f(m.top + plotH + 18 + k * 14)}" font-size="11.5" text-anchor="middle" fill="#333">${esc(line)}</text>`));
  });
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#888"/>`);
  return svg(width, height, parts);
}

export interface Marker {
  label: string;
  value: number;
  color: string;
}

/** Histogram bars (counts per bin) with labelled vertical markers (p50, p99, …). */
export function histogramChart(o: { title: string; hist: Histogram; markers: Marker[]; xLabel: string; width?: number; height?: number; color?: string }): string {
  const width = o.width ?? 340;
  const height = o.height ?? 210;
  const m = { top: 30, right: 14, bottom: 38, left: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const { startMs, binMs, counts } = o.hist;
  const parts = [`<text x="${m.left - 30}" y="17" font-size="13" font-weight="600">${esc(o.title)}</text>`];
  if (counts.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" font-size="12" text-anchor="middle" fill="#777">no samples</text>`);
    return svg(width, height, parts);
  }
  const x0 = startMs;
  const x1 = startMs + binMs * counts.length;
  const x = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * plotW;
  const yTicks = niceTicks(Math.max(...counts), 3, true);
  const yMax = yTicks[yTicks.length - 1];
  const y = (c: number): number => m.top + plotH - (c / yMax) * plotH;
  for (const t of yTicks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 5}" y="${f(y(t) + 4)}" font-size="10" text-anchor="end" fill="#666">${t}</text>`);
  }
  counts.forEach((c, i) => {
    if (c === 0) return;
    const a = x(startMs + i * binMs);
    const b = x(startMs + (i + 1) * binMs);
    parts.push(`<rect x="${f(a + 0.5)}" y="${f(y(c))}" width="${f(Math.max(1, b - a - 1))}" height="${f(m.top + plotH - y(c))}" fill="${o.color ?? '#f28e2b'}"><title>${esc(`${fmt(startMs + i * binMs)}–${fmt(startMs + (i + 1) * binMs)} ms: ${c}`)}</title></rect>`);
  });
  // x ticks on multiples of a nice step (50, 100, 150), not on offsets from the first bin.
  const xStep = niceStep((x1 - x0) / 5);
  const xTicks: number[] = [];
  for (let v = Math.ceil(x0 / xStep - 1e-9) * xStep; v <= x1 + 1e-9; v += xStep) xTicks.push(Number(v.toPrecision(10)));
  for (const t of xTicks) {
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#888"/>`);
    parts.push(`<text x="${f(x(t))}" y="${m.top + plotH + 15}" font-size="10" text-anchor="middle" fill="#555">${tick(t)}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#888"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 4}" font-size="10.5" text-anchor="middle" fill="#444">${esc(o.xLabel)}</text>`);
  // Markers: labels alternate rows so close ones (p90, p99) do not overprint.
  o.markers.forEach((mk, i) => {
    if (!Number.isFinite(mk.value)) return;
    const mx = Math.min(Math.max(x(mk.value), m.left), width - m.right);
    parts.push(`<line x1="${f(mx)}" x2="${f(mx)}" y1="${m.top - 2}" y2="${m.top + plotH}" stroke="${mk.color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    const anchor = mx > width - m.right - 60 ? 'end' : 'start';
    parts.push(`<text x="${f(mx + (anchor === 'end' ? -3 : 3))}" y="${m.top + 8 + (i % 3) * 11}" font-size="10" fill="${mk.color}" text-anchor="${anchor}">${esc(`${mk.label} ${fmt(mk.value)}`)}</text>`);
  });
  return svg(width, height, parts);
}

/** Horizontal stacked bars: one row per label, segments in `names` order, total at the end. */
export function stackedBarChart(o: { title: string; rows: { label: string; values: number[] }[]; names: string[]; colors: string[]; unit: string }): string {
  const labelW = Math.max(90, ...o.rows.map((r) => r.label.length * 7 + 12));
  const m = { top: 56, right: 70, bottom: 34, left: labelW };
  const rowH = 30;
  const width = 1000;
  const height = m.top + m.bottom + rowH * o.rows.length;
  const plotW = width - m.left - m.right;
  const ticks = niceTicks(Math.max(0, ...o.rows.map((r) => r.values.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0))));
  const xMax = ticks[ticks.length - 1];
  const x = (v: number): number => m.left + (v / xMax) * plotW;
  const parts = [`<text x="10" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`];
  let lx = 10;
  o.names.forEach((n, i) => {
    parts.push(`<rect x="${lx}" y="30" width="12" height="12" fill="${o.colors[i]}"/><text x="${lx + 16}" y="40.5" font-size="12">${esc(n)}</text>`);
    lx += 30 + n.length * 7;
  });
  for (const t of ticks) {
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.top - 4}" y2="${height - m.bottom}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${f(x(t))}" y="${height - m.bottom + 15}" font-size="10.5" text-anchor="middle" fill="#555">${tick(t)}</text>`);
  }
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 4}" font-size="11" text-anchor="middle" fill="#444">${esc(o.unit)}</text>`);
  o.rows.forEach((row, r) => {
    const top = m.top + r * rowH + 5;
    parts.push(`<text x="${m.left - 8}" y="${top + 14}" font-size="11.5" text-anchor="end" fill="#222">${esc(row.label)}</text>`);
    let acc = 0;
    row.values.forEach((v, i) => {
      if (!(v > 0)) return;
      parts.push(`<rect x="${f(x(acc))}" y="${top}" width="${f(x(acc + v) - x(acc))}" height="${rowH - 10}" fill="${o.colors[i]}"><title>${esc(`${row.label} — ${o.names[i]}: ${fmt(v)} ${o.unit}`)}</title></rect>`);
      acc += v;
    });
    parts.push(`<text x="${f(x(acc) + 5)}" y="${top + 14}" font-size="11" fill="#222">${fmt(acc)}</text>`);
  });
  return svg(width, height, parts);
}

/** Axis ticks covering [min, max] on a 1/2/2.5/5 × 10ⁿ step, about `count` of them (for axes that do not start at 0). */
export function rangeTicks(min: number, max: number, count = 5): number[] {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo + 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / count);
  const start = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v < hi + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.length < 2) ticks.push(Number((start + step).toPrecision(12)));
  return ticks;
}

export interface ScatterPoint {
  /** Printed next to the point. */
  label: string;
  x: number;
  y: number;
  color: string;
  shape?: 'circle' | 'diamond' | 'square';
  /** Drawn larger, ringed, with a bold label (and labelled first, so it gets the best spot). */
  emphasis?: boolean;
  /** Tooltip; defaults to the label and both values. */
  title?: string;
}

export interface RefLine {
  value: number;
  label: string;
  color: string;
  dashed?: boolean;
}

export interface LegendEntry {
  name: string;
  color: string;
  shape?: 'circle' | 'diamond' | 'square' | 'line' | 'bar';
}

function mark(shape: ScatterPoint['shape'] | LegendEntry['shape'], cx: number, cy: number, r: number, color: string, extra = ''): string {
  switch (shape) {
    case 'diamond': {
      const d = r * 1.35;
      return `<path d="M${f(cx)} ${f(cy - d)}L${f(cx + d)} ${f(cy)}L${f(cx)} ${f(cy + d)}L${f(cx - d)} ${f(cy)}Z" fill="${color}"${extra}/>`;
    }
    case 'square':
    case 'bar':
      return `<rect x="${f(cx - r)}" y="${f(cy - r)}" width="${f(2 * r)}" height="${f(2 * r)}" fill="${color}"${extra}/>`;
    case 'line':
      return `<line x1="${f(cx - 2 * r)}" x2="${f(cx + 2 * r)}" y1="${f(cy)}" y2="${f(cy)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 3"${extra}/>`;
    default:
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="${color}"${extra}/>`;
  }
}

/** A legend on one row, text baseline at `y`, starting at `x`. */
function legendRow(entries: readonly LegendEntry[], x: number, y: number): string {
  let lx = x;
  const parts: string[] = [];
  for (const e of entries) {
    parts.push(mark(e.shape, lx + 6, y - 4, e.shape === 'line' ? 4 : 5, e.color), `<text x="${f(lx + 17)}" y="${f(y)}" font-size="12">${esc(e.name)}</text>`);
    lx += 30 + e.name.length * 6.6;
  }
  return parts.join('');
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
const overlap = (a: Box, b: Box): number => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

/**
 * Scatter plot with a label at every point, placed where it overprints the fewest other labels
 * and points; optional horizontal / vertical reference lines (budgets, baselines) and a legend.
 * The x axis starts at 0 unless `xFromZero` is false; the y axis spans the data (and the lines).
 * Each point is one `<g class="point">`.
 */
export function scatterChart(o: {
  title: string;
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  hLines?: RefLine[];
  vLines?: RefLine[];
  legend?: LegendEntry[];
  xFromZero?: boolean;
  yFromZero?: boolean;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}): string {
  const width = o.width ?? 900;
  const height = o.height ?? 460;
  const m = { top: 58, right: 24, bottom: 50, left: 72 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xFmt = o.xFormat ?? tick;
  const yFmt = o.yFormat ?? tick;
  const points = o.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const hLines = (o.hLines ?? []).filter((l) => Number.isFinite(l.value));
  const vLines = (o.vLines ?? []).filter((l) => Number.isFinite(l.value));
  const parts = [`<text x="10" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`];
  if (o.legend?.length) parts.push(legendRow(o.legend, 10, 42));
  if (points.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" font-size="12" text-anchor="middle" fill="#777">no measured points</text>`);
    return svg(width, height, parts);
  }
  const xs = [...points.map((p) => p.x), ...vLines.map((l) => l.value)];
  const ys = [...points.map((p) => p.y), ...hLines.map((l) => l.value)];
  // 6% headroom on the right so the rightmost label has room; y padded by 8% of its span.
  const xPad = 0.08 * (Math.max(...xs) - Math.min(...xs) || Math.abs(xs[0]) || 1);
  const xTicks = o.xFromZero === false ? rangeTicks(Math.min(...xs) - xPad, Math.max(...xs) + xPad) : niceTicks(Math.max(...xs) * 1.06);
  const ySpan = Math.max(...ys) - Math.min(...ys);
  const yPad = ySpan > 0 ? ySpan * 0.08 : Math.abs(ys[0]) * 0.02 || 1;
  const yTicks = o.yFromZero ? niceTicks(Math.max(...ys) + yPad) : rangeTicks(Math.min(...ys) - yPad, Math.max(...ys) + yPad);
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const x = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v: number): number => m.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  for (const t of yTicks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f(y(t) + 4)}" font-size="11" text-anchor="end" fill="#555">${esc(yFmt(t))}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${f(x(t))}" y="${m.top + plotH + 16}" font-size="11" text-anchor="middle" fill="#555">${esc(xFmt(t))}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${f(plotW)}" height="${f(plotH)}" fill="none" stroke="#bbb"/>`);
  parts.push(`<text x="${f(m.left + plotW / 2)}" y="${height - 10}" font-size="12" text-anchor="middle" fill="#333">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${f(m.top + plotH / 2)}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">${esc(o.yLabel)}</text>`);
  // Reference lines, labelled inside the plot at their right (horizontal) or top (vertical) end.
  const taken: Box[] = [];
  for (const l of hLines) {
    const ly = y(l.value);
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(ly)}" y2="${f(ly)}" stroke="${l.color}" stroke-width="1.5"${l.dashed === false ? '' : ' stroke-dasharray="6 4"'}><title>${esc(l.label)}</title></line>`);
    parts.push(`<text x="${width - m.right - 4}" y="${f(ly - 5)}" font-size="11" text-anchor="end" fill="${l.color}">${esc(l.label)}</text>`);
    taken.push({ x0: width - m.right - 4 - l.label.length * 6.2, y0: ly - 16, x1: width - m.right, y1: ly - 3 });
  }
  for (const l of vLines) {
    const lx = x(l.value);
    parts.push(`<line x1="${f(lx)}" x2="${f(lx)}" y1="${m.top}" y2="${m.top + plotH}" stroke="${l.color}" stroke-width="1"${l.dashed === false ? '' : ' stroke-dasharray="3 3"'}><title>${esc(l.label)}</title></line>`);
    parts.push(`<text x="${f(lx + 4)}" y="${m.top + 12}" font-size="10.5" fill="${l.color}">${esc(l.label)}</text>`);
    taken.push({ x0: lx + 4, y0: m.top + 2, x1: lx + 4 + l.label.length * 5.9, y1: m.top + 14 });
  }
  // Label placement: every point's own area is taken first, then labels go in (emphasised
  // first) at the candidate offset that overlaps least; ties keep the earlier (right) spot.
  const px = points.map((p) => ({ p, cx: x(p.x), cy: y(p.y), r: p.emphasis ? 7 : 5 }));
  for (const q of px) taken.push({ x0: q.cx - q.r - 1, y0: q.cy - q.r - 1, x1: q.cx + q.r + 1, y1: q.cy + q.r + 1 });
  const bounds: Box = { x0: m.left + 2, y0: m.top + 2, x1: width - m.right - 2, y1: m.top + plotH - 2 };
  const labels = new Map<(typeof px)[number], string>();
  const order = [...px].sort((a, b) => Number(!!b.p.emphasis) - Number(!!a.p.emphasis));
  for (const q of order) {
    const size = q.p.emphasis ? 12 : 11;
    const w = q.p.label.length * size * 0.6;
    const h = size;
    const d = q.r + (q.p.emphasis ? 8 : 4);
    const spots: { tx: number; ty: number; anchor: 'start' | 'end' | 'middle' }[] = [
      { tx: q.cx + d, ty: q.cy + 4, anchor: 'start' },
      { tx: q.cx - d, ty: q.cy + 4, anchor: 'end' },
      { tx: q.cx, ty: q.cy - d - 2, anchor: 'middle' },
      { tx: q.cx, ty: q.cy + d + h, anchor: 'middle' },
      { tx: q.cx + d - 2, ty: q.cy - d, anchor: 'start' },
      { tx: q.cx + d - 2, ty: q.cy + d + h - 2, anchor: 'start' },
      { tx: q.cx - d + 2, ty: q.cy - d, anchor: 'end' },
      { tx: q.cx - d + 2, ty: q.cy + d + h - 2, anchor: 'end' },
      { tx: q.cx + d, ty: q.cy - h - 6, anchor: 'start' },
      { tx: q.cx + d, ty: q.cy + h + 14, anchor: 'start' },
    ];
    let best = spots[0];
    let bestCost = Infinity;
    let bestBox: Box = { x0: 0, y0: 0, x1: 0, y1: 0 };
    for (const s of spots) {
      const bx0 = s.anchor === 'start' ? s.tx : s.anchor === 'end' ? s.tx - w : s.tx - w / 2;
      const box: Box = { x0: bx0, y0: s.ty - h + 2, x1: bx0 + w, y1: s.ty + 2 };
      const outside = box.x0 < bounds.x0 || box.x1 > bounds.x1 || box.y0 < bounds.y0 || box.y1 > bounds.y1 ? 1e6 : 0;
      // Every spot clears the point's own mark, so its box in `taken` costs nothing.
      const cost = outside + taken.reduce((sum, t) => sum + overlap(box, t), 0);
      if (cost < bestCost) [best, bestCost, bestBox] = [s, cost, box];
      if (cost === 0) break;
    }
    taken.push(bestBox);
    labels.set(q, `<text x="${f(best.tx)}" y="${f(best.ty)}" font-size="${size}" text-anchor="${best.anchor}" fill="#222"${q.p.emphasis ? ' font-weight="700"' : ''}>${esc(q.p.label)}</text>`);
  }
  for (const q of px) {
    const tip = q.p.title ?? `${q.p.label}: ${xFmt(q.p.x)}, ${yFmt(q.p.y)}`;
    const ring = q.p.emphasis ? `<circle cx="${f(q.cx)}" cy="${f(q.cy)}" r="${f(q.r + 4)}" fill="none" stroke="${q.p.color}" stroke-width="2"/>` : '';
    parts.push(`<g class="point"><title>${esc(tip)}</title>${ring}${mark(q.p.shape, q.cx, q.cy, q.r, q.p.color, ' stroke="#fff" stroke-width="1"')}${labels.get(q)}</g>`);
  }
  return svg(width, height, parts);
}

/**
 * Horizontal bars, one row per label (in the given order), value printed at the bar's end.
 * Negative values grow left from a zero line. Long labels keep their end ("…/conv/Conv").
 */
export function horizontalBarChart(o: {
  title: string;
  rows: { label: string; value: number; color: string; title?: string }[];
  xLabel: string;
  legend?: LegendEntry[];
  width?: number;
  maxLabelChars?: number;
  format?: (v: number) => string;
}): string {
  const width = o.width ?? 900;
  const maxChars = o.maxLabelChars ?? 44;
  const short = (s: string): string => (s.length > maxChars ? `…${s.slice(s.length - maxChars + 1)}` : s);
  const format = o.format ?? fmt;
  const labelW = Math.max(90, ...o.rows.map((r) => short(r.label).length * 6.4 + 14));
  const m = { top: o.legend?.length ? 56 : 36, right: 56, bottom: 40, left: labelW };
  const rowH = 20;
  const height = m.top + m.bottom + rowH * Math.max(1, o.rows.length);
  const plotW = width - m.left - m.right;
  const parts = [`<text x="10" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`];
  if (o.legend?.length) parts.push(legendRow(o.legend, 10, 42));
  const values = o.rows.map((r) => r.value).filter(Number.isFinite);
  if (values.length === 0) {
    parts.push(`<text x="${width / 2}" y="${m.top + 14}" font-size="12" text-anchor="middle" fill="#777">no data</text>`);
    return svg(width, height, parts);
  }
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const ticks = lo < 0 ? rangeTicks(lo, hi > 0 ? hi * 1.04 : 0) : niceTicks(hi * 1.04);
  const [x0, x1] = [ticks[0], ticks[ticks.length - 1]];
  const x = (v: number): number => m.left + ((v - x0) / (x1 - x0)) * plotW;
  const bottom = m.top + rowH * o.rows.length;
  parts.push(...horizontalAxis(ticks, x, { top: m.top, bottom, centre: m.left + plotW / 2, labelY: height - 6, label: o.xLabel }));
  o.rows.forEach((row, i) => {
    const top = m.top + i * rowH;
    parts.push(`<text x="${f(m.left - 8)}" y="${top + 14}" font-size="11" text-anchor="end" fill="#222">${esc(short(row.label))}<title>${esc(row.label)}</title></text>`);
    if (!Number.isFinite(row.value)) {
      parts.push(`<text x="${f(x(0) + 4)}" y="${top + 14}" font-size="10.5" fill="#777">–</text>`);
      return;
    }
    const a = Math.min(x(0), x(row.value));
    const b = Math.max(x(0), x(row.value));
    parts.push(`<rect x="${f(a)}" y="${top + 3}" width="${f(Math.max(1, b - a))}" height="${rowH - 6}" fill="${row.color}"><title>${esc(row.title ?? `${row.label}: ${format(row.value)}`)}</title></rect>`);
    const right = row.value >= 0;
    parts.push(`<text x="${f(right ? b + 4 : a - 4)}" y="${top + 14}" font-size="10.5" text-anchor="${right ? 'start' : 'end'}" fill="#222">${esc(format(row.value))}</text>`);
  });
  return svg(width, height, parts);
}

/**
 * Horizontal grouped bars: one block per category (top to bottom), one thin bar per series in
 * it, values printed at the bar ends so small bars stay readable next to a dominant one.
 * NaN values leave a gap ("–").
 */
export function groupedHorizontalBarChart(o: { title: string; categories: string[]; series: Series[]; xLabel: string; width?: number; format?: (v: number) => string }): string {
  const width = o.width ?? 900;
  const format = o.format ?? fmt;
  const barH = 13;
  const gap = 9;
  const blockH = barH * Math.max(1, o.series.length) + gap;
  const labelW = Math.max(90, ...o.categories.map((c) => c.length * 6.6 + 14));
  const m = { top: 56, right: 60, bottom: 40, left: labelW };
  const height = m.top + m.bottom + blockH * Math.max(1, o.categories.length);
  const plotW = width - m.left - m.right;
  const parts = [`<text x="10" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`, legendRow(o.series.map((s) => ({ name: s.name, color: s.color, shape: 'bar' as const })), 10, 42)];
  const ticks = niceTicks(1.04 * Math.max(0, ...o.series.flatMap((s) => s.values.filter(Number.isFinite))));
  const xMax = ticks[ticks.length - 1];
  const x = (v: number): number => m.left + (Math.max(0, v) / xMax) * plotW;
  const bottom = m.top + blockH * o.categories.length;
  parts.push(...horizontalAxis(ticks, x, { top: m.top, bottom, centre: m.left + plotW / 2, labelY: height - 6, label: o.xLabel }));
  o.categories.forEach((cat, i) => {
    const top = m.top + i * blockH;
    parts.push(`<text x="${f(m.left - 8)}" y="${f(top + (barH * o.series.length) / 2 + 4)}" font-size="11.5" text-anchor="end" fill="#222">${esc(cat)}</text>`);
    o.series.forEach((s, j) => {
      const v = s.values[i];
      const y = top + j * barH;
      if (!Number.isFinite(v)) {
        parts.push(`<text x="${f(x(0) + 4)}" y="${f(y + barH - 3)}" font-size="10" fill="#888">–</text>`);
        return;
      }
      parts.push(`<rect x="${f(x(0))}" y="${f(y + 1)}" width="${f(Math.max(1, x(v) - x(0)))}" height="${barH - 2}" fill="${s.color}"><title>${esc(`${cat} — ${s.name}: ${format(v)}`)}</title></rect>`);
      parts.push(`<text x="${f(Math.max(x(v), x(0) + 1) + 4)}" y="${f(y + barH - 3)}" font-size="10" fill="#222">${esc(format(v))}</text>`);
    });
  });
  return svg(width, height, parts);
}

// No xmlns: inline SVG in HTML does not need it, and the report contains no URL at all.
function svg(width: number, height: number, parts: string[]): string {
  return `<svg width="${Math.round(width)}" height="${Math.round(height)}" viewBox="0 0 ${Math.round(width)} ${Math.round(height)}" ${FONT} role="img">${parts.join('')}</svg>`;
}

/** Vertical grid lines with their tick labels under a horizontal-bar plot, and the axis title. */
function horizontalAxis(ticks: readonly number[], x: (v: number) => number, at: { top: number; bottom: number; centre: number; labelY: number; label: string }): string[] {
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${at.top - 4}" y2="${at.bottom}" stroke="${t === 0 ? '#999' : '#e6e6e6'}"/>`);
    parts.push(`<text x="${f(x(t))}" y="${at.bottom + 15}" font-size="10.5" text-anchor="middle" fill="#555">${tick(t)}</text>`);
  }
  parts.push(`<text x="${f(at.centre)}" y="${at.labelY}" font-size="11.5" text-anchor="middle" fill="#444">${esc(at.label)}</text>`);
  return parts;
}
