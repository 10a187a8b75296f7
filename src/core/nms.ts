/**
 * Greedy non-maximum suppression on typed arrays. Class-aware by default (boxes of
 * different classes never suppress each other), class-agnostic on request. Boxes are xyxy;
 * IoU uses continuous areas (no +1), as torchvision and onnxruntime's NMS do.
 */
import type { Candidates } from './candidates.js';

export interface NmsOptions {
  iou: number;
  maxDet: number;
  agnostic?: boolean;
  /** Upper bound on candidates entering NMS, highest scores first (Ultralytics uses 30000). */
  maxCandidates?: number;
}

/** Return the indices of the kept candidates, by descending score. */
export function nms(c: Candidates, opts: NmsOptions): Int32Array {
  const n = c.count;
  const order = sortByScore(c.scores, n);
  const limit = Math.min(n, opts.maxCandidates ?? 30000);
  const keep = new Int32Array(Math.min(limit, opts.maxDet));
  let kept = 0;
  const b = c.boxes;
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    areas[i] = Math.max(0, b[o + 2] - b[o]) * Math.max(0, b[o + 3] - b[o + 1]);
  }
  const thr = opts.iou;
  const agnostic = opts.agnostic === true;
  for (let r = 0; r < limit && kept < keep.length; r++) {
    const i = order[r];
    const oi = i * 4;
    const x1 = b[oi], y1 = b[oi + 1], x2 = b[oi + 2], y2 = b[oi + 3];
    const ci = c.classIds[i];
    let suppressed = false;
    for (let k = 0; k < kept; k++) {
      const j = keep[k];
      if (!agnostic && c.classIds[j] !== ci) continue;
      const oj = j * 4;
      const w = Math.min(x2, b[oj + 2]) - Math.max(x1, b[oj]);
      if (w <= 0) continue;
      const h = Math.min(y2, b[oj + 3]) - Math.max(y1, b[oj + 1]);
      if (h <= 0) continue;
      const inter = w * h;
      const union = areas[i] + areas[j] - inter;
      if (union > 0 && inter / union > thr) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) keep[kept++] = i;
  }
  return keep.subarray(0, kept);
}

/** Indices 0..n-1 sorted by descending score (stable for ties: lower index first). */
export function sortByScore(scores: Float32Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}
