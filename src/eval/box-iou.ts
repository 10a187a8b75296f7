/**
 * Box IoU exactly as pycocotools' `maskUtils.iou` computes it for boxes (maskApi.c `bbIou`):
 * `[x, y, w, h]` boxes with no "+1" pixel convention; against a crowd region the union is the
 * detection's own area, so a detection lying inside a crowd scores 1 however big the crowd is.
 */

/**
 * IoU of every detection with every ground-truth box, row-major `[d * G + g]`.
 * @param dt detection boxes, flat `[x, y, w, h, …]`, D = dt.length / 4
 * @param gt ground-truth boxes, flat, G = gt.length / 4
 * @param crowd per ground-truth box: 1 for a crowd region
 */
export function bboxIou(dt: ArrayLike<number>, gt: ArrayLike<number>, crowd: ArrayLike<number>, out?: Float64Array): Float64Array {
  const D = dt.length / 4;
  const G = gt.length / 4;
  const o = out ?? new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const gx = gt[4 * g], gy = gt[4 * g + 1], gw = gt[4 * g + 2], gh = gt[4 * g + 3];
    const ga = gw * gh;
    const isCrowd = crowd[g] !== 0;
    for (let d = 0; d < D; d++) {
      const dx = dt[4 * d], dy = dt[4 * d + 1], dw = dt[4 * d + 2], dh = dt[4 * d + 3];
      const da = dw * dh;
      o[d * G + g] = 0;
      // Same operation order as the C code, so the doubles come out identical.
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const i = w * h;
      const u = isCrowd ? da : da + ga - i;
      o[d * G + g] = i / u;
    }
  }
  return o;
}
