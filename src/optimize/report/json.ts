/**
 * `tearless optimize --json`: the report as pretty JSON with a fixed key order (the order the
 * types declare; keys this file does not know follow in their own order), numbers rounded to
 * what the measurement can tell, and no undefined, NaN or Infinity (those keys are left out,
 * as the types leave out a measurement that failed).
 */
import type { OptimizeReport } from '../types.js';

/** Key order of every object in the report, by where the key appears. */
const KEY_ORDER = [
  // report
  'model', 'output', 'chosen', 'verdict', 'guard', 'calibration', 'machine', 'candidates', 'sensitivity', 'profiles', 'durationMs',
  // guard, calibration
  'kind', 'maxMapDrop', 'minAgreement', 'images', 'dataset', 'folder', 'method',
  // candidate
  'id', 'description', 'threads', 'file', 'sizeBytes', 'modelFps', 'endToEndFps', 'latencyMs', 'map', 'mapDrop', 'agreement', 'speedup', 'quantizedNodes', 'floatNodes', 'rejected', 'error', 'code', 'message',
  // sensitivity, profiles
  'node', 'opType', 'sqnrDb', 'keptFloat', 'candidate', 'ops', 'nodes', 'msPerRun', 'share',
];
const RANK = new Map(KEY_ORDER.map((k, i) => [k, i]));

/** Decimal places per numeric key; 0 = whole number. Unknown keys keep 6 significant digits. */
const DIGITS: Record<string, number> = {
  durationMs: 0,
  images: 0,
  threads: 0,
  sizeBytes: 0,
  quantizedNodes: 0,
  floatNodes: 0,
  nodes: 0,
  maxMapDrop: 4,
  minAgreement: 4,
  modelFps: 2,
  endToEndFps: 2,
  latencyMs: 3,
  map: 4,
  mapDrop: 4,
  agreement: 4,
  speedup: 3,
  sqnrDb: 2,
  msPerRun: 4,
  share: 4,
};

function roundNumber(v: number, key: string | undefined): number {
  const d = key === undefined ? undefined : DIGITS[key];
  if (d !== undefined) return Number(v.toFixed(d)) + 0; // + 0 turns -0 into 0
  return Number.isInteger(v) ? v : Number(v.toPrecision(6)) + 0;
}

/** A JSON-ready copy: ordered keys, rounded numbers; undefined / non-finite dropped from objects, null in arrays. */
function clean(value: unknown, key?: string): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? roundNumber(value, key) : undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => clean(v, key) ?? null);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v], i) => ({ k, v: clean(v, k), rank: RANK.get(k) ?? KEY_ORDER.length + i }))
      .filter((e) => e.v !== undefined)
      .sort((a, b) => a.rank - b.rank);
    return Object.fromEntries(entries.map((e) => [e.k, e.v]));
  }
  return undefined; // functions, symbols, bigint: not part of a report
}

/** The report as pretty-printed JSON (two-space indent, no trailing newline). */
export function optimizeReportJson(report: OptimizeReport): string {
  return JSON.stringify(clean(report), null, 2);
}
