/**
 * `tearless optimize --report`: one self-contained HTML file (inline CSS and SVG; no scripts,
 * fonts, images or links) in the style of the `tearless bench --html` report: the verdict, the
 * settings, every candidate, speed against accuracy, per-layer quantization error and where
 * the time goes per op type.
 */
import { esc, groupedHorizontalBarChart, horizontalBarChart, scatterChart, type LegendEntry, type ScatterPoint } from '../../bench/svg.js';
import type { CandidateResult, OptimizeReport } from '../types.js';
import {
  accuracyCell,
  calibrationText,
  candidateStatus,
  duration,
  guardText,
  headline,
  msCell,
  nodesCell,
  num,
  originalOf,
  pct,
  sizeMb,
  speedupCell,
  topOps,
  worstLayers,
  type StatusKind,
} from './text.js';
import { htmlPage } from '../../bench/html-page.js';

const COLORS: Record<StatusKind, string> = { chosen: '#2e9e44', original: '#4e79a7', rejected: '#f28e2b', error: '#c0392b', other: '#8d99a6' };
const BUDGET = '#c0392b';
const QUANTIZED = '#4e79a7';
const KEPT_FLOAT = '#f28e2b';
/** Chart width that fills a section of the page. */
const WIDE = 1100;
const SERIES = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];

const CSS = `
body{margin:0;background:#f6f7f9;color:#1d1d1f;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1440px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}
.sub{color:#555;margin:0 0 20px;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px 18px;margin:0 0 18px;overflow-x:auto}
section.verdict{border-left:6px solid ${COLORS.chosen};background:#f3faf4}
section.verdict.none{border-left-color:${COLORS.original};background:#f3f7fb}
.verdict .headline{font-size:17px;font-weight:600;margin:0 0 6px;overflow-wrap:anywhere}
.verdict p{margin:0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600;border-bottom:1px solid #d5d8dd}
tr:nth-child(even) td{background:#fafbfc}
td.l,th.l{text-align:left}
td.wrap{white-space:normal;min-width:160px;max-width:260px;overflow-wrap:anywhere}
table.results{width:100%;font-size:13px}
table.results td[class^="st-"]{white-space:normal;min-width:210px;max-width:320px;text-align:left}
table.results th,table.results td{padding:4px 7px}
table.results tr.chosen td{background:#e7f5ea;font-weight:600}
td.st-chosen{color:${COLORS.chosen}}td.st-rejected{color:#a35a00}td.st-error{color:${COLORS.error}}td.st-original{color:${COLORS.original}}td.st-other{color:#666}
table.kv td:first-child{text-align:left;color:#555;padding-right:18px;vertical-align:top}
table.kv td{text-align:left;white-space:normal}
.note{color:#555;font-size:12.5px;margin:10px 0 0}
code{font-size:12.5px}
svg{display:block;max-width:100%;height:auto}
`;

const page = (title: string, subtitle: string, sections: string[]): string => htmlPage(title, subtitle, sections, CSS);

function section(title: string, body: string, cls = ''): string {
  return `<section${cls ? ` class="${cls}"` : ''}><h2>${esc(title)}</h2>${body}</section>`;
}

function verdictBox(report: OptimizeReport): string {
  const body = `<p class="headline">Chosen: ${esc(headline(report))}</p><p>${esc(report.verdict)}</p>`;
  return section('Verdict', body, report.chosen === null ? 'verdict none' : 'verdict');
}

function settingsTable(report: OptimizeReport): string {
  const rows: [string, string][] = [
    ['model', esc(report.model)],
    ['written to', report.output ? esc(report.output) : report.chosen === null ? 'nothing (the original stays)' : '–'],
    ['accuracy guard', esc(guardText(report.guard))],
    ['calibration', esc(calibrationText(report.calibration))],
    ['machine', report.machine.map(esc).join('<br>') || '–'],
    ['took', esc(duration(report.durationMs))],
  ];
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('')}</table>`;
}

function candidateTable(report: OptimizeReport): string {
  if (report.candidates.length === 0) return '<p>No candidate was built.</p>';
  const acc = report.guard.kind === 'map' ? 'mAP (Δ)' : 'agreement';
  const head = `<thead><tr><th class="l">id</th><th class="l">description</th><th>model<br>img/s</th><th>speed-up</th><th>end-to-end<br>img/s</th><th>latency<br>ms</th><th>${acc}</th><th>size<br>MB</th><th>int8/float<br>nodes</th><th class="l">status</th></tr></thead>`;
  const rows = report.candidates.map((c) => {
    const st = candidateStatus(report, c);
    return `<tr class="${st.kind}"><td class="l"><code>${esc(c.id)}</code></td><td class="l wrap" title="${esc(c.kind)}">${esc(c.description)}</td>` +
      `<td>${num(c.modelFps)}</td><td>${speedupCell(c.speedup)}</td><td>${num(c.endToEndFps)}</td><td>${msCell(c.latencyMs)}</td>` +
      `<td>${esc(accuracyCell(report, c))}</td><td>${sizeMb(c.sizeBytes)}</td><td>${nodesCell(c)}</td><td class="l wrap st-${st.kind}">${esc(st.text)}</td></tr>`;
  });
  const threads = [...new Set(report.candidates.map((c) => c.threads))].sort((a, b) => a - b);
  const note = `<p class="note">Model img/s: <code>session.run</code> on a fixed tensor with ${esc(threads.join('/') || '?')} intra-op thread(s), median of runs; speed-up against the original's model img/s in the same run. ` +
    'End-to-end: encoded image → boxes. Latency: one image, model-only, median. ' +
    (report.guard.kind === 'map'
      ? 'mAP: COCO mAP@[.5:.95]; Δ is the change against the original. '
      : "Agreement: share of the original model's boxes matched by class and IoU ≥ 0.9. ") +
    'Size in MB of 10⁶ bytes. int8/float: nodes quantized / kept in float.</p>';
  return `<table class="results">${head}<tbody>${rows.join('')}</tbody></table>${note}`;
}

/**
 * Speed-up against accuracy; errors left out. The speed-up, not img/s: each candidate is timed
 * side by side with the original in its own window, and on a shared machine only those ratios
 * compare across candidates (img/s is used when no speed-up was measured).
 */
function scatter(report: OptimizeReport): string | null {
  const isMap = report.guard.kind === 'map';
  const yOf = (c: CandidateResult): number | undefined => (isMap ? c.map : c.agreement === undefined ? undefined : c.agreement * 100);
  const measured = report.candidates.filter((c) => !c.error && Number.isFinite(yOf(c) ?? NaN));
  const withFps = measured.filter((c) => Number.isFinite(c.modelFps ?? NaN)).length;
  const withSpeedup = measured.filter((c) => Number.isFinite(c.speedup ?? NaN)).length;
  const useFps = withSpeedup === 0 && withFps > 0;
  const xOf = (c: CandidateResult): number | undefined => (useFps ? c.modelFps : c.speedup);
  const plotted = measured.filter((c) => Number.isFinite(xOf(c) ?? NaN));
  if (plotted.length === 0) return null;
  const yName = isMap ? 'mAP@[.5:.95]' : "agreement with the original's boxes, %";
  const points: ScatterPoint[] = plotted.map((c) => {
    const st = candidateStatus(report, c);
    const speed = `${num(c.modelFps)} img/s (${speedupCell(c.speedup)})`;
    return {
      label: c.id,
      x: xOf(c)!,
      y: yOf(c)!,
      color: COLORS[st.kind],
      shape: c.kind === 'original' ? 'diamond' : 'circle',
      emphasis: st.kind === 'chosen',
      title: `${c.id} — ${speed}, ${isMap ? 'mAP' : 'agreement'} ${accuracyCell(report, c)} — ${st.text}`,
    };
  });
  const orig = originalOf(report);
  const g = report.guard;
  const budget = g.kind === 'map' ? (orig?.map !== undefined ? orig.map - g.maxMapDrop : NaN) : g.minAgreement * 100;
  const budgetLabel = g.kind === 'map' ? `budget: mAP ≥ ${num(budget, 3)} (drop ≤ ${+g.maxMapDrop.toFixed(4)})` : `budget: agreement ≥ ${pct(g.minAgreement)}`;
  const origX = orig && !orig.error ? xOf(orig) : undefined;
  const kinds = new Set(plotted.map((c) => candidateStatus(report, c).kind));
  const legend: LegendEntry[] = [
    ...(kinds.has('original') ? [{ name: 'original', color: COLORS.original, shape: 'diamond' as const }] : []),
    ...(kinds.has('chosen') ? [{ name: 'chosen', color: COLORS.chosen }] : []),
    ...(kinds.has('rejected') ? [{ name: 'rejected', color: COLORS.rejected }] : []),
    ...(kinds.has('other') ? [{ name: 'not chosen', color: COLORS.other }] : []),
    ...(Number.isFinite(budget) ? [{ name: 'accuracy budget', color: BUDGET, shape: 'line' as const }] : []),
  ];
  const chart = scatterChart({
    title: `Speed vs accuracy (${plotted.length} measured candidate${plotted.length === 1 ? '' : 's'})`,
    points,
    xLabel: useFps ? 'model-only images / s (session.run, median)' : "speed-up against the original's model-only images / s",
    yLabel: yName,
    hLines: Number.isFinite(budget) ? [{ value: budget, label: budgetLabel, color: BUDGET }] : [],
    vLines: origX !== undefined && Number.isFinite(origX) ? [{ value: origX, label: 'original speed', color: COLORS.original }] : [],
    legend,
    xFormat: useFps ? undefined : (v) => `${+v.toFixed(2)}×`,
    // speed-ups cluster around 1: an axis from 0 would squeeze them into a corner
    xFromZero: useFps,
    yFormat: isMap ? undefined : (v) => `${+v.toFixed(2)}%`,
    width: WIDE,
  });
  const left = report.candidates.length - plotted.length;
  const note = `<p class="note">Up and to the right is better; candidates below the dashed line are over the accuracy budget. ${left ? `${left} candidate${left === 1 ? '' : 's'} without both measurements (errors included) ${left === 1 ? 'is' : 'are'} not drawn.` : ''}</p>`;
  return chart + note;
}

function sensitivity(report: OptimizeReport): string | null {
  const all = report.sensitivity ?? [];
  if (all.length === 0) return null;
  const worst = worstLayers(report, 30);
  const kept = all.filter((l) => l.keptFloat).length;
  const chart = horizontalBarChart({
    title: `Quantization error per layer (${worst.length} worst of ${all.length})`,
    rows: worst.map((l) => ({
      label: l.node,
      value: l.sqnrDb,
      color: l.keptFloat ? KEPT_FLOAT : QUANTIZED,
      title: `${l.node} (${l.opType}): SQNR ${num(l.sqnrDb, 2)} dB${l.keptFloat ? ', kept in float' : ''}`,
    })),
    xLabel: 'SQNR of the output against float, dB (higher is better)',
    legend: [
      { name: 'quantized', color: QUANTIZED, shape: 'bar' },
      { name: 'kept in float', color: KEPT_FLOAT, shape: 'bar' },
    ],
    format: (v) => num(v, 1),
    width: WIDE,
  });
  return chart + `<p class="note">Signal-to-quantization-noise ratio of each node's output against float when only that node is quantized (its inputs, weights and output), on exact float inputs: 20 dB means noise at a tenth of the signal's amplitude. ${kept} of ${all.length} layers were kept in float by the search.</p>`;
}

function opTimes(report: OptimizeReport): string | null {
  const profiles = (report.profiles ?? []).filter((p) => p.ops.length > 0);
  if (profiles.length === 0) return null;
  // The op types that take the most time in any profile; the rest folded into one category.
  const top = 12;
  const peak = new Map<string, number>();
  for (const p of profiles) for (const o of p.ops) peak.set(o.opType, Math.max(peak.get(o.opType) ?? 0, Number.isFinite(o.msPerRun) ? o.msPerRun : 0));
  const ranked = [...peak.entries()].sort((a, b) => b[1] - a[1]).map(([op]) => op);
  const shown = ranked.length <= top + 1 ? ranked : ranked.slice(0, top);
  const restCount = ranked.length - shown.length;
  const categories = restCount ? [...shown, `${restCount} other op types`] : shown;
  const series = profiles.map((p, i) => {
    const by = new Map(p.ops.map((o) => [o.opType, o.msPerRun]));
    const values = shown.map((op) => by.get(op) ?? NaN);
    if (restCount) values.push(p.ops.filter((o) => !shown.includes(o.opType)).reduce((s, o) => s + (Number.isFinite(o.msPerRun) ? o.msPerRun : 0), 0));
    return { name: p.candidate, color: SERIES[i % SERIES.length], values };
  });
  const chart = groupedHorizontalBarChart({ title: 'Time per op type (onnxruntime profile)', categories, series, xLabel: 'ms per run', width: WIDE });
  const tables = profiles.map((p) => {
    const total = p.ops.reduce((s, o) => s + (Number.isFinite(o.msPerRun) ? o.msPerRun : 0), 0);
    const rows = topOps(p.ops, 15).map((o) => `<tr><td class="l">${esc(o.opType)}</td><td>${o.nodes}</td><td>${num(o.msPerRun, 3)}</td><td>${num(o.share * 100, 1)}</td></tr>`);
    return `<div><h3 style="font-size:14px;margin:6px 0"><code>${esc(p.candidate)}</code> · ${num(total, 2)} ms per run</h3><table><tr><th class="l">op</th><th>nodes</th><th>ms/run</th><th>share %</th></tr>${rows.join('')}</table></div>`;
  });
  return chart + `<div style="display:flex;flex-wrap:wrap;gap:28px;margin-top:12px">${tables.join('')}</div>` +
    '<p class="note">Per-node times from an onnxruntime profile, summed per op type and per run; share is of the profile\'s total op time.</p>';
}

/** The optimize report as one self-contained HTML page. */
export function optimizeReportHtml(report: OptimizeReport, generatedAt = new Date()): string {
  const sections = [verdictBox(report), section('Settings', settingsTable(report)), section('Candidates', candidateTable(report))];
  const sc = scatter(report);
  if (sc) sections.push(section('Speed vs accuracy', sc));
  const sens = sensitivity(report);
  if (sens) sections.push(section('Sensitive layers', sens));
  const ops = opTimes(report);
  if (ops) sections.push(section('Where the time goes', ops));
  const subtitle = `${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC · ${esc(report.model)} · ${report.candidates.length} candidate${report.candidates.length === 1 ? '' : 's'} in ${esc(duration(report.durationMs))}`;
  return page('tearless optimize', subtitle, sections);
}
