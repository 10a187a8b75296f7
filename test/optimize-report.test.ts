/**
 * The `tearless optimize` report on a hand-made result: terminal text, JSON and the
 * self-contained HTML page (and the SVG charts it adds to bench/svg.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stripVTControlCharacters } from 'node:util';
import { optimizeReportHtml, optimizeReportJson, optimizeReportText } from '../src/optimize/report/index.js';
import { horizontalBarChart, rangeTicks, scatterChart } from '../src/bench/svg.js';
import type { CandidateResult, OptimizeReport } from '../src/optimize/types.js';

const XSS = '<script>alert("x")</script>';

function fixture(): OptimizeReport {
  const candidates: CandidateResult[] = [
    { id: 'fp32', description: 'original model', kind: 'original', threads: 4, file: '/tmp/opt/fp32.onnx', sizeBytes: 12_849_512, modelFps: 38.21734, endToEndFps: 33.1, latencyMs: 26.08, map: 0.37241, speedup: 1 },
    { id: 'ort-all', description: 'onnxruntime offline graph optimization (ORT_ENABLE_ALL), saved as .onnx', kind: 'graph', threads: 4, sizeBytes: 12_790_001, modelFps: 41.02, endToEndFps: 35.4, latencyMs: 24.3, map: 0.37241, speedup: 1.0734 },
    { id: 'int8-qdq-minmax', description: 'static INT8 QDQ, per-channel weights, MinMax activation ranges, all Conv/MatMul', kind: 'int8-static', threads: 4, sizeBytes: 3_391_020, modelFps: 78.4, endToEndFps: 59.9, latencyMs: 12.71, map: 0.34102, mapDrop: 0.03139, speedup: 2.0515, quantizedNodes: 64, floatNodes: 0, rejected: 'mAP drop 0.031 > 0.01' },
    { id: 'int8-qdq-entropy-skip3', description: 'static INT8 QDQ, Entropy ranges, 3 most sensitive layers kept in float', kind: 'int8-static', threads: 4, sizeBytes: 3_612_884, modelFps: 71.2, endToEndFps: 56.3, latencyMs: 13.9, map: 0.36644, speedup: 1.8631, quantizedNodes: 61, floatNodes: 3 },
    // Description with markup; end-to-end missing (prints "–"); mAP NaN (left out of JSON).
    { id: 'int8-dynamic', description: `dynamic MatMul ${XSS}`, kind: 'int8-dynamic', threads: 4, sizeBytes: 10_100_000, modelFps: 45.9, latencyMs: 21.7, map: 0.37011, speedup: 1.2011, quantizedNodes: 2, floatNodes: 62 },
    { id: 'fp16', description: 'float16 weights and activations', kind: 'fp16', threads: 4, error: { code: 'TL_ERR_MODEL_LOAD', message: 'Could not find an implementation for Conv(11) node with name\n/model.0/conv/Conv' } },
  ];
  const ops = ['Conv', 'Mul', 'Sigmoid', 'Add', 'Concat', 'Resize', 'MaxPool', 'Split', 'Reshape', 'Transpose', 'Softmax', 'Slice', 'Sub', 'Div', 'Gather'];
  const profile = (scale: number, extra: { opType: string; ms: number; nodes: number }[]) => {
    const raw = [...ops.map((op, i) => ({ opType: op, nodes: i === 0 ? 64 : 15 - i, ms: (15 - i) * (i === 0 ? 12 : 0.4) * scale })), ...extra.map((e) => ({ opType: e.opType, nodes: e.nodes, ms: e.ms }))];
    const total = raw.reduce((s, o) => s + o.ms, 0);
    return raw.map((o) => ({ opType: o.opType, nodes: o.nodes, msPerRun: o.ms, share: o.ms / total }));
  };
  return {
    model: 'models/yolov8n.onnx',
    output: 'models/yolov8n.opt.onnx',
    chosen: 'int8-qdq-entropy-skip3',
    verdict: 'int8-qdq-entropy-skip3 is 1.86× faster than the original (model-only) and loses 0.006 mAP, within the budget of 0.01.',
    guard: { kind: 'map', maxMapDrop: 0.01, images: 500, dataset: 'coco-val2017' },
    calibration: { images: 200, folder: 'data/calib', method: ['minmax', 'entropy'] },
    machine: ['AMD EPYC 7B13 | 4 cores available (8 logical, no cgroup CPU quota) | avx2 fma | 15.6 GB RAM', 'Node v20.19.0 x64 | onnxruntime-node 1.30.0 | sharp 0.35.5 (libvips 8.18) | linux 6.8'],
    candidates,
    sensitivity: Array.from({ length: 14 }, (_, i) => ({ node: `/model.${22 - i}/cv${i % 3}/conv/Conv`, opType: i === 5 ? 'MatMul' : 'Conv', sqnrDb: 8 + i * 2.5 + (i === 13 ? -45 : 0), keptFloat: i < 3 })).sort((a, b) => a.sqnrDb - b.sqnrDb),
    profiles: [
      { candidate: 'fp32', ops: profile(1, []) },
      { candidate: 'int8-qdq-entropy-skip3', ops: profile(0.45, [{ opType: 'QuantizeLinear', ms: 0.9, nodes: 70 }, { opType: 'DequantizeLinear', ms: 0.7, nodes: 72 }]) },
    ],
    durationMs: 252_400,
  };
}

/** The candidate table lines (between the header row and the blank line after it). */
function tableLines(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('id ') && l.includes('status'));
  assert.ok(start >= 0, 'table header present');
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end).filter((l) => !l.startsWith('model img/s:') && !l.startsWith('e2e:'));
}

test('text: header, one row per candidate with its status, "–" for missing numbers, verdict', () => {
  const report = fixture();
  const text = optimizeReportText(report);
  assert.doesNotMatch(text, /\x1b\[/, 'no colour unless asked'); // eslint-disable-line no-control-regex
  assert.match(text, /^tearless optimize {2}models\/yolov8n\.onnx$/m);
  assert.match(text, /mAP drop ≤ 0\.01 on 500 images of coco-val2017/);
  assert.match(text, /200 images from data\/calib · minmax, entropy/);
  assert.match(text, /AMD EPYC 7B13/);
  assert.match(text, /took +4 min 12 s/);

  const rows = tableLines(text);
  assert.equal(rows.length, report.candidates.length);
  report.candidates.forEach((c, i) => assert.ok(rows[i].startsWith(c.id + ' '), `row ${i} is ${c.id}: ${rows[i]}`));
  const row = (id: string): string => rows.find((r) => r.startsWith(id + ' '))!;
  assert.match(row('fp32'), /original$/);
  assert.match(row('fp32'), / 38\.2 .* 1\.00× .* 0\.372 /);
  assert.match(row('int8-qdq-entropy-skip3'), /chosen$/);
  assert.match(row('int8-qdq-entropy-skip3'), /0\.366 \(−0\.006\)/);
  assert.match(row('int8-qdq-entropy-skip3'), / 61\/3 /);
  assert.match(row('int8-qdq-entropy-skip3'), / 3\.6 /, 'size in MB');
  assert.match(row('int8-qdq-minmax'), /rejected: mAP drop 0\.031 > 0\.01$/);
  assert.match(row('fp16'), /error: TL_ERR_MODEL_LOAD Could not find an implementation for Conv\(11\) node with name \/model\.0\/conv\/Conv$/, 'message on one line');
  assert.match(row('ort-all'), /not chosen$/);
  assert.match(row('ort-all'), /±0\.000/);
  assert.match(row('ort-all'), /onnxruntime offline graph optimization \(ORT…/, 'long description cut with an ellipsis');
  // int8-dynamic has no end-to-end number; fp16 has none at all.
  assert.match(row('int8-dynamic'), / 1\.20× +– +21\.7 /);
  assert.equal(row('fp16').match(/–/g)?.length, 7);
  // Columns line up: every row's status starts where the header's does.
  const header = text.split('\n').find((l) => l.startsWith('id '))!;
  const col = header.indexOf('status');
  for (const r of rows) assert.match(r.slice(col), /^(original|chosen|rejected|error|not chosen)/, r);

  // The search's own mapDrop wins over the difference to the original's row.
  const withDrop = fixture();
  withDrop.candidates[3].mapDrop = 0.0081;
  assert.match(tableLines(optimizeReportText(withDrop)).find((r) => r.startsWith('int8-qdq-entropy-skip3 '))!, /0\.366 \(−0\.008\)/);

  assert.match(text, /^chosen +int8-qdq-entropy-skip3 \(1\.86× model img\/s, mAP 0\.366 \(−0\.006\)\) → models\/yolov8n\.opt\.onnx$/m);
  assert.ok(text.includes(`verdict ${report.verdict}`), 'verdict line');
});

test('text: top 10 sensitive layers worst first, one time table per profile', () => {
  const report = fixture();
  const text = optimizeReportText(report);
  assert.match(text, /Most sensitive layers \(10 worst of 14; 3 kept in float\)/);
  const sens = text.split('\n');
  const at = sens.findIndex((l) => l.startsWith('Most sensitive layers'));
  const layerRows = sens.slice(at + 2, at + 12);
  const worst = [...report.sensitivity!].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, 10);
  assert.deepEqual(layerRows.map((l) => l.split(/ +/)[0]), worst.map((l) => l.node));
  assert.equal(sens[at + 12], '', 'exactly ten rows');
  assert.match(layerRows[0], /^\/model\.9\/cv1\/conv\/Conv +Conv +-4\.5 +no$/, 'negative SQNR of the worst layer');
  assert.match(text, /\/model\.22\/cv0\/conv\/Conv +Conv +8\.0 +yes/);
  assert.match(text, /Time per op type: fp32 \(/);
  assert.match(text, /Time per op type: int8-qdq-entropy-skip3 \(/);
  assert.match(text, /^QuantizeLinear +70 +0\.900 /m);
  assert.match(text, /\(3 other op types\)/, 'tail beyond 12 op types folded');
  // Conv in fp32: 15 × 12 ms = 180 ms of 180 + 0.4·(14+…+1) = 222 ms → 81.1 %.
  assert.match(text, /^Conv +64 +180\.000 +81\.1$/m);
});

test('text: colours only when asked (chosen green, rejected yellow, error red)', () => {
  const text = optimizeReportText(fixture(), { color: true });
  assert.ok(text.includes('\x1b[32m'), 'green');
  assert.ok(text.includes('\x1b[33mrejected: mAP drop'), 'yellow rejected');
  assert.ok(text.includes('\x1b[31merror: TL_ERR_MODEL_LOAD'), 'red error');
  // Colour codes do not shift the columns.
  assert.equal(stripVTControlCharacters(text), optimizeReportText(fixture(), { color: false }));
});

test('JSON: parses back with the same candidates, rounded numbers, no undefined or NaN, stable', () => {
  const report = fixture();
  report.candidates[4].endToEndFps = undefined;
  report.candidates[4].agreement = Number.NaN;
  const json = optimizeReportJson(report);
  assert.ok(json.endsWith('\n}'), 'no trailing newline (the CLI adds it)');
  assert.match(json, /^\{\n {2}"model": /, 'pretty, two-space indent');
  const back = JSON.parse(json) as OptimizeReport;
  assert.deepEqual(back.candidates.map((c) => c.id), report.candidates.map((c) => c.id));
  assert.deepEqual(Object.keys(back).slice(0, 4), ['model', 'output', 'chosen', 'verdict']);
  assert.equal(back.candidates[0].modelFps, 38.22);
  assert.equal(back.candidates[0].map, 0.3724);
  assert.equal(back.candidates[1].speedup, 1.073);
  assert.equal(back.candidates[0].sizeBytes, 12_849_512);
  assert.equal(back.candidates[2].mapDrop, 0.0314);
  assert.deepEqual(Object.keys(back.candidates[2]).slice(-5), ['mapDrop', 'speedup', 'quantizedNodes', 'floatNodes', 'rejected']);
  assert.ok(!('endToEndFps' in back.candidates[4]) && !('agreement' in back.candidates[4]), 'undefined and NaN left out');
  assert.doesNotMatch(json, /undefined|NaN|Infinity/);
  assert.deepEqual(back.candidates[5].error, report.candidates[5].error);
  assert.equal(back.profiles!.length, 2);
  assert.equal(back.sensitivity!.length, 14);
  // Same output whatever order the keys were set in.
  const reversed = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
  const shuffled = reversed(report) as OptimizeReport;
  assert.equal(Object.keys(shuffled)[0], 'durationMs');
  assert.equal(optimizeReportJson(shuffled), json);
});

/** The `<svg>…</svg>` whose title contains `title`. */
function svgWith(html: string, title: string): string {
  const svgs = html.match(/<svg [\s\S]*?<\/svg>/g) ?? [];
  const hit = svgs.find((s) => s.includes(title));
  assert.ok(hit, `an <svg> titled ${title}`);
  return hit;
}

test('HTML: self-contained, escaped, scatter with one labelled point per measured candidate', () => {
  const report = fixture();
  const html = optimizeReportHtml(report, new Date('2025-01-02T03:04:05Z'));
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /2025-01-02 03:04:05 UTC/);
  assert.doesNotMatch(html, /https?:\/\/|<script|\ssrc=|\shref=|@import|url\(/i);
  assert.ok(html.includes('dynamic MatMul &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'description escaped');
  for (const c of report.candidates) assert.ok(html.includes(`<code>${c.id}</code>`), `table row for ${c.id}`);
  assert.match(html, /<tr class="chosen">/);
  assert.match(html, /class="l wrap st-error">error: TL_ERR_MODEL_LOAD/);
  assert.match(html, /class="l wrap st-rejected">rejected: mAP drop 0\.031 &gt; 0\.01/);
  assert.match(html, /Chosen: int8-qdq-entropy-skip3/);
  assert.ok(html.includes(report.verdict), 'verdict text');

  const scatter = svgWith(html, 'Speed vs accuracy');
  const points = scatter.match(/<g class="point">[\s\S]*?<\/g>/g) ?? [];
  const measured = report.candidates.filter((c) => !c.error);
  assert.equal(points.length, measured.length);
  assert.equal(points.length, 5);
  const labels = points.map((p) => p.match(/>([^<>]+)<\/text><\/g>$/)?.[1]);
  assert.deepEqual(labels.sort(), measured.map((c) => c.id).sort());
  assert.ok(!scatter.includes('>fp16<'), 'the error is not drawn');
  assert.equal((scatter.match(/font-weight="700"/g) ?? []).length, 1, 'only the chosen point is emphasised');
  assert.match(scatter, /<path d="M[^"]+Z" fill="#4e79a7"/, 'the original is a diamond');
  // The budget: a dashed horizontal line at 0.37241 − 0.01.
  assert.match(scatter, /stroke-dasharray="6 4"><title>budget: mAP ≥ 0\.362 \(drop ≤ 0\.01\)<\/title>/);

  // The SQNR bars: the worst 14 (≤ 30), kept-float ones in their own colour.
  const sqnr = svgWith(html, 'Quantization error per layer');
  assert.equal((sqnr.match(/<rect [^>]*><title>/g) ?? []).length, 14);
  assert.equal((sqnr.match(/<rect [^>]*fill="#f28e2b"><title>/g) ?? []).length, 3);
  // Op-type bars: one series per profile.
  const ops = svgWith(html, 'Time per op type');
  assert.ok(ops.includes('>fp32</text>') && ops.includes('>int8-qdq-entropy-skip3</text>'), 'one series per profile');
  // 17 op types in all: the 12 slowest (Conv … Slice) get their own group; Sub, QuantizeLinear and the rest are folded.
  assert.ok(ops.includes('>Conv</text>') && ops.includes('>Slice</text>'), 'slowest op types shown');
  assert.ok(!ops.includes('>Sub</text>') && !ops.includes('>QuantizeLinear</text>'), 'fast op types folded');
  assert.ok(ops.includes('>5 other op types</text>'), 'folded category');
  assert.equal(html.match(/<svg /g)?.length, 3);
});

test('HTML and text: agreement guard prints percentages and its budget', () => {
  const report = fixture();
  report.guard = { kind: 'agreement', minAgreement: 0.97, images: 200 };
  report.candidates.forEach((c, i) => {
    delete c.map;
    if (!c.error) c.agreement = [1, 0.9991, 0.9412, 0.9788, 0.99][i];
  });
  const text = optimizeReportText(report);
  assert.match(text, /agreement ≥ 97% with the original's boxes on 200 images/);
  assert.match(tableLines(text).find((r) => r.startsWith('int8-qdq-minmax '))!, / 94\.1% /);
  const html = optimizeReportHtml(report);
  assert.match(html, /budget: agreement ≥ 97%/);
  assert.equal((svgWith(html, 'Speed vs accuracy').match(/<g class="point">/g) ?? []).length, 5);
});

test('only the original: "original is the best" in text and HTML, no output path', () => {
  const base = fixture();
  const report: OptimizeReport = {
    ...base,
    output: undefined,
    chosen: null,
    verdict: 'No candidate was faster within the accuracy budget.',
    candidates: [base.candidates[0]],
    sensitivity: undefined,
    profiles: undefined,
  };
  const text = optimizeReportText(report);
  assert.match(text, /original is the best/);
  assert.equal(tableLines(text).length, 1);
  assert.doesNotMatch(text, /Most sensitive|Time per op type/);
  const html = optimizeReportHtml(report);
  assert.match(html, /original is the best/);
  assert.match(html, /class="verdict none"/);
  assert.equal((html.match(/<g class="point">/g) ?? []).length, 1);
  assert.equal(html.match(/<svg /g)?.length, 1);
  const back = JSON.parse(optimizeReportJson(report)) as OptimizeReport;
  assert.equal(back.chosen, null);
  assert.ok(!('output' in back) && !('sensitivity' in back), 'absent fields stay absent');
});

test('svg: rangeTicks, scatter labels stay apart, horizontal bars handle negatives', () => {
  assert.deepEqual(rangeTicks(0.361, 0.374, 5), [0.36, 0.365, 0.37, 0.375]);
  assert.deepEqual(rangeTicks(5, 5, 5).length > 1, true);
  const s = scatterChart({
    title: 't',
    points: [
      { label: 'a<b', x: 10, y: 1, color: '#000' },
      { label: 'bbb', x: 10.1, y: 1, color: '#000' },
      { label: 'ccc', x: 10.2, y: 1.001, color: '#000', emphasis: true },
      { label: 'nan', x: NaN, y: 1, color: '#000' },
    ],
    xLabel: 'x',
    yLabel: 'y',
  });
  assert.equal((s.match(/<g class="point">/g) ?? []).length, 3);
  assert.ok(s.includes('>a&lt;b</text>'), 'labels escaped');
  // Three points in one spot: their labels end up at three different places.
  const spots = [...s.matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*>(?:a&lt;b|bbb|ccc)<\/text>/g)].map((m) => `${m[1]},${m[2]}`);
  assert.equal(new Set(spots).size, 3);
  const h = horizontalBarChart({ title: 'h', rows: [{ label: 'x'.repeat(80), value: -12, color: '#111' }, { label: 'b', value: 30, color: '#222' }], xLabel: 'dB' });
  assert.ok(h.includes(`…${'x'.repeat(43)}<title>`), 'long labels keep their end');
  assert.match(h, /text-anchor="end" fill="#222">-12\.0</);
  assert.match(h, /text-anchor="start" fill="#222">30\.0</);
});
