/**
 * Bounding-box evaluation that reproduces pycocotools' COCOeval (`iouType='bbox'`):
 * {@link evaluate} → {@link accumulate} → {@link summarize}, with the same parameters, the same
 * greedy matching, the same interpolation and the same numpy arithmetic, so the 12 numbers agree
 * with pycocotools to the last printed digit (and in practice bit for bit).
 *
 * pycocotools behaviours kept on purpose, because they change numbers:
 *  - a ground truth's own `ignore` field is overwritten by `iscrowd` (opt in to it with
 *    `useIgnoreFlag`, e.g. for VOC `difficult`);
 *  - a detection matched to a ground truth whose annotation id is 0 counts as unmatched
 *    (pycocotools stores the matched id and tests it for truthiness);
 *  - detections whose category is not evaluated are dropped silently; detections on an image
 *    absent from the ground truth are an error (loadRes asserts);
 *  - ties in score keep input order (numpy's stable mergesort), across images in image-id order.
 * One deliberate difference: with `maxDets` lacking 100, pycocotools' first AP stat is -1
 * (it looks for maxDets == 100 literally); here it uses the largest maxDets instead.
 *
 * The per-image results live in flat typed arrays rather than one object per image, category
 * and area (≈1.2 M objects for COCO val): that is what keeps 5000 images × 100 detections in
 * a few seconds. {@link evalImage} gives pycocotools' per-image record back as a view.
 *
 * Isomorphic: no Node APIs.
 */
import { bboxIouInto } from './box-iou.js';
import { badOption, describeValue } from './errors.js';
import { resolveParams, type CocoEvalParams } from './params.js';
import type { CocoDetection, CocoGroundTruth } from './types.js';

export { defaultParams, resolveParams, DEFAULT_AREA_RANGES, type AreaRange, type CocoEvalParams } from './params.js';
export { summarize, summarizeOne, formatSummary, primaryMaxDets, fixed, type SummaryStat } from './summary.js';

/** pycocotools' per-image, per-category, per-area record (`evaluateImg`), as returned by {@link evalImage}. */
export interface EvalImage {
  imageId: number;
  categoryId: number;
  areaIndex: number;
  /** Detection ids (1-based position in the input list), highest score first, ≤ max(maxDets). */
  dtIds: number[];
  /** Ground-truth annotation ids, ignored ones last. */
  gtIds: number[];
  dtScores: number[];
  /** `[t][d]`: annotation id of the matched ground truth, or 0. */
  dtMatches: number[][];
  /** `[t][g]`: detection id of the matched detection, or 0. */
  gtMatches: number[][];
  /** 1 where the ground truth is ignored (crowd, `ignore` if enabled, or outside the area range). */
  gtIgnore: number[];
  /** `[t][d]`: 1 where the detection is ignored (matched an ignored ground truth, or unmatched and outside the area range). */
  dtIgnore: number[][];
}

/**
 * Output of {@link evaluate}. Groups are the (category, image) pairs with any ground truth or
 * detection, category-major then image order; each owns a slice of the flat tables.
 */
export interface Evaluation {
  params: CocoEvalParams;
  /** Per evaluated category: ground truths that count (not crowd or ignored), over all areas. */
  numGt: Int32Array;
  /** Per evaluated category: detections on evaluated images, before the maxDets cap. */
  numDet: Int32Array;
  /** Detections dropped because their category is not evaluated. */
  droppedDetections: number;
  /** The per-image tables (internal layout; read them through {@link evalImage}). */
  tables: EvalTables;
}

/** Flat per-image results. G/D: a group's ground-truth/detection counts; T thresholds; A areas. */
export interface EvalTables {
  /** `k * I + i` → group index, or -1. */
  groupOf: Int32Array;
  /** First group of each category (length K + 1). */
  categoryGroups: Int32Array;
  gStart: Int32Array;
  gCount: Int32Array;
  dStart: Int32Array;
  dCount: Int32Array;
  totalG: number;
  totalD: number;
  /** Annotation ids, indexed by annotation position. */
  gtId: Float64Array;
  /** `[a * totalG + gStart + g]`: annotation position, in each area's order (ignored last). */
  gtAnn: Int32Array;
  /** Same index: 1 if ignored in that area. */
  gtIgnore: Uint8Array;
  /** `[a * T * totalG + T * gStart + t * G + g]`: matched detection id, or 0. */
  gtMatches: Int32Array;
  /** `[dStart + d]`: detection position in the input, score order. */
  dtDet: Int32Array;
  dtScores: Float64Array;
  /** `[a * T * totalD + T * dStart + t * D + d]`: matched annotation position + 1, or 0. */
  dtMatches: Int32Array;
  /** Same index: 1 if the detection is ignored. */
  dtIgnore: Uint8Array;
}

/** Output of {@link accumulate}: pycocotools' `eval` dict, as flat row-major arrays. */
export interface Accumulation {
  params: CocoEvalParams;
  /** [T, R, K, A, M] */
  counts: [number, number, number, number, number];
  /** T×R×K×A×M interpolated precision at each recall threshold; -1 where a category has no ground truth. */
  precision: Float64Array;
  /** T×K×A×M final recall; -1 where a category has no ground truth. */
  recall: Float64Array;
  /** T×R×K×A×M score of the detection at each recall threshold (0 beyond the reached recall). */
  scores: Float64Array;
}

// numpy's np.spacing(1), pycocotools' guard against 0/0 in precision.
const EPS = 2.220446049250313e-16;

const isBox = (b: unknown): b is [number, number, number, number] =>
  Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Column store of one side (ground truth or detections), for cache-friendly loops. */
interface Columns {
  boxes: Float64Array; // 4 per item: x, y, w, h
  area: Float64Array;
  id: Float64Array;
  score: Float64Array; // detections only
  crowd: Uint8Array; // ground truth only
  ignore: Uint8Array; // ground truth only
}

/**
 * Bucket item positions by key, keeping input order inside a bucket (a counting sort, which
 * is stable). Returns each bucket's start offset (length nKeys + 1) and the ordered positions.
 */
function bucket(n: number, keyOf: (j: number) => number, nKeys: number): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(nKeys + 1);
  const keys = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    keys[j] = keyOf(j);
    if (keys[j] >= 0) start[keys[j] + 1]++;
  }
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, nKeys);
  const items = new Int32Array(start[nKeys]);
  for (let j = 0; j < n; j++) if (keys[j] >= 0) items[fill[keys[j]]++] = j;
  return { start, items };
}

/**
 * Sort `idx[0..n)` by score, highest first, ties by position (what numpy's stable
 * `argsort(-scores, kind='mergesort')` does on positions in input order).
 */
function sortByScore(idx: Int32Array, n: number, score: Float64Array): void {
  if (n <= 32) {
    for (let x = 1; x < n; x++) {
      const v = idx[x], s = score[v];
      let y = x - 1;
      while (y >= 0 && (score[idx[y]] < s || (score[idx[y]] === s && idx[y] > v))) { idx[y + 1] = idx[y]; y--; }
      idx[y + 1] = v;
    }
    return;
  }
  const sorted = Array.from(idx.subarray(0, n)).sort((a, b) => score[b] - score[a] || a - b);
  idx.set(sorted);
}

/**
 * Match detections to ground truth per image and category (pycocotools `evaluate`).
 * @param gt ground truth in COCO form (annotations without `area` get `w * h`; without `id`, position + 1)
 * @param detections COCO results (`loadRes`): each gets id position + 1 and area `w * h`
 * @param params overrides of {@link defaultParams}
 * @throws TearlessError TL_ERR_BAD_OPTION on malformed boxes, scores or parameters, or a
 *   detection on an image that is not in the ground truth
 */
export function evaluate(gt: CocoGroundTruth, detections: readonly CocoDetection[], params: Partial<CocoEvalParams> = {}): Evaluation {
  const p = resolveParams(gt, params);
  const I = p.imgIds.length, K = p.catIds.length, A = p.areaRanges.length, T = p.iouThrs.length;
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const imgIndex = new Map(p.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(p.catIds.map((id, k) => [id, k]));

  const g = gtColumns(gt, p.useIgnoreFlag);
  const d = dtColumns(detections, new Set(gt.images.map((im) => im.id)));
  const keyOf = (imageId: number, categoryId: number): number => {
    const i = imgIndex.get(imageId), k = catIndex.get(categoryId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };
  const gb = bucket(g.area.length, (j) => keyOf(gt.annotations[j].image_id, gt.annotations[j].category_id), K * I);
  const db = bucket(d.area.length, (j) => keyOf(detections[j].image_id, detections[j].category_id), K * I);
  let droppedDetections = 0;
  for (const det of detections) if (!catIndex.has(det.category_id)) droppedDetections++;

  // Pass 1: lay out the groups and size the tables.
  const groupOf = new Int32Array(K * I).fill(-1);
  const categoryGroups = new Int32Array(K + 1);
  const gStartL: number[] = [], gCountL: number[] = [], dStartL: number[] = [], dCountL: number[] = [];
  let totalG = 0, totalD = 0;
  for (let key = 0; key < K * I; key++) {
    const G = gb.start[key + 1] - gb.start[key], Dall = db.start[key + 1] - db.start[key];
    if (G === 0 && Dall === 0) continue;
    groupOf[key] = gStartL.length;
    categoryGroups[Math.floor(key / I) + 1]++;
    const D = Math.min(Dall, maxDet);
    gStartL.push(totalG); gCountL.push(G); dStartL.push(totalD); dCountL.push(D);
    totalG += G; totalD += D;
  }
  for (let k = 0; k < K; k++) categoryGroups[k + 1] += categoryGroups[k];
  const tb: EvalTables = {
    groupOf, categoryGroups,
    gStart: Int32Array.from(gStartL), gCount: Int32Array.from(gCountL), dStart: Int32Array.from(dStartL), dCount: Int32Array.from(dCountL),
    totalG, totalD, gtId: g.id,
    gtAnn: new Int32Array(A * totalG), gtIgnore: new Uint8Array(A * totalG), gtMatches: new Int32Array(A * T * totalG),
    dtDet: new Int32Array(totalD), dtScores: new Float64Array(totalD),
    dtMatches: new Int32Array(A * T * totalD), dtIgnore: new Uint8Array(A * T * totalD),
  };

  // Pass 2: match. Scratch buffers are reused across groups.
  const thr = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));
  const numGt = new Int32Array(K), numDet = new Int32Array(K);
  let dIdx = new Int32Array(64), ious = new Float64Array(64);
  const order = new Int32Array(Math.max(1, maxGroup(tb.gCount)));
  for (let key = 0; key < K * I; key++) {
    const q = groupOf[key];
    if (q < 0) continue;
    const k = Math.floor(key / I);
    const g0 = gb.start[key], G = tb.gCount[q], gS = tb.gStart[q];
    const Dall = db.start[key + 1] - db.start[key], D = tb.dCount[q], dS = tb.dStart[q];
    numDet[k] += Dall;
    for (let x = 0; x < G; x++) if (!g.ignore[gb.items[g0 + x]]) numGt[k]++;

    if (dIdx.length < Dall) dIdx = new Int32Array(2 * Dall);
    dIdx.set(db.items.subarray(db.start[key], db.start[key + 1]));
    sortByScore(dIdx, Dall, d.score);
    for (let x = 0; x < D; x++) { tb.dtDet[dS + x] = dIdx[x]; tb.dtScores[dS + x] = d.score[dIdx[x]]; }

    // IoU of the kept detections (score order) with the ground truth (input order).
    if (ious.length < D * G) ious = new Float64Array(2 * D * G);
    bboxIouInto(d.boxes, dIdx, D, g.boxes, gb.items.subarray(g0, g0 + G), G, g.crowd, ious);

    for (let a = 0; a < A; a++) {
      const [lo, hi] = p.areaRanges[a].range;
      const isIgnored = (ann: number): boolean => g.ignore[ann] !== 0 || g.area[ann] < lo || g.area[ann] > hi;
      // Ground truth in input order with the ignored ones last (numpy's stable argsort).
      let n = 0;
      for (let x = 0; x < G; x++) if (!isIgnored(gb.items[g0 + x])) order[n++] = x;
      for (let x = 0; x < G; x++) if (isIgnored(gb.items[g0 + x])) order[n++] = x;
      const gBase = a * totalG + gS;
      for (let x = 0; x < G; x++) {
        tb.gtAnn[gBase + x] = gb.items[g0 + order[x]];
        tb.gtIgnore[gBase + x] = isIgnored(tb.gtAnn[gBase + x]) ? 1 : 0;
      }
      const gmBase = a * T * totalG + T * gS, dmBase = a * T * totalD + T * dS;
      if (G > 0) {
        for (let t = 0; t < T; t++) {
          for (let y = 0; y < D; y++) {
            // Best match so far; m = -1 means unmatched.
            let best = thr[t];
            let m = -1;
            for (let x = 0; x < G; x++) {
              // A ground truth matches once, except a crowd region, which absorbs any number.
              if (tb.gtMatches[gmBase + t * G + x] > 0 && !g.crowd[tb.gtAnn[gBase + x]]) continue;
              // Already matched a regular ground truth: the ignored ones (sorted last) can't win.
              if (m > -1 && tb.gtIgnore[gBase + m] === 0 && tb.gtIgnore[gBase + x] === 1) break;
              const v = ious[y * G + order[x]];
              if (v < best) continue;
              best = v;
              m = x;
            }
            if (m === -1) continue;
            tb.dtIgnore[dmBase + t * D + y] = tb.gtIgnore[gBase + m];
            tb.dtMatches[dmBase + t * D + y] = tb.gtAnn[gBase + m] + 1;
            tb.gtMatches[gmBase + t * G + m] = d.id[dIdx[y]];
          }
        }
      }
      // Unmatched detections outside the area range are not false positives. "Unmatched"
      // as pycocotools tests it: the matched annotation id is 0.
      for (let y = 0; y < D; y++) {
        const area = d.area[dIdx[y]];
        if (area >= lo && area <= hi) continue;
        for (let t = 0; t < T; t++) {
          const mt = tb.dtMatches[dmBase + t * D + y];
          if (mt === 0 || g.id[mt - 1] === 0) tb.dtIgnore[dmBase + t * D + y] = 1;
        }
      }
    }
  }
  return { params: p, numGt, numDet, droppedDetections, tables: tb };
}

function maxGroup(counts: Int32Array): number {
  let m = 0;
  for (const c of counts) if (c > m) m = c;
  return m;
}

/**
 * pycocotools' `evalImgs[(k * A + a) * I + i]` record for category index k, area index a and
 * image index i (indices into `params.catIds`, `areaRanges`, `imgIds`), or null when that image
 * has neither ground truth nor detections of the category.
 */
export function evalImage(ev: Evaluation, k: number, a: number, i: number): EvalImage | null {
  const p = ev.params, tb = ev.tables, T = p.iouThrs.length;
  const q = tb.groupOf[k * p.imgIds.length + i];
  if (q === undefined || q < 0) return null;
  const G = tb.gCount[q], D = tb.dCount[q];
  const gBase = a * tb.totalG + tb.gStart[q], gmBase = a * T * tb.totalG + T * tb.gStart[q], dmBase = a * T * tb.totalD + T * tb.dStart[q];
  const rows = <R>(n: number, f: (t: number, x: number) => R): R[][] => Array.from({ length: T }, (_, t) => Array.from({ length: n }, (_, x) => f(t, x)));
  return {
    imageId: p.imgIds[i], categoryId: p.catIds[k], areaIndex: a,
    dtIds: Array.from(tb.dtDet.subarray(tb.dStart[q], tb.dStart[q] + D), (j) => j + 1),
    gtIds: Array.from(tb.gtAnn.subarray(gBase, gBase + G), (j) => tb.gtId[j]),
    dtScores: Array.from(tb.dtScores.subarray(tb.dStart[q], tb.dStart[q] + D)),
    dtMatches: rows(D, (t, x) => { const mt = tb.dtMatches[dmBase + t * D + x]; return mt === 0 ? 0 : tb.gtId[mt - 1]; }),
    gtMatches: rows(G, (t, x) => tb.gtMatches[gmBase + t * G + x]),
    gtIgnore: Array.from(tb.gtIgnore.subarray(gBase, gBase + G)),
    dtIgnore: rows(D, (t, x) => tb.dtIgnore[dmBase + t * D + x]),
  };
}

function gtColumns(gt: CocoGroundTruth, useIgnoreFlag: boolean): Columns {
  if (!gt || !Array.isArray(gt.images) || !Array.isArray(gt.categories) || !Array.isArray(gt.annotations)) {
    throw badOption('Expected ground truth { images, categories, annotations } with three arrays.');
  }
  const n = gt.annotations.length;
  const c: Columns = { boxes: new Float64Array(4 * n), area: new Float64Array(n), id: new Float64Array(n), score: new Float64Array(0), crowd: new Uint8Array(n), ignore: new Uint8Array(n) };
  const seen = new Set<number>();
  for (let j = 0; j < n; j++) {
    const ann = gt.annotations[j];
    if (!isBox(ann?.bbox)) throw badOption(`Ground-truth annotations[${j}].bbox must be [x, y, w, h] (4 finite numbers) but received ${describeValue(ann?.bbox)}.`);
    const [x, y, w, h] = ann.bbox;
    c.boxes[4 * j] = x; c.boxes[4 * j + 1] = y; c.boxes[4 * j + 2] = w; c.boxes[4 * j + 3] = h;
    const area = ann.area ?? w * h;
    if (typeof area !== 'number' || Number.isNaN(area)) throw badOption(`Ground-truth annotations[${j}].area must be a number but received ${describeValue(ann.area)}.`);
    c.area[j] = area;
    const id = ann.id ?? j + 1;
    if (typeof id !== 'number' || seen.has(id)) throw badOption(`Ground-truth annotations[${j}].id ${describeValue(id)} is not a unique number.`);
    seen.add(id);
    c.id[j] = id;
    c.crowd[j] = ann.iscrowd ? 1 : 0;
    // pycocotools: gt['ignore'] = gt['iscrowd'] (the annotation's own flag is overwritten).
    c.ignore[j] = c.crowd[j] || (useIgnoreFlag && ann.ignore) ? 1 : 0;
  }
  return c;
}

function dtColumns(dts: readonly CocoDetection[], gtImages: Set<number>): Columns {
  if (!Array.isArray(dts)) throw badOption(`Expected detections to be an array but received ${describeValue(dts)}.`);
  const n = dts.length;
  const c: Columns = { boxes: new Float64Array(4 * n), area: new Float64Array(n), id: new Float64Array(n), score: new Float64Array(n), crowd: new Uint8Array(0), ignore: new Uint8Array(0) };
  for (let j = 0; j < n; j++) {
    const det = dts[j];
    if (!isBox(det?.bbox)) throw badOption(`detections[${j}].bbox must be [x, y, w, h] (4 finite numbers) but received ${describeValue(det?.bbox)}.`);
    if (typeof det.score !== 'number' || !Number.isFinite(det.score)) throw badOption(`detections[${j}].score must be a finite number but received ${describeValue(det.score)}.`);
    if (!gtImages.has(det.image_id)) throw badOption(`detections[${j}].image_id ${describeValue(det.image_id)} is not an image of the ground truth.`);
    const [x, y, w, h] = det.bbox;
    c.boxes[4 * j] = x; c.boxes[4 * j + 1] = y; c.boxes[4 * j + 2] = w; c.boxes[4 * j + 3] = h;
    c.area[j] = w * h;
    c.id[j] = j + 1;
    c.score[j] = det.score;
  }
  return c;
}

/**
 * Precision/recall tables from the per-image matches (pycocotools `accumulate`): detections
 * of all images ranked by score, cumulative TP/FP, precision made monotone from the right,
 * then sampled at each recall threshold (first point reaching it, `searchsorted` left).
 */
export function accumulate(ev: Evaluation): Accumulation {
  const p = ev.params, tb = ev.tables;
  const T = p.iouThrs.length, R = p.recThrs.length, K = p.catIds.length, A = p.areaRanges.length, M = p.maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);

  for (let k = 0; k < K; k++) {
    const q0 = tb.categoryGroups[k], q1 = tb.categoryGroups[k + 1];
    if (q0 === q1) continue;
    // The category's detections are contiguous, images in id order: pycocotools' concatenation.
    const dLo = tb.dStart[q0], N = tb.dStart[q1 - 1] + tb.dCount[q1 - 1] - dLo;
    const rank = new Int32Array(N), base = new Int32Array(N), width = new Int32Array(N);
    for (let q = q0; q < q1; q++) {
      for (let x = 0; x < tb.dCount[q]; x++) {
        const j = tb.dStart[q] + x - dLo;
        rank[j] = x; base[j] = T * tb.dStart[q] + x; width[j] = tb.dCount[q];
      }
    }
    const sc = tb.dtScores.subarray(dLo, dLo + N);
    const order = Int32Array.from({ length: N }, (_, j) => j).sort((a, b) => sc[b] - sc[a] || a - b);
    // Keeping each image's first maxDet of the full ranking = ranking the truncated lists.
    const selections = p.maxDets.map((md) => {
      const s: number[] = [];
      for (let x = 0; x < N; x++) if (rank[order[x]] < md) s.push(x);
      return Int32Array.from(s);
    });
    const gLo = tb.gStart[q0], gHi = tb.gStart[q1 - 1] + tb.gCount[q1 - 1];
    const flags = new Uint8Array(N), rc = new Float64Array(N), pr = new Float64Array(N);

    for (let a = 0; a < A; a++) {
      let npig = 0;
      for (let x = gLo; x < gHi; x++) if (tb.gtIgnore[a * tb.totalG + x] === 0) npig++;
      if (npig === 0) continue;
      for (let t = 0; t < T; t++) {
        // 0 false positive, 1 true positive, 2 ignored; in ranked order.
        for (let x = 0; x < N; x++) {
          const j = order[x], off = a * T * tb.totalD + base[j] + t * width[j];
          const mt = tb.dtMatches[off];
          flags[x] = tb.dtIgnore[off] ? 2 : mt !== 0 && tb.gtId[mt - 1] !== 0 ? 1 : 0;
        }
        for (let m = 0; m < M; m++) {
          const sel = selections[m], nd = sel.length;
          const at = (r: number, mm: number): number => (((t * R + r) * K + k) * A + a) * M + mm;
          if (m > 0 && nd === selections[m - 1].length) {
            // Same detections as the smaller cap: same numbers.
            recall[((t * K + k) * A + a) * M + m] = recall[((t * K + k) * A + a) * M + m - 1];
            for (let r = 0; r < R; r++) { precision[at(r, m)] = precision[at(r, m - 1)]; scores[at(r, m)] = scores[at(r, m - 1)]; }
            continue;
          }
          let tp = 0, fp = 0;
          for (let x = 0; x < nd; x++) {
            const f = flags[sel[x]];
            if (f === 1) tp++;
            else if (f === 0) fp++;
            rc[x] = tp / npig;
            pr[x] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          // Interpolate: precision at recall r is the best precision at any recall >= r.
          for (let x = nd - 1; x > 0; x--) if (pr[x] > pr[x - 1]) pr[x - 1] = pr[x];
          // rc is non-decreasing, so a moving pointer gives searchsorted(rc, recThrs, 'left').
          let pi = 0;
          for (let r = 0; r < R; r++) {
            while (pi < nd && rc[pi] < p.recThrs[r]) pi++;
            // Past the last detection pycocotools leaves 0 (its IndexError ends the loop).
            precision[at(r, m)] = pi < nd ? pr[pi] : 0;
            scores[at(r, m)] = pi < nd ? sc[order[sel[pi]]] : 0;
          }
        }
      }
    }
  }
  return { params: p, counts: [T, R, K, A, M], precision, recall, scores };
}
