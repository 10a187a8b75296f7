/**
 * Hand-written SVG charts for the HTML report: grouped bars, a histogram, stacked bars.
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

// No xmlns: inline SVG in HTML does not need it, and the report contains no URL at all.
function svg(width: number, height: number, parts: string[]): string {
  return `<svg width="${Math.round(width)}" height="${Math.round(height)}" viewBox="0 0 ${Math.round(width)} ${Math.round(height)}" ${FONT} role="img">${parts.join('')}</svg>`;
}
