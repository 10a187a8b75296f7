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
 * Isomorphic: no Node APIs.
 */
import { bboxIou } from './box-iou.js';
import { badOption, describeValue } from './errors.js';
import { linspace, meanOfValid } from './numeric.js';
import type { CocoDetection, CocoGroundTruth } from './types.js';

/** An object-size bucket: objects with `lo <= area <= hi` count in it. */
export interface AreaRange {
  label: string;
  range: [number, number];
}

/** Evaluation parameters (pycocotools `Params` for `iouType='bbox'`). */
export interface CocoEvalParams {
  /** IoU thresholds, default `np.linspace(.5, .95, 10)`. */
  iouThrs: number[];
  /** Recall sampling points, default `np.linspace(0, 1, 101)`. */
  recThrs: number[];
  /** Caps on detections per image and category, sorted ascending; default [1, 10, 100]. */
  maxDets: number[];
  /** Area buckets; default all [0, 1e5²], small [0, 32²], medium [32², 96²], large [96², 1e5²]. */
  areaRanges: AreaRange[];
  /** Images to evaluate, default every ground-truth image. */
  imgIds: number[];
  /** Categories to evaluate, default every ground-truth category (also those without boxes). */
  catIds: number[];
  /** Honour the annotations' `ignore` field as well as `iscrowd` (pycocotools does not). */
  useIgnoreFlag: boolean;
}

export const DEFAULT_AREA_RANGES: readonly AreaRange[] = Object.freeze([
  { label: 'all', range: [0 ** 2, 1e5 ** 2] },
  { label: 'small', range: [0 ** 2, 32 ** 2] },
  { label: 'medium', range: [32 ** 2, 96 ** 2] },
  { label: 'large', range: [96 ** 2, 1e5 ** 2] },
] as AreaRange[]);

/** pycocotools' default parameters (image and category ids come from the ground truth). */
export function defaultParams(): Omit<CocoEvalParams, 'imgIds' | 'catIds'> {
  return {
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round(1 / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRanges: DEFAULT_AREA_RANGES.map((a) => ({ label: a.label, range: [a.range[0], a.range[1]] })),
    useIgnoreFlag: false,
  };
}

/**
 * Per image, category and area range: pycocotools' `evaluateImg` record. Matrices are
 * row-major `[t * D + d]` (T thresholds × D detections) and `[t * G + g]`.
 */
export interface EvalImage {
  imageId: number;
  categoryId: number;
  areaIndex: number;
  /** Detection ids (1-based position in the input list), highest score first, ≤ max(maxDets). */
  dtIds: number[];
  /** Ground-truth annotation ids, ignored ones last. */
  gtIds: number[];
  dtScores: Float64Array;
  /** Annotation id of the matched ground truth, or 0. */
  dtMatches: Float64Array;
  /** Detection id of the matched detection, or 0. */
  gtMatches: Float64Array;
  /** 1 where the ground truth is ignored (crowd, `ignore` if enabled, or outside the area range). */
  gtIgnore: Uint8Array;
  /** 1 where the detection is ignored (matched an ignored ground truth, or unmatched and outside the area range). */
  dtIgnore: Uint8Array;
}

/** Output of {@link evaluate}. */
export interface Evaluation {
  params: CocoEvalParams;
  /** Indexed `(k * A + a) * I + i` like pycocotools' `evalImgs`; null where an image has neither ground truth nor detections of a category. */
  evalImgs: (EvalImage | null)[];
  /** Per evaluated category: ground truths that count (not crowd or ignored), over all areas. */
  numGt: Int32Array;
  /** Per evaluated category: detections on evaluated images, before the maxDets cap. */
  numDet: Int32Array;
  /** Detections dropped because their category is not evaluated. */
  droppedDetections: number;
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

/** Merge caller overrides into the defaults and validate them. */
export function resolveParams(gt: CocoGroundTruth, overrides: Partial<CocoEvalParams> = {}): CocoEvalParams {
  const base = defaultParams();
  const iouThrs = checkNumbers('iouThrs', overrides.iouThrs ?? base.iouThrs, 0, 1);
  const recThrs = checkNumbers('recThrs', overrides.recThrs ?? base.recThrs, 0, 1);
  for (let i = 1; i < recThrs.length; i++) {
    if (recThrs[i] < recThrs[i - 1]) throw badOption('recThrs must be sorted ascending.');
  }
  const maxDets = [...checkNumbers('maxDets', overrides.maxDets ?? base.maxDets, 1, Number.MAX_SAFE_INTEGER)].sort((a, b) => a - b);
  if (maxDets.some((m) => !Number.isInteger(m))) throw badOption(`maxDets must be positive integers but received ${describeValue(overrides.maxDets)}.`);
  const areaRanges = overrides.areaRanges ?? base.areaRanges;
  if (!Array.isArray(areaRanges) || areaRanges.length === 0) throw badOption('areaRanges must be a non-empty array of { label, range: [lo, hi] }.');
  for (const a of areaRanges) {
    if (typeof a?.label !== 'string' || !Array.isArray(a.range) || a.range.length !== 2 || !a.range.every((v) => typeof v === 'number' && !Number.isNaN(v))) {
      throw badOption(`Expected an area range { label, range: [lo, hi] } but received ${JSON.stringify(a)}.`);
    }
  }
  // pycocotools runs np.unique on both id lists: sorted, without duplicates.
  const uniqueSorted = (ids: number[]): number[] => [...new Set(ids)].sort((a, b) => a - b);
  const imgIds = uniqueSorted(overrides.imgIds ?? gt.images.map((im) => im.id));
  const catIds = uniqueSorted(overrides.catIds ?? gt.categories.map((c) => c.id));
  return { iouThrs, recThrs, maxDets, areaRanges, imgIds, catIds, useIgnoreFlag: overrides.useIgnoreFlag ?? base.useIgnoreFlag };
}

function checkNumbers(name: string, v: unknown, min: number, max: number): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max)) {
    throw badOption(`Expected ${name} to be a non-empty array of numbers between ${min} and ${max} but received ${describeValue(v)}.`);
  }
  return [...v] as number[];
}

const isBox = (b: unknown): b is [number, number, number, number] =>
  Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Column store of one side (ground truth or detections), for cache-friendly loops. */
interface Columns {
  boxes: Float64Array; // 4 per item
  area: Float64Array;
  id: Float64Array;
  score: Float64Array; // detections only
  crowd: Uint8Array; // ground truth only
  ignore: Uint8Array; // ground truth only
}

/**
 * Bucket item indices by (category, image), keeping input order inside a bucket (a counting
 * sort, which is stable). Returns the start offset of each bucket and the ordered indices.
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
 * Match detections to ground truth per image and category (pycocotools `evaluate`).
 * @param gt ground truth in COCO form (annotations without `area` get `w * h`; without `id`, index + 1)
 * @param detections COCO results (`loadRes`): each gets id index + 1 and area `w * h`
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
  const gtImages = new Set(gt.images.map((im) => im.id));

  const g = gtColumns(gt, p.useIgnoreFlag);
  const d = dtColumns(detections, gtImages);
  const nG = g.area.length, nD = d.area.length;
  const keyOf = (imageId: number, categoryId: number): number => {
    const i = imgIndex.get(imageId), k = catIndex.get(categoryId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };
  const gb = bucket(nG, (j) => keyOf(gt.annotations[j].image_id, gt.annotations[j].category_id), K * I);
  const db = bucket(nD, (j) => keyOf(detections[j].image_id, detections[j].category_id), K * I);

  const evalImgs: (EvalImage | null)[] = new Array<EvalImage | null>(K * A * I).fill(null);
  const numGt = new Int32Array(K), numDet = new Int32Array(K);
  let droppedDetections = 0;
  for (let j = 0; j < nD; j++) if (!catIndex.has(detections[j].category_id)) droppedDetections++;

  const thr = p.iouThrs.map((t) => Math.min(t, 1 - 1e-10));
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < I; i++) {
      const key = k * I + i;
      const gIdx = gb.items.subarray(gb.start[key], gb.start[key + 1]);
      const dAll = db.items.subarray(db.start[key], db.start[key + 1]);
      if (gIdx.length === 0 && dAll.length === 0) continue;
      numDet[k] += dAll.length;
      for (const j of gIdx) if (!g.ignore[j]) numGt[k]++;

      // Highest score first; equal scores keep input order (numpy's stable mergesort).
      const dIdx = Array.from(dAll).sort((a, b) => d.score[b] - d.score[a] || a - b).slice(0, maxDet);
      const G = gIdx.length, D = dIdx.length;
      const ious = G > 0 && D > 0 ? bboxIou(gather(d.boxes, dIdx), gather(g.boxes, gIdx), Array.from(gIdx, (j) => g.crowd[j])) : null;

      for (let a = 0; a < A; a++) {
        const [lo, hi] = p.areaRanges[a].range;
        // Ground truth outside the area range is ignored; ignored ones go last (stable).
        const ignoredOf = (j: number): number => (g.ignore[j] || g.area[j] < lo || g.area[j] > hi ? 1 : 0);
        const order = Array.from(gIdx.keys()).sort((x, y) => ignoredOf(gIdx[x]) - ignoredOf(gIdx[y]) || x - y);
        const gtIgnore = Uint8Array.from(order, (x) => ignoredOf(gIdx[x]));
        const gtIds = order.map((x) => g.id[gIdx[x]]);
        const crowd = Uint8Array.from(order, (x) => g.crowd[gIdx[x]]);
        const dtIds = dIdx.map((j) => d.id[j]);
        const dtMatches = new Float64Array(T * D), gtMatches = new Float64Array(T * G), dtIgnore = new Uint8Array(T * D);

        if (ious) {
          for (let t = 0; t < T; t++) {
            for (let di = 0; di < D; di++) {
              // Best match so far; m = -1 means unmatched.
              let best = thr[t];
              let m = -1;
              for (let gi = 0; gi < G; gi++) {
                // A ground truth matches once, except a crowd region, which absorbs any number.
                if (gtMatches[t * G + gi] > 0 && !crowd[gi]) continue;
                // Already matched a regular ground truth: the ignored ones (sorted last) can't win.
                if (m > -1 && gtIgnore[m] === 0 && gtIgnore[gi] === 1) break;
                const v = ious[di * G + order[gi]];
                if (v < best) continue;
                best = v;
                m = gi;
              }
              if (m === -1) continue;
              dtIgnore[t * D + di] = gtIgnore[m];
              dtMatches[t * D + di] = gtIds[m];
              gtMatches[t * G + m] = dtIds[di];
            }
          }
        }
        // Unmatched detections outside the area range don't count as false positives.
        for (let di = 0; di < D; di++) {
          const area = d.area[dIdx[di]];
          if (area < lo || area > hi) {
            for (let t = 0; t < T; t++) if (dtMatches[t * D + di] === 0) dtIgnore[t * D + di] = 1;
          }
        }
        evalImgs[(k * A + a) * I + i] = {
          imageId: p.imgIds[i], categoryId: p.catIds[k], areaIndex: a,
          dtIds, gtIds, dtScores: Float64Array.from(dIdx, (j) => d.score[j]),
          dtMatches, gtMatches, gtIgnore, dtIgnore,
        };
      }
    }
  }
  return { params: p, evalImgs, numGt, numDet, droppedDetections };
}

function gather(boxes: Float64Array, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length * 4);
  for (let n = 0; n < idx.length; n++) out.set(boxes.subarray(4 * idx[n], 4 * idx[n] + 4), 4 * n);
  return out;
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
    c.boxes.set([x, y, w, h], 4 * j);
    const area = ann.area ?? w * h;
    if (typeof area !== 'number' || Number.isNaN(area)) throw badOption(`Ground-truth annotations[${j}].area must be a number but received ${describeValue(ann.area)}.`);
    c.area[j] = area;
    const id = ann.id ?? j + 1;
    if (seen.has(id)) throw badOption(`Ground-truth annotations[${j}] repeats annotation id ${id}; ids must be unique.`);
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
    c.boxes.set([x, y, w, h], 4 * j);
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
  const p = ev.params;
  const T = p.iouThrs.length, R = p.recThrs.length, K = p.catIds.length, A = p.areaRanges.length, M = p.maxDets.length, I = p.imgIds.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);

  for (let k = 0; k < K; k++) {
    // Images with anything of this category: the same for every area range.
    const slots: number[] = [];
    for (let i = 0; i < I; i++) if (ev.evalImgs[(k * A) * I + i]) slots.push(i);
    if (slots.length === 0) continue;

    // Concatenate the images' detections (image-id order) and rank them once by score.
    let N = 0;
    for (const i of slots) N += ev.evalImgs[k * A * I + i]!.dtScores.length;
    const gScore = new Float64Array(N), gSlot = new Int32Array(N), gRank = new Int32Array(N);
    let n = 0;
    slots.forEach((i, s) => {
      const sc = ev.evalImgs[k * A * I + i]!.dtScores;
      for (let r = 0; r < sc.length; r++, n++) { gScore[n] = sc[r]; gSlot[n] = s; gRank[n] = r; }
    });
    const order = Array.from({ length: N }, (_, j) => j).sort((a, b) => gScore[b] - gScore[a] || a - b);
    // Keeping the first maxDet per image of the full ranking = ranking the truncated lists.
    const selections = p.maxDets.map((md) => Int32Array.from(order.filter((j) => gRank[j] < md)));

    for (let a = 0; a < A; a++) {
      const E = slots.map((i) => ev.evalImgs[(k * A + a) * I + i]!);
      let npig = 0;
      for (const e of E) for (const ig of e.gtIgnore) if (ig === 0) npig++;
      if (npig === 0) continue;

      for (let m = 0; m < M; m++) {
        const sel = selections[m];
        const nd = sel.length;
        const rc = new Float64Array(nd), pr = new Float64Array(nd);
        for (let t = 0; t < T; t++) {
          let tp = 0, fp = 0;
          for (let j = 0; j < nd; j++) {
            const g = sel[j];
            const e = E[gSlot[g]];
            const off = t * e.dtScores.length + gRank[g];
            if (!e.dtIgnore[off]) {
              if (e.dtMatches[off] !== 0) tp++;
              else fp++;
            }
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          // Interpolate: precision at recall r is the best precision at any recall >= r.
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // rc is non-decreasing, so a moving pointer gives searchsorted(rc, recThrs, 'left').
          let pi = 0;
          for (let r = 0; r < R; r++) {
            while (pi < nd && rc[pi] < p.recThrs[r]) pi++;
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            // Past the last detection pycocotools leaves 0 (its IndexError ends the loop).
            precision[at] = pi < nd ? pr[pi] : 0;
            scores[at] = pi < nd ? gScore[sel[pi]] : 0;
          }
        }
      }
    }
  }
  return { params: p, counts: [T, R, K, A, M], precision, recall, scores };
}

/** One of the 12 COCO summary numbers. */
export interface SummaryStat {
  /** Short name: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl. */
  name: string;
  kind: 'AP' | 'AR';
  /** IoU threshold, or null for the mean over all thresholds. */
  iouThr: number | null;
  area: string;
  maxDets: number;
  /** Mean over the valid entries, -1 when none is valid. */
  value: number;
}

/**
 * Mean precision (ap) or recall over the selected thresholds, all categories, one area range
 * and one maxDets, skipping -1 entries (pycocotools `_summarize`); -1 when nothing is valid.
 */
export function summarizeOne(acc: Accumulation, kind: 'AP' | 'AR', iouThr: number | null, area: string, maxDets: number): number {
  const p = acc.params;
  const [, R, K, A, M] = acc.counts;
  const a = p.areaRanges.findIndex((r) => r.label === area);
  const m = p.maxDets.indexOf(maxDets);
  if (a < 0 || m < 0) return -1;
  // Exact float comparison, as np.where(iouThr == p.iouThrs).
  const ts = iouThr === null ? p.iouThrs.map((_, t) => t) : p.iouThrs.flatMap((v, t) => (v === iouThr ? [t] : []));
  const values: number[] = [];
  for (const t of ts) {
    if (kind === 'AP') {
      for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) values.push(acc.precision[(((t * R + r) * K + k) * A + a) * M + m]);
    } else {
      for (let k = 0; k < K; k++) values.push(acc.recall[((t * K + k) * A + a) * M + m]);
    }
  }
  return meanOfValid(values);
}

/** The maxDets used for "AP at 100": 100 when evaluated (pycocotools), else the largest. */
export function primaryMaxDets(p: CocoEvalParams): number {
  return p.maxDets.includes(100) ? 100 : p.maxDets[p.maxDets.length - 1];
}

/** The 12 COCO numbers in pycocotools order (`COCOeval.stats`). */
export function summarize(acc: Accumulation): SummaryStat[] {
  const md = acc.params.maxDets;
  const at = (i: number): number => md[Math.min(i, md.length - 1)];
  const specs: [string, 'AP' | 'AR', number | null, string, number][] = [
    ['AP', 'AP', null, 'all', primaryMaxDets(acc.params)],
    ['AP50', 'AP', 0.5, 'all', at(2)],
    ['AP75', 'AP', 0.75, 'all', at(2)],
    ['APs', 'AP', null, 'small', at(2)],
    ['APm', 'AP', null, 'medium', at(2)],
    ['APl', 'AP', null, 'large', at(2)],
    [`AR${at(0)}`, 'AR', null, 'all', at(0)],
    [`AR${at(1)}`, 'AR', null, 'all', at(1)],
    [`AR${at(2)}`, 'AR', null, 'all', at(2)],
    ['ARs', 'AR', null, 'small', at(2)],
    ['ARm', 'AR', null, 'medium', at(2)],
    ['ARl', 'AR', null, 'large', at(2)],
  ];
  return specs.map(([name, kind, iouThr, area, maxDets]) => ({ name, kind, iouThr, area, maxDets, value: summarizeOne(acc, kind, iouThr, area, maxDets) }));
}

/** pycocotools' printed summary, line for line (`{:0.3f}` rounding included). */
export function formatSummary(stats: readonly SummaryStat[], iouThrs: readonly number[]): string[] {
  const range = `${fixed(iouThrs[0], 2)}:${fixed(iouThrs[iouThrs.length - 1], 2)}`;
  return stats.map((s) => {
    const title = s.kind === 'AP' ? 'Average Precision' : 'Average Recall';
    const iou = s.iouThr === null ? range : fixed(s.iouThr, 2);
    return ` ${title.padEnd(18)} (${s.kind}) @[ IoU=${iou.padEnd(9)} | area=${s.area.padStart(6)} | maxDets=${String(s.maxDets).padStart(3)} ] = ${fixed(s.value, 3)}`;
  });
}

/**
 * Python's `'{:0.Nf}'`: like toFixed, except that an exact binary tie rounds half to even
 * (0.0625 → "0.062"; JavaScript's toFixed gives "0.063").
 */
export function fixed(x: number, digits: number): string {
  // x is an exact decimal tie only if x * 2^(digits+1) is an odd integer (ties are dyadic).
  const q = Math.abs(x) * 2 ** (digits + 1);
  if (Number.isInteger(q) && q % 2 === 1) {
    const scaled = Math.abs(x) * 10 ** digits; // exact: a small odd multiple of 0.5
    const lo = Math.floor(scaled);
    const even = lo % 2 === 0 ? lo : lo + 1;
    return (Math.sign(x) * even / 10 ** digits).toFixed(digits);
  }
  return x.toFixed(digits);
}
