/** Plain-text tables of a bench report, for the terminal. */
import path from 'node:path';
import pc from 'picocolors';
import { formatFingerprint } from './fingerprint.js';
import type { BenchReport, BenchResult, LoadReport, SkippedConfig } from './types.js';

/** Right-aligned columns (the first `leftAligned` columns left-aligned), two spaces apart. */
export function table(header: string[], rows: string[][], leftAligned = 0): string[] {
  // Widths from the visible text: cells may carry colour codes.
  // eslint-disable-next-line no-control-regex
  const visible = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const pad = (c: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, widths[i] - visible(c)));
    return i < leftAligned ? c + fill : fill + c;
  };
  const fmt = (cells: string[]): string => cells.map(pad).join('  ').trimEnd();
  return [pc.dim(fmt(header)), ...rows.map(fmt)];
}

/** A number for a table cell: fixed digits, "–" for missing. */
export function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

const byModel = <T extends { model: string }>(items: readonly T[]): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const it of items) m.set(it.model, [...(m.get(it.model) ?? []), it]);
  return m;
};

/** The results table of one model (also printed as each group finishes). */
export function formatResultRows(results: readonly BenchResult[]): string[] {
  const header = ['threads', 'streams', 'batch', 'model-only img/s', 'p50', 'p99', 'end-to-end img/s', 'p50', 'p90', 'p99', 'max', 'ratio', 'cold start', 'RSS MB'];
  const rows = results.map((r) => [
    String(r.threads),
    String(r.streams),
    String(r.batch),
    num(r.modelOnly.fps),
    num(r.modelOnly.p50Ms),
    num(r.modelOnly.p99Ms),
    num(r.endToEnd.fps),
    num(r.endToEnd.p50Ms),
    num(r.endToEnd.p90Ms),
    num(r.endToEnd.p99Ms),
    num(r.endToEnd.maxMs),
    pc.bold(num(r.ratio, 3)),
    num(r.coldStartMs, 0),
    num(r.rssMb, 0),
  ]);
  return table(header, rows);
}

/** Stage means and per-run spread of one model's results. */
export function formatStageRows(results: readonly BenchResult[]): string[] {
  const header = ['threads', 'streams', 'batch', 'decode', 'preprocess', 'queue', 'infer', 'postprocess', 'ratio per run', 'end-to-end img/s per run'];
  const rows = results.map((r) => {
    const s = r.endToEnd.stagesMs;
    return [String(r.threads), String(r.streams), String(r.batch), num(s.decode, 2), num(s.preprocess, 2), num(s.queue, 2), num(s.infer, 2), num(s.postprocess, 2), r.ratioRuns.map((x) => num(x, 3)).join(' '), r.endToEnd.fpsRuns.map((x) => num(x)).join(' ')];
  });
  return table(header, rows);
}

/** Skipped configurations, one line per model × batch × reason. */
export function formatSkipped(skipped: readonly SkippedConfig[]): string[] {
  const seen = new Map<string, SkippedConfig[]>();
  for (const s of skipped) {
    const key = `${s.model}\u0000${s.batch}\u0000${s.reason}`;
    seen.set(key, [...(seen.get(key) ?? []), s]);
  }
  return [...seen.values()].map((list) => {
    const s = list[0];
    const where = list.map((x) => `${x.threads}×${x.streams}`).join(', ');
    return `${pc.yellow('skipped')} ${path.basename(s.model)} batch ${s.batch} (threads×streams ${where}): ${s.reason}`;
  });
}

/** The whole report as text. */
export function formatBenchReport(report: BenchReport): string {
  const { settings } = report;
  const out = [
    pc.bold('tearless bench'),
    ...formatFingerprint(report.machine).map((l) => pc.dim(l)),
    pc.dim(`${settings.images} images from ${settings.imagesFrom}; ${settings.runs} run(s) × ${settings.durationS} s per measurement; ${settings.note}`),
    '',
  ];
  for (const [model, results] of byModel(report.results)) {
    out.push(pc.bold(model), ...formatResultRows(results), '', pc.dim('end-to-end stage means (ms per image, wall time; stages of different images overlap)'), ...formatStageRows(results), '');
  }
  out.push(...formatSkipped(report.skipped));
  out.push(pc.dim('latencies in ms (model-only: one session.run of the batch; end-to-end: one detect call incl. waiting for a stream); ratio = end-to-end img/s ÷ model-only img/s; cold start = Detector.load + first detect (ms); RSS = peak of the bench process with both measurements loaded'));
  return out.join('\n') + '\n';
}

/** Load-mode report as text. */
export function formatLoadReport(report: LoadReport): string {
  const header = ['concurrency', 'req/s', 'p50', 'p90', 'p99', 'max', 'ok', 'errors'];
  const rows = report.results.map((r) => {
    const errs = Object.entries(r.errors).map(([k, n]) => `${k}×${n}`).join(' ') || '0';
    return [String(r.concurrency), num(r.rps), num(r.p50Ms), num(r.p90Ms), num(r.p99Ms), num(r.maxMs), String(r.ok), errs];
  });
  return [
    pc.bold(`tearless bench --url ${report.url}`),
    ...formatFingerprint(report.machine).map((l) => pc.dim(l)),
    pc.dim(`${report.settings.images} images from ${report.settings.imagesFrom}; ${report.settings.durationS} s per concurrency level; latencies of successful requests, ms`),
    '',
    ...table(header, rows),
  ].join('\n') + '\n';
}
