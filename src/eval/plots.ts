/**
 * Evaluation plots as standalone SVG (no chart library, no external assets): precision–recall
 * curves per class and a per-class AP bar chart. Pure string building, isomorphic.
 */
import type { ClassResult, PrCurve } from './report.js';

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

// Distinct hues for up to ~20 curves; beyond that colours repeat (labels stay in the legend).
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363'];

/**
 * Precision–recall curves (one per class with ground truth) on one chart, with the
 * all-class mean curve in bold. `maxCurves` keeps the chart readable: the classes with the
 * most ground truth are drawn.
 */
export function prCurvesSvg(curves: readonly PrCurve[], perClass: readonly ClassResult[], opts: { title?: string; maxCurves?: number } = {}): string {
  const W = 760, H = 520, L = 60, R = 220, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  const x = (r: number): number => L + r * pw;
  const y = (p: number): number => T + (1 - p) * ph;
  const gtCount = new Map(perClass.map((c) => [c.categoryId, c.numGt]));
  const valid = curves.filter((c) => c.precision[0] !== -1);
  const drawn = [...valid].sort((a, b) => (gtCount.get(b.categoryId) ?? 0) - (gtCount.get(a.categoryId) ?? 0)).slice(0, opts.maxCurves ?? 12);
  const apOf = new Map(perClass.map((c) => [c.categoryId, c.ap50]));
  const path = (c: PrCurve): string => c.recall.map((r, i) => `${i ? 'L' : 'M'}${x(r).toFixed(1)},${y(Math.max(0, c.precision[i])).toFixed(1)}`).join('');
  const parts: string[] = [];
  // Grid and axes.
  for (let i = 0; i <= 10; i++) {
    const v = i / 10;
    parts.push(`<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${T + ph}" stroke="#eee"/><line x1="${L}" y1="${y(v)}" x2="${L + pw}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${x(v)}" y="${T + ph + 16}" font-size="11" text-anchor="middle">${v.toFixed(1)}</text><text x="${L - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${L + pw / 2}" y="${H - 12}" font-size="13" text-anchor="middle">recall</text>`);
  parts.push(`<text transform="translate(16 ${T + ph / 2}) rotate(-90)" font-size="13" text-anchor="middle">precision</text>`);
  drawn.forEach((c, i) => {
    const colour = COLOURS[i % COLOURS.length];
    parts.push(`<path d="${path(c)}" fill="none" stroke="${colour}" stroke-width="1.5" opacity="0.85"/>`);
    const ly = T + 14 + i * 18;
    parts.push(`<line x1="${L + pw + 14}" y1="${ly - 4}" x2="${L + pw + 34}" y2="${ly - 4}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${L + pw + 40}" y="${ly}" font-size="12">${escapeXml(c.name)} ${fmt(apOf.get(c.categoryId))}</text>`);
  });
  if (valid.length > 0) {
    // Mean over classes with ground truth at each recall point (COCO's AP50 is its area).
    const mean = valid[0].recall.map((_, i) => valid.reduce((s, c) => s + Math.max(0, c.precision[i]), 0) / valid.length);
    parts.push(`<path d="${valid[0].recall.map((r, i) => `${i ? 'L' : 'M'}${x(r).toFixed(1)},${y(mean[i]).toFixed(1)}`).join('')}" fill="none" stroke="#000" stroke-width="3"/>`);
    const ly = T + 14 + drawn.length * 18 + 8;
    parts.push(`<line x1="${L + pw + 14}" y1="${ly - 4}" x2="${L + pw + 34}" y2="${ly - 4}" stroke="#000" stroke-width="3"/><text x="${L + pw + 40}" y="${ly}" font-size="12" font-weight="bold">all classes (${valid.length})</text>`);
  }
  const iouLabel = curves[0] ? `IoU ${curves[0].iouThr}` : '';
  parts.push(`<text x="${L}" y="24" font-size="15" font-weight="bold">${escapeXml(opts.title ?? 'Precision–recall')} ${iouLabel}</text>`);
  return svg(W, H, parts);
}

/** Horizontal bar chart of AP@[.5:.95] (and AP50 as a lighter bar) per class, best first. */
export function classApSvg(perClass: readonly ClassResult[], opts: { title?: string } = {}): string {
  const rows = perClass.filter((c) => c.ap >= 0).sort((a, b) => b.ap - a.ap);
  const rowH = 18, L = 170, R = 70, T = 50, W = 760;
  const H = T + rows.length * rowH + 30;
  const pw = W - L - R;
  const parts: string[] = [`<text x="10" y="24" font-size="15" font-weight="bold">${escapeXml(opts.title ?? 'AP per class')}</text>`,
    `<text x="${L}" y="42" font-size="11" fill="#555">dark: AP@[.50:.95]   light: AP50</text>`];
  for (let i = 0; i <= 10; i++) {
    const gx = L + (pw * i) / 10;
    parts.push(`<line x1="${gx}" y1="${T - 4}" x2="${gx}" y2="${T + rows.length * rowH}" stroke="#eee"/><text x="${gx}" y="${T + rows.length * rowH + 16}" font-size="11" text-anchor="middle">${(i / 10).toFixed(1)}</text>`);
  }
  rows.forEach((c, i) => {
    const yy = T + i * rowH;
    parts.push(`<text x="${L - 6}" y="${yy + 13}" font-size="12" text-anchor="end">${escapeXml(c.name)}</text>`);
    parts.push(`<rect x="${L}" y="${yy + 2}" width="${(Math.max(0, c.ap50) * pw).toFixed(1)}" height="${rowH - 4}" fill="#9ecae1"/>`);
    parts.push(`<rect x="${L}" y="${yy + 2}" width="${(c.ap * pw).toFixed(1)}" height="${rowH - 4}" fill="#3182bd"/>`);
    parts.push(`<text x="${L + Math.max(c.ap50, c.ap) * pw + 4}" y="${yy + 13}" font-size="11">${c.ap.toFixed(3)}</text>`);
  });
  return svg(W, H, parts);
}

function svg(w: number, h: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="DejaVu Sans, Arial, sans-serif"><rect width="${w}" height="${h}" fill="#fff"/>${parts.join('')}</svg>\n`;
}

const fmt = (v: number | undefined): string => (v === undefined || v < 0 ? '' : `(AP50 ${v.toFixed(3)})`);
