/**
 * Box IoU exactly as pycocotools' `maskUtils.iou` computes it for boxes (maskApi.c `bbIou`):
 * `[x, y, w, h]` boxes with no "+1" pixel convention, the same operations in the same order
 * (so the doubles come out identical); against a crowd region the union is the detection's
 * own area, so a detection lying inside a crowd scores 1 however big the crowd is.
 * Isomorphic: no Node APIs.
 */

/**
 * IoU of detections × ground truth picked by index from flat box stores, written row-major
 * into `out[d * G + g]` (the evaluator's allocation-free form).
 * @param dtBoxes flat `[x, y, w, h, …]`; `dtIdx[0..D)` selects and orders the rows
 * @param gtBoxes flat boxes; `gtIdx[0..G)` selects and orders the columns
 * @param gtCrowd crowd flag per ground-truth box, indexed like gtBoxes
 */
export function bboxIouInto(
  dtBoxes: ArrayLike<number>, dtIdx: ArrayLike<number>, D: number,
  gtBoxes: ArrayLike<number>, gtIdx: ArrayLike<number>, G: number,
  gtCrowd: ArrayLike<number>, out: Float64Array,
): void {
  for (let x = 0; x < G; x++) {
    const a = gtIdx[x];
    const gx = gtBoxes[4 * a], gy = gtBoxes[4 * a + 1], gw = gtBoxes[4 * a + 2], gh = gtBoxes[4 * a + 3];
    const ga = gw * gh, crowd = gtCrowd[a] !== 0;
    for (let y = 0; y < D; y++) {
      const b = dtIdx[y];
      const dx = dtBoxes[4 * b], dy = dtBoxes[4 * b + 1], dw = dtBoxes[4 * b + 2], dh = dtBoxes[4 * b + 3];
      const da = dw * dh;
      let v = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w > 0) {
        const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
        if (h > 0) {
          const i = w * h;
          v = i / (crowd ? da : da + ga - i);
        }
      }
      out[y * G + x] = v;
    }
  }
}

/**
 * IoU of every detection with every ground-truth box, row-major `[d * G + g]`.
 * @param dt detection boxes `[x, y, w, h]`
 * @param gt ground-truth boxes `[x, y, w, h]`
 * @param crowd per ground-truth box: true/1 for a crowd region (default none)
 */
export function bboxIou(dt: readonly (readonly number[])[], gt: readonly (readonly number[])[], crowd: readonly (number | boolean)[] = []): Float64Array {
  const out = new Float64Array(dt.length * gt.length);
  const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  bboxIouInto(dt.flat(), iota(dt.length), dt.length, gt.flat(), iota(gt.length), gt.length, gt.map((_, i) => (crowd[i] ? 1 : 0)), out);
  return out;
}
