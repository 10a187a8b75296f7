/**
 * The decision rule of `tearless optimize`, kept pure so it can be tested on its own: the
 * fastest candidate that keeps accuracy within the budget and is faster than the original by
 * more than measurement noise; otherwise nothing (the original is the best).
 */
import type { CandidateResult } from '../types.js';

export type AccuracyGuard = { kind: 'map'; maxMapDrop: number } | { kind: 'agreement'; minAgreement: number };

/**
 * A candidate must beat the original by at least this ratio of model-only FPS: side-by-side
 * medians on this kind of shared VM still wobble by ±2–3 %, and a "faster" model inside that
 * band is not faster.
 */
export const MIN_SPEEDUP = 1.03;

export interface Decision {
  chosen: CandidateResult | null;
  /** Why each non-chosen candidate was not taken (id → reason). */
  rejected: Map<string, string>;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Why `c` is not acceptable, or null when it is. */
export function rejectionReason(original: CandidateResult, c: CandidateResult, guard: AccuracyGuard, minSpeedup = MIN_SPEEDUP): string | null {
  if (c.error) return `failed: ${c.error.message}`;
  if (c.kind === 'reference') return 'reference model (measured for comparison, never chosen)';
  if (c.threads !== original.threads) return `measured at ${c.threads} threads for comparison (the decision is made at ${original.threads})`;
  if (guard.kind === 'map') {
    if (c.map === undefined || original.map === undefined) return 'mAP not measured';
    const drop = original.map - c.map;
    if (drop > guard.maxMapDrop + 1e-12) return `mAP ${c.map.toFixed(3)} is ${drop.toFixed(3)} below the original (budget ${guard.maxMapDrop})`;
  } else {
    if (c.agreement === undefined) return 'agreement not measured';
    if (c.agreement < guard.minAgreement) return `agreement ${pct(c.agreement)} < ${pct(guard.minAgreement)}`;
  }
  if (c.speedup === undefined) return 'speed not measured';
  if (c.speedup < minSpeedup) return `not faster: ×${c.speedup.toFixed(3)} model-only (needs ≥ ×${minSpeedup.toFixed(2)}, beyond measurement noise)`;
  // The median can be lifted by one lucky run; every run must at least not be slower.
  const slowRun = c.speedupRuns?.find((r) => r < 1);
  if (slowRun !== undefined) return `not reliably faster: runs ${c.speedupRuns!.map((r) => `×${r.toFixed(2)}`).join(', ')}`;
  if (c.endToEndSpeedup !== undefined && c.endToEndSpeedup < 1 / minSpeedup) return `slower end to end: ×${c.endToEndSpeedup.toFixed(2)}`;
  return null;
}

/** Pick the fastest acceptable candidate (ties: the smaller file), or none. */
export function decide(original: CandidateResult, candidates: readonly CandidateResult[], guard: AccuracyGuard, minSpeedup = MIN_SPEEDUP): Decision {
  const rejected = new Map<string, string>();
  const acceptable: CandidateResult[] = [];
  for (const c of candidates) {
    if (c.id === original.id) continue;
    const reason = rejectionReason(original, c, guard, minSpeedup);
    if (reason) rejected.set(c.id, reason);
    else acceptable.push(c);
  }
  acceptable.sort((a, b) => b.speedup! - a.speedup! || (a.sizeBytes ?? Infinity) - (b.sizeBytes ?? Infinity));
  const chosen = acceptable[0] ?? null;
  for (const c of acceptable.slice(1)) rejected.set(c.id, `slower than ${chosen!.id} (×${c.speedup!.toFixed(2)} vs ×${chosen!.speedup!.toFixed(2)})`);
  return { chosen, rejected };
}
