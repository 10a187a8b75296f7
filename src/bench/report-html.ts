/**
 * The `--html` report: one self-contained file (inline CSS and SVG, no scripts, fonts, images
 * or links), so it can be archived next to a release or attached to an issue as is.
 */
import path from 'node:path';
import { ISA_FLAGS, type MachineFingerprint } from './fingerprint.js';
import { esc, groupedBarChart, histogramChart, stackedBarChart } from './svg.js';
import type { BenchReport, BenchResult, LoadReport } from './types.js';
import { htmlPage } from './html-page.js';

const COLORS = { modelOnly: '#4e79a7', endToEnd: '#f28e2b', p50: '#1f5fa8', p90: '#7b3fa0', p99: '#c0392b' };
const STAGES = [
  { key: 'decode', name: 'decode', color: '#4e79a7' },
  { key: 'preprocess', name: 'preprocess', color: '#59a14f' },
  { key: 'queue', name: 'queue (waiting for a stream)', color: '#c9c3bd' },
  { key: 'infer', name: 'infer', color: '#f28e2b' },
  { key: 'postprocess', name: 'postprocess', color: '#e15759' },
] as const;

const CSS = `
body{margin:0;background:#f6f7f9;color:#1d1d1f;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}
.sub{color:#555;margin:0 0 20px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px 18px;margin:0 0 18px;overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600;border-bottom:1px solid #d5d8dd}
tr:nth-child(even) td{background:#fafbfc}
td.l,th.l{text-align:left}
th.grp{text-align:center;border-left:2px solid #fff}
td.ratio{font-weight:700}
table.results{width:100%;font-size:13px}
table.results th,table.results td{padding:4px 7px}
tr.model td{text-align:left;font-weight:600;background:#eef3f9;border-top:1px solid #d5d8dd}
table.kv td:first-child{text-align:left;color:#555;padding-right:18px}
table.kv td{text-align:left}
.note{color:#555;font-size:12.5px;margin:10px 0 0}
.grid{display:flex;flex-wrap:wrap;gap:14px}
.grid>div{border:1px solid #eceef1;border-radius:6px;padding:4px}
.skipped{color:#8a5a00}
svg{display:block;max-width:100%;height:auto}
`;

const page = (title: string, subtitle: string, sections: string[]): string => htmlPage(title, subtitle, sections, CSS);

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`;
}

function machineTable(m: MachineFingerprint): string {
  const isa = m.isa ? ISA_FLAGS.map((flag) => `${flag} ${m.isa![flag] ? '✓' : '✗'}`).join(' · ') : 'unknown';
  const rows: [string, string][] = [
    ['CPU', m.cpu],
    ['cores available', `${m.cores} (os.availableParallelism) · ${m.logicalCpus} logical · cgroup quota: ${m.cgroupCpuQuota === null ? 'none' : `${m.cgroupCpuQuota} cores`}`],
    ['ISA', isa],
    ['memory', `${(m.totalMemoryMb / 1024).toFixed(1)} GB`],
    ['runtime', `Node ${m.node} (${m.arch}) · onnxruntime-node ${m.onnxruntimeNode} · sharp ${m.sharp} (libvips ${m.libvips})`],
    ['OS', m.platform],
  ];
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

const n = (v: number | null | undefined, d = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** A short label for a configuration; the model's file name is added when several are compared. */
function configLabel(r: BenchResult, withModel: boolean, sep = ' · '): string {
  const base = `${r.threads} thr × ${r.streams} str${r.batch > 1 ? ` · batch ${r.batch}` : ''}`;
  return withModel ? `${path.basename(r.model, '.onnx')}${sep}${base}` : base;
}

function resultsTable(results: readonly BenchResult[]): string {
  const head = `<thead><tr><th rowspan="2">threads</th><th rowspan="2">streams</th><th rowspan="2">batch</th>
<th class="grp" colspan="4">model-only</th><th class="grp" colspan="5">end-to-end (batch 1)</th><th rowspan="2">ratio</th><th rowspan="2">cold start<br>ms</th><th rowspan="2">RSS<br>MB</th></tr>
<tr><th>img/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>img/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr></thead>`;
  // One body per model, headed by its path: the table stays narrow enough to need no scrolling.
  const bodies = [...new Set(results.map((r) => r.model))].map((model) => {
    const rows = results.filter((r) => r.model === model).map((r) => `<tr><td>${r.threads}</td><td>${r.streams}</td><td>${r.batch}</td>
<td>${n(r.modelOnly.fps)}</td><td>${n(r.modelOnly.p50Ms)}</td><td>${n(r.modelOnly.p90Ms)}</td><td>${n(r.modelOnly.p99Ms)}</td>
<td>${n(r.endToEnd.fps)}</td><td>${n(r.endToEnd.p50Ms)}</td><td>${n(r.endToEnd.p90Ms)}</td><td>${n(r.endToEnd.p99Ms)}</td><td>${n(r.endToEnd.maxMs)}</td>
<td class="ratio">${n(r.ratio, 3)}</td><td>${n(r.coldStartMs, 0)}</td><td>${n(r.rssMb, 0)}</td></tr>`);
    return `<tbody><tr class="model"><td colspan="15">${esc(model)}</td></tr>${rows.join('')}</tbody>`;
  });
  return `<table class="results">${head}${bodies.join('')}</table>`;
}

/** One row per measured end-to-end configuration (batch sizes of a group share it). */
function endToEndRows(results: readonly BenchResult[]): BenchResult[] {
  const seen = new Set<string>();
  return results.filter((r) => {
    const key = `${r.model}|${r.threads}|${r.streams}|${r.spinning}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The model benchmark report. */
export function benchReportHtml(report: BenchReport, generatedAt = new Date()): string {
  const { results, settings } = report;
  const multiModel = new Set(results.map((r) => r.model)).size > 1;
  const sections = [section('Machine', machineTable(report.machine))];

  if (results.length === 0) {
    sections.push(section('Results', '<p>No configuration was measured.</p>'));
  } else {
    sections.push(
      section(
        'Results',
        resultsTable(results) +
          `<p class="note">Medians of ${settings.runs} run(s), ${settings.durationS} s per measurement per run, model-only and end-to-end alternating in ${settings.sliceMs} ms slices over the same window. ` +
          'Model-only: <code>session.run</code> on a fixed tensor in worker threads, one call in flight per stream; img/s counts batch × calls; its latency is one call. ' +
          'End-to-end: encoded bytes → detections through <code>Detector.detect</code>, streams + 2 in flight, always batch 1; its latency includes waiting for a stream. ' +
          'Ratio = end-to-end img/s ÷ model-only img/s. Cold start = <code>Detector.load</code> + first detect. RSS = peak of the whole bench process (both measurements loaded).</p>',
      ),
    );
    const e2eRows = endToEndRows(results);
    sections.push(
      section(
        'Throughput',
        groupedBarChart({
          title: 'Images per second (threads per stream × streams)',
          categories: results.map((r) => configLabel(r, multiModel, '\n')),
          series: [
            { name: 'model-only', color: COLORS.modelOnly, values: results.map((r) => r.modelOnly.fps) },
            { name: 'end-to-end', color: COLORS.endToEnd, values: results.map((r) => r.endToEnd.fps) },
          ],
          yLabel: 'images / s',
        }),
      ),
    );
    const hists = e2eRows.map((r) =>
      histogramChart({
        title: configLabel(r, multiModel).replace(/ · batch \d+$/, ''),
        hist: r.endToEnd.histogram,
        markers: [
          { label: 'p50', value: r.endToEnd.p50Ms, color: COLORS.p50 },
          { label: 'p90', value: r.endToEnd.p90Ms, color: COLORS.p90 },
          { label: 'p99', value: r.endToEnd.p99Ms, color: COLORS.p99 },
        ],
        xLabel: `detect latency, ms (${r.endToEndImages} images${r.endToEnd.histogram.clippedAbove ? `, ${r.endToEnd.histogram.clippedAbove} slowest in last bar` : ''})`,
      }),
    );
    sections.push(section('End-to-end latency', `<div class="grid">${hists.map((h) => `<div>${h}</div>`).join('')}</div>`));
    sections.push(
      section(
        'Where the time goes',
        stackedBarChart({
          title: 'End-to-end stage means per image',
          rows: e2eRows.map((r) => ({ label: configLabel(r, multiModel).replace(/ · batch \d+$/, ''), values: STAGES.map((s) => r.endToEnd.stagesMs[s.key]) })),
          names: STAGES.map((s) => s.name),
          colors: STAGES.map((s) => s.color),
          unit: 'ms per image',
        }) +
          '<p class="note">Wall time of each stage, averaged over images. With several images in flight the stages of different images overlap, so a bar is the latency one image sees, not the cost per image of throughput (that is 1000 ÷ img/s).</p>',
      ),
    );
  }
  if (report.skipped.length) {
    const items = report.skipped.map((s) => `<li>${esc(path.basename(s.model))}, ${s.threads} thr × ${s.streams} str, batch ${s.batch}: ${esc(s.reason)}</li>`);
    sections.push(section('Skipped', `<ul class="skipped">${items.join('')}</ul>`));
  }
  const subtitle = `${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC · ${settings.images} images from ${esc(settings.imagesFrom)} · ${esc(settings.note)}`;
  return page('tearless bench', subtitle, sections);
}

/** The `--url` load report. */
export function loadReportHtml(report: LoadReport, generatedAt = new Date()): string {
  const rows = report.results.map((r) => {
    const errs = Object.entries(r.errors).map(([k, c]) => `${esc(k)}: ${c}`).join(', ') || '0';
    return `<tr><td>${r.concurrency}</td><td>${n(r.rps)}</td><td>${n(r.p50Ms)}</td><td>${n(r.p90Ms)}</td><td>${n(r.p99Ms)}</td><td>${n(r.maxMs)}</td><td>${r.ok}</td><td class="l">${errs}</td></tr>`;
  });
  const table = `<table><tr><th>concurrency</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>ok</th><th class="l">errors</th></tr>${rows.join('')}</table>
<p class="note">${report.settings.durationS} s per concurrency level. req/s and latencies count successful (2xx) responses; latency is request start → response body read.</p>`;
  const chart = groupedBarChart({
    title: 'Successful requests per second by concurrency',
    categories: report.results.map((r) => `concurrency ${r.concurrency}`),
    series: [{ name: 'requests / s', color: COLORS.endToEnd, values: report.results.map((r) => r.rps) }],
    yLabel: 'requests / s',
    height: 300,
  });
  const hists = report.results.map((r) =>
    histogramChart({
      title: `concurrency ${r.concurrency}`,
      hist: r.histogram,
      markers: [
        { label: 'p50', value: r.p50Ms ?? NaN, color: COLORS.p50 },
        { label: 'p90', value: r.p90Ms ?? NaN, color: COLORS.p90 },
        { label: 'p99', value: r.p99Ms ?? NaN, color: COLORS.p99 },
      ],
      xLabel: `request latency, ms (${r.ok} ok)`,
    }),
  );
  const subtitle = `${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC · POST to ${esc(report.url)} · ${report.settings.images} images from ${esc(report.settings.imagesFrom)}`;
  return page('tearless bench — server load', subtitle, [
    section('Machine (client)', machineTable(report.machine)),
    section('Results', table),
    section('Throughput', chart),
    section('Latency', `<div class="grid">${hists.map((h) => `<div>${h}</div>`).join('')}</div>`),
  ]);
}
