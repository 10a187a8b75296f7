/**
 * The terminal report of `tearless optimize`: settings, one row per candidate, the verdict,
 * the most sensitive layers and where the time goes per op type. Also the cell formatting the
 * HTML report shares (statuses, accuracy with its change against the original, sizes).
 */
import pc from 'picocolors';
import type { CandidateResult, OpTypeTime, OptimizeReport } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Shared with the HTML report.

/** "–" for a missing or non-finite number, else fixed digits. */
export function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** Collapse whitespace (messages may span lines) and cut to `max` characters with "…". */
export function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, Math.max(1, max - 1)).trimEnd()}…` : one;
}

/** The original model's row (kind `original`), if it was measured. */
export function originalOf(report: OptimizeReport): CandidateResult | undefined {
  return report.candidates.find((c) => c.kind === 'original');
}

export type StatusKind = 'chosen' | 'original' | 'rejected' | 'error' | 'other';

/** What became of a candidate: an error wins over everything, then chosen, rejected, original. */
export function candidateStatus(report: OptimizeReport, c: CandidateResult): { kind: StatusKind; text: string } {
  if (c.error) return { kind: 'error', text: `error: ${c.error.code} ${c.error.message}` };
  if (report.chosen !== null && c.id === report.chosen) return { kind: 'chosen', text: 'chosen' };
  if (c.rejected !== undefined) return { kind: 'rejected', text: `rejected: ${c.rejected}` };
  if (c.kind === 'original') return { kind: 'original', text: 'original' };
  return { kind: 'other', text: 'not chosen' };
}

/** "mAP drop ≤ 0.01 on 500 images of coco-val" / "agreement ≥ 97% with the original's boxes on 200 images". */
export function guardText(guard: OptimizeReport['guard']): string {
  if (guard.kind === 'map') return `mAP drop ≤ ${+guard.maxMapDrop.toFixed(4)} on ${guard.images} images of ${guard.dataset}`;
  return `agreement ≥ ${pct(guard.minAgreement)} with the original's boxes on ${guard.images} images`;
}

/** "200 images from calib/ · entropy, percentile" */
export function calibrationText(cal: OptimizeReport['calibration']): string {
  return `${cal.images} images from ${cal.folder} · ${cal.method.length ? cal.method.join(', ') : 'no method'}`;
}

/** A share 0..1 as a percentage with as few digits as it needs: 0.97 → "97%", 0.975 → "97.5%". */
export function pct(share: number, digits = 1): string {
  if (!Number.isFinite(share)) return '–';
  return `${+(share * 100).toFixed(digits)}%`;
}

/** Signed difference with a real minus sign; rounds to "±0.000" rather than "-0.000". */
export function signed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '–';
  const s = Math.abs(v).toFixed(digits);
  if (Number(s) === 0) return `±${s}`;
  return `${v < 0 ? '−' : '+'}${s}`;
}

/** The accuracy cell: mAP with its change against the original, or the agreement in %. */
export function accuracyCell(report: OptimizeReport, c: CandidateResult): string {
  if (report.guard.kind === 'agreement') return c.agreement === undefined ? '–' : pct(c.agreement);
  if (c.map === undefined || !Number.isFinite(c.map)) return '–';
  if (c.kind === 'original') return c.map.toFixed(3);
  // The search's own drop when it gives one, else the difference to the original's row.
  if (c.mapDrop !== undefined && Number.isFinite(c.mapDrop)) return `${c.map.toFixed(3)} (${signed(-c.mapDrop, 3)})`;
  const orig = originalOf(report);
  if (!orig || orig.map === undefined || !Number.isFinite(orig.map)) return c.map.toFixed(3);
  return `${c.map.toFixed(3)} (${signed(c.map - orig.map, 3)})`;
}

/** Megabytes (10⁶ bytes), one decimal below 100. */
export function sizeMb(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  const mb = bytes / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb.toFixed(1);
}

/** "61/3" quantized/float nodes; "–" for candidates that were not quantized. */
export function nodesCell(c: CandidateResult): string {
  if (c.quantizedNodes === undefined && c.floatNodes === undefined) return '–';
  return `${c.quantizedNodes ?? '–'}/${c.floatNodes ?? '–'}`;
}

export function speedupCell(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`;
}

/** Latencies below 10 ms get two decimals, longer ones one. */
export function msCell(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
}

/** "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const min = Math.round(whole / 60);
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The chosen candidate's row, if the report names one that is present. */
export function chosenOf(report: OptimizeReport): CandidateResult | undefined {
  return report.chosen === null ? undefined : report.candidates.find((c) => c.id === report.chosen);
}

/** One line: what was chosen (speed-up, accuracy) and where it went, or that the original stays. */
export function headline(report: OptimizeReport): string {
  const c = chosenOf(report);
  if (report.chosen === null) return 'none — the original is the best within the accuracy budget';
  if (!c) return `${report.chosen}${report.output ? ` → ${report.output}` : ''}`;
  const bits = [c.speedup !== undefined ? `${speedupCell(c.speedup)} model img/s` : '', accuracyCell(report, c) !== '–' ? `${report.guard.kind === 'map' ? 'mAP' : 'agreement'} ${accuracyCell(report, c)}` : ''].filter(Boolean);
  return `${c.id}${bits.length ? ` (${bits.join(', ')})` : ''}${report.output ? ` → ${report.output}` : ''}`;
}

/** Op types sorted by time, the tail beyond `top` folded into one "(n other op types)" row. */
export function topOps(ops: readonly OpTypeTime[], top: number): OpTypeTime[] {
  const sorted = [...ops].sort((a, b) => (Number.isFinite(b.msPerRun) ? b.msPerRun : -1) - (Number.isFinite(a.msPerRun) ? a.msPerRun : -1));
  if (sorted.length <= top + 1) return sorted;
  const rest = sorted.slice(top);
  const sum = (k: 'nodes' | 'msPerRun' | 'share'): number => rest.reduce((s, o) => s + (Number.isFinite(o[k]) ? o[k] : 0), 0);
  return [...sorted.slice(0, top), { opType: `(${rest.length} other op types)`, nodes: sum('nodes'), msPerRun: sum('msPerRun'), share: sum('share') }];
}

/** Sensitivity worst first (lowest SQNR), whatever order it came in. */
export function worstLayers(report: OptimizeReport, count: number): NonNullable<OptimizeReport['sensitivity']> {
  return [...(report.sensitivity ?? [])].sort((a, b) => (Number.isFinite(a.sqnrDb) ? a.sqnrDb : -Infinity) - (Number.isFinite(b.sqnrDb) ? b.sqnrDb : -Infinity)).slice(0, count);
}

// ---------------------------------------------------------------------------------------------
// Text.

// Colour codes do not count towards a column's width.
// eslint-disable-next-line no-control-regex
const visible = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Columns two spaces apart; `left[i]` left-aligns column i, the rest are right-aligned. */
function table(header: string[], rows: string[][], left: boolean[], dim: (s: string) => string): string[] {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const pad = (c: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, widths[i] - visible(c)));
    return left[i] ? c + fill : fill + c;
  };
  const line = (cells: string[]): string => cells.map(pad).join('  ').trimEnd();
  return [dim(line(header)), ...rows.map(line)];
}

const DESCRIPTION_CHARS = 44;
const STATUS_CHARS = 160;
const NODE_CHARS = 48;

/** What the columns measure: two dim lines under the candidate table. */
function notes(report: OptimizeReport, dim: (s: string) => string): string[] {
  const threads = [...new Set(report.candidates.map((x) => x.threads))].sort((a, b) => a - b);
  return [
    dim(`model img/s: session.run on a fixed tensor (${threads.join('/')} intra-op thread${threads.length === 1 && threads[0] === 1 ? '' : 's'}), median of runs; speed-up against the original in the same run`),
    dim(
      'e2e: encoded image → boxes; latency: one image, model-only; ' +
        (report.guard.kind === 'map' ? 'Δ: mAP@[.5:.95] change against the original' : "agreement: share of the original's boxes matched by class and IoU ≥ 0.9"),
    ),
  ];
}

/** The whole report as text for the terminal (no trailing newline); colours only when `opts.color`. */
export function optimizeReportText(report: OptimizeReport, opts: { color?: boolean } = {}): string {
  const c = pc.createColors(opts.color === true);
  const out: string[] = [`${c.bold('tearless optimize')}  ${report.model}`];
  const kv = (k: string, v: string): string => `${c.dim(k.padEnd(12))} ${v}`;
  out.push(kv('guard', guardText(report.guard)), kv('calibration', calibrationText(report.calibration)));
  report.machine.forEach((line, i) => out.push(kv(i === 0 ? 'machine' : '', line)));
  out.push(kv('took', duration(report.durationMs)), '');

  const accHeader = report.guard.kind === 'map' ? 'mAP (Δ)' : 'agreement';
  const header = ['id', 'description', 'model img/s', 'speed-up', 'e2e img/s', 'latency ms', accHeader, 'size MB', 'int8/float', 'status'];
  const left = [true, true, false, false, false, false, false, false, false, true];
  const paint = { chosen: (s: string) => c.green(c.bold(s)), rejected: c.yellow, error: c.red, original: c.cyan, other: (s: string) => s };
  const rows = report.candidates.map((cand) => {
    const st = candidateStatus(report, cand);
    return [
      st.kind === 'chosen' ? c.green(c.bold(cand.id)) : cand.id,
      clip(cand.description, DESCRIPTION_CHARS),
      num(cand.modelFps),
      speedupCell(cand.speedup),
      num(cand.endToEndFps),
      msCell(cand.latencyMs),
      accuracyCell(report, cand),
      sizeMb(cand.sizeBytes),
      nodesCell(cand),
      paint[st.kind](clip(st.text, STATUS_CHARS)),
    ];
  });
  if (rows.length === 0) out.push('no candidate was built', '');
  else out.push(...table(header, rows, left, c.dim), ...notes(report, c.dim), '');

  out.push(`${c.bold('chosen ')} ${report.chosen === null ? c.cyan(headline(report)) : c.green(headline(report))}`);
  out.push(`${c.bold('verdict')} ${report.verdict}`);

  const worst = worstLayers(report, 10);
  if (worst.length) {
    const all = report.sensitivity ?? [];
    const kept = all.filter((l) => l.keptFloat).length;
    out.push('', c.bold(`Most sensitive layers (${worst.length} worst of ${all.length}; ${kept} kept in float)`));
    out.push(...table(['node', 'op', 'SQNR dB', 'kept float'], worst.map((l) => [clip(l.node, NODE_CHARS), l.opType, num(l.sqnrDb), l.keptFloat ? c.yellow('yes') : 'no']), [true, true, false, true], c.dim));
  }
  for (const prof of (report.profiles ?? []).filter((p) => p.ops.length > 0)) {
    const ops = topOps(prof.ops, 12);
    const total = prof.ops.reduce((s, o) => s + (Number.isFinite(o.msPerRun) ? o.msPerRun : 0), 0);
    out.push('', c.bold(`Time per op type: ${prof.candidate}`) + c.dim(` (${num(total, 2)} ms per run in ${prof.ops.reduce((s, o) => s + o.nodes, 0)} nodes)`));
    out.push(...table(['op', 'nodes', 'ms/run', 'share %'], ops.map((o) => [o.opType, String(o.nodes), num(o.msPerRun, 3), num(o.share * 100, 1)]), [true, false, false, false], c.dim));
  }
  return out.join('\n');
}
