/**
 * What a user reads after an evaluation: the 12 COCO numbers, per-class AP and the
 * precision/recall curves (for plots), built on the pycocotools-exact tables of cocoeval.ts.
 * Isomorphic: no Node APIs.
 */
import {
  accumulate, evaluate, formatSummary, primaryMaxDets, summarize,
  type Accumulation, type CocoEvalParams, type Evaluation, type SummaryStat,
} from './cocoeval.js';
import { badOption } from './errors.js';
import { meanOfValid } from './numeric.js';
import type { CocoDetection, CocoGroundTruth } from './types.js';

/** Per-category results (area "all"). AP/AR are -1 for a category without ground truth. */
export interface ClassResult {
  categoryId: number;
  name: string;
  /** Ground truths that count (not crowd, not ignored). */
  numGt: number;
  /** Detections of this category on the evaluated images, before the maxDets cap. */
  numDet: number;
  /** AP@[.50:.95], maxDets 100 (as COCO's headline number). */
  ap: number;
  ap50: number;
  ap75: number;
  /** AR@[.50:.95] at the largest maxDets. */
  ar: number;
}

/** A COCO-style precision/recall curve: interpolated precision at each recall threshold. */
export interface PrCurve {
  categoryId: number;
  name: string;
  iouThr: number;
  area: string;
  maxDets: number;
  /** The recall thresholds (x axis), 0…1 in 101 steps by default. */
  recall: number[];
  /** Interpolated precision at each recall threshold; 0 past the highest recall reached; all -1 without ground truth. */
  precision: number[];
  /** Score threshold reaching each recall point (0 past the highest recall). */
  scores: number[];
}

/** Everything {@link cocoEvaluate} returns. */
export interface CocoEvalResult {
  /** The 12 numbers in pycocotools order. */
  stats: SummaryStat[];
  /** pycocotools' printed summary lines. */
  summary: string[];
  perClass: ClassResult[];
  evaluation: Evaluation;
  accumulation: Accumulation;
}

/**
 * evaluate → accumulate → summarize in one call, plus per-class results.
 * @param gt ground truth (a {@link Dataset} works as is)
 * @param detections COCO results: `{ image_id, category_id, bbox: [x, y, w, h], score }`
 * @param params overrides of the pycocotools defaults
 */
export function cocoEvaluate(gt: CocoGroundTruth, detections: readonly CocoDetection[], params: Partial<CocoEvalParams> = {}): CocoEvalResult {
  const evaluation = evaluate(gt, detections, params);
  const accumulation = accumulate(evaluation);
  const stats = summarize(accumulation);
  return {
    stats,
    summary: formatSummary(stats, accumulation.params.iouThrs),
    perClass: perClassResults(gt, evaluation, accumulation),
    evaluation,
    accumulation,
  };
}

/** Per-category AP, AP50, AP75 and AR (area "all"), in `params.catIds` order. */
export function perClassResults(gt: CocoGroundTruth, ev: Evaluation, acc: Accumulation): ClassResult[] {
  const p = acc.params;
  const [T, R, K, A, M] = acc.counts;
  const a = areaIndex(p, 'all');
  const mAp = p.maxDets.indexOf(primaryMaxDets(p));
  const mAr = M - 1;
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const t50 = p.iouThrs.indexOf(0.5), t75 = p.iouThrs.indexOf(0.75);
  const apOver = (k: number, ts: number[]): number => {
    if (ts.some((t) => t < 0)) return -1;
    const v: number[] = [];
    for (const t of ts) for (let r = 0; r < R; r++) v.push(acc.precision[(((t * R + r) * K + k) * A + a) * M + mAp]);
    return meanOfValid(v);
  };
  const allT = Array.from({ length: T }, (_, t) => t);
  return p.catIds.map((categoryId, k) => {
    const rec: number[] = [];
    for (let t = 0; t < T; t++) rec.push(acc.recall[((t * K + k) * A + a) * M + mAr]);
    return {
      categoryId,
      name: names.get(categoryId) ?? String(categoryId),
      numGt: ev.numGt[k],
      numDet: ev.numDet[k],
      ap: apOver(k, allT),
      ap50: apOver(k, [t50]),
      ap75: apOver(k, [t75]),
      ar: meanOfValid(rec),
    };
  });
}

/**
 * Per-category precision/recall curves at one IoU threshold (COCO's 101-point, interpolated).
 * @param options iouThr (default 0.5; must be one of `params.iouThrs`), area label (default
 *   "all"), maxDets (default the largest)
 */
export function precisionRecallCurves(gt: CocoGroundTruth, acc: Accumulation, options: { iouThr?: number; area?: string; maxDets?: number } = {}): PrCurve[] {
  const p = acc.params;
  const [, R, K, A, M] = acc.counts;
  const iouThr = options.iouThr ?? 0.5;
  // Tolerate 0.9 for pycocotools' 0.8999999999999999.
  const t = p.iouThrs.findIndex((v) => Math.abs(v - iouThr) < 1e-9);
  if (t < 0) throw badOption(`iouThr ${iouThr} is not one of the evaluated IoU thresholds (${p.iouThrs.join(', ')}).`);
  const area = options.area ?? 'all';
  const a = areaIndex(p, area);
  const maxDets = options.maxDets ?? p.maxDets[M - 1];
  const m = p.maxDets.indexOf(maxDets);
  if (m < 0) throw badOption(`maxDets ${maxDets} is not one of the evaluated maxDets (${p.maxDets.join(', ')}).`);
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  return p.catIds.map((categoryId, k) => {
    const precision: number[] = [], scores: number[] = [];
    for (let r = 0; r < R; r++) {
      const at = (((t * R + r) * K + k) * A + a) * M + m;
      precision.push(acc.precision[at]);
      scores.push(acc.scores[at]);
    }
    return { categoryId, name: names.get(categoryId) ?? String(categoryId), iouThr: p.iouThrs[t], area, maxDets, recall: [...p.recThrs], precision, scores };
  });
}

function areaIndex(p: CocoEvalParams, label: string): number {
  const a = p.areaRanges.findIndex((r) => r.label === label);
  if (a < 0) throw badOption(`Area range "${label}" is not evaluated (${p.areaRanges.map((r) => r.label).join(', ')}).`);
  return a;
}
