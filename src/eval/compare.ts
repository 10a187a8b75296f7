/**
 * Box-level comparison of two detection sets on the same image — the tool to find a
 * pre-processing mismatch after export (BGR vs RGB, letterbox vs stretch, a different resize):
 * boxes are matched one-to-one by class and IoU, highest scores first, and what does not
 * match is reported as missing (in A only) or extra (in B only).
 */
import type { Detection } from '../core/types.js';
import { iou } from '../core/iou.js';

export interface BoxPair {
  a: Detection;
  b: Detection;
  iou: number;
  /** b.score − a.score */
  scoreDelta: number;
}

export interface ImageComparison {
  pairs: BoxPair[];
  /** Boxes of A with no counterpart in B. */
  missing: Detection[];
  /** Boxes of B with no counterpart in A. */
  extra: Detection[];
}

export interface CompareOptions {
  /** Minimum IoU for two boxes to count as the same object (default 0.5). */
  iou?: number;
}

/** Greedy one-to-one matching by descending score of A; same class only. */
export function compareDetections(a: readonly Detection[], b: readonly Detection[], opts: CompareOptions = {}): ImageComparison {
  const thr = opts.iou ?? 0.5;
  const orderA = [...a].sort((x, y) => y.score - x.score);
  const used = new Uint8Array(b.length);
  const pairs: BoxPair[] = [];
  const missing: Detection[] = [];
  for (const da of orderA) {
    let best = -1;
    let bestIou = thr;
    for (let j = 0; j < b.length; j++) {
      if (used[j] || b[j].classId !== da.classId) continue;
      const v = iou(da.box, b[j].box);
      if (v >= bestIou) {
        bestIou = v;
        best = j;
      }
    }
    if (best < 0) {
      missing.push(da);
    } else {
      used[best] = 1;
      pairs.push({ a: da, b: b[best], iou: bestIou, scoreDelta: b[best].score - da.score });
    }
  }
  const extra = b.filter((_, j) => !used[j]);
  return { pairs, missing, extra };
}

export interface ComparisonSummary {
  images: number;
  boxesA: number;
  boxesB: number;
  matched: number;
  missing: number;
  extra: number;
  /** Share of A's boxes found in B. */
  recallOfA: number;
  meanIou: number;
  /** Share of matched pairs with IoU ≥ 0.9 (what "the same box" means for parity). */
  pairsAtIou90: number;
  meanAbsScoreDelta: number;
  maxAbsScoreDelta: number;
}

export function summarize(results: readonly ImageComparison[]): ComparisonSummary {
  let matched = 0, missing = 0, extra = 0, iouSum = 0, at90 = 0, deltaSum = 0, deltaMax = 0;
  for (const r of results) {
    matched += r.pairs.length;
    missing += r.missing.length;
    extra += r.extra.length;
    for (const p of r.pairs) {
      iouSum += p.iou;
      if (p.iou >= 0.9) at90++;
      const d = Math.abs(p.scoreDelta);
      deltaSum += d;
      if (d > deltaMax) deltaMax = d;
    }
  }
  const boxesA = matched + missing;
  return {
    images: results.length,
    boxesA,
    boxesB: matched + extra,
    matched,
    missing,
    extra,
    recallOfA: boxesA ? matched / boxesA : 1,
    meanIou: matched ? iouSum / matched : 0,
    pairsAtIou90: matched ? at90 / matched : 0,
    meanAbsScoreDelta: matched ? deltaSum / matched : 0,
    maxAbsScoreDelta: deltaMax,
  };
}
