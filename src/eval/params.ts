/**
 * COCOeval's parameters (pycocotools `Params` for `iouType='bbox'`) and their validation.
 * Isomorphic: no Node APIs.
 */
import { badOption, describeValue } from './errors.js';
import { linspace } from './numeric.js';
import type { CocoGroundTruth } from './types.js';

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

