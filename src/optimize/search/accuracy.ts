/**
 * The accuracy guard: every candidate runs through the same Detector `predict` and `eval` use,
 * and is scored either by COCO mAP on labelled data (exactly `tearless eval`'s numbers) or, with
 * no labels, by agreement with the original model's boxes.
 */
import { TearlessError } from '../../core/errors.js';
import type { Detection, DetectOptions } from '../../core/types.js';
import { compareDetections } from '../../eval/compare.js';
import { buildClassMap, cocoEvaluate, toCocoDetections, type ClassMap, type ClassOverrides, type CocoDetection, type Dataset } from '../../eval/index.js';
import { Detector } from '../../pipeline/detector.js';
import { availableCores } from '../../runtime/node/cpus.js';

/** What the guard scores on. */
export type AccuracyData =
  | { kind: 'map'; dataset: Dataset; source: string; classMap: ClassMap }
  | { kind: 'agreement'; images: string[] };

/** Same settings as `tearless eval` (score everything down to 0.001, COCO's 100 per image). */
export const MAP_DETECT: DetectOptions = { conf: 0.001, iou: 0.65, maxDet: 100 };

/**
 * Agreement: the original's boxes at the parity threshold (0.3) must be found by the candidate
 * with the same class and IoU ≥ 0.9. The candidate is read down to 0.2 so that a box whose score
 * moves from 0.31 to 0.29 still counts as found — agreement is about boxes, not thresholds.
 */
export const AGREEMENT_REFERENCE: DetectOptions = { conf: 0.3 };
export const AGREEMENT_CANDIDATE: DetectOptions = { conf: 0.2 };
export const AGREEMENT_IOU = 0.9;

/** Build the class map and refuse data whose categories match none of the model's labels. */
export function mapData(dataset: Dataset, source: string, labels: readonly string[], overrides: ClassOverrides = {}): AccuracyData {
  const classMap = buildClassMap(labels, dataset.categories, overrides);
  if (classMap.matches.length === 0) {
    throw new TearlessError(
      'TL_ERR_DATASET_INVALID',
      `None of the model's classes (${labels.slice(0, 5).join(', ')}, …) matches a category of ${source} (${dataset.categories.slice(0, 5).map((c) => c.name).join(', ')}, …). Map them with --class-map '{"model label": "category name"}'.`,
    );
  }
  return { kind: 'map', dataset, source, classMap };
}

/** Detect on every image, `streams + 2` in flight; any unreadable image is an error. */
export async function detectAll(model: string, images: readonly string[], opts: DetectOptions): Promise<Detection[][]> {
  const det = await Detector.load(model, { streams: availableCores(), threads: 1 });
  try {
    const out: Detection[][] = new Array(images.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < images.length) {
        const i = next++;
        out[i] = (await det.detect(images[i], opts)).detections;
      }
    };
    await Promise.all(Array.from({ length: det.streams + 2 }, lane));
    return out;
  } finally {
    await det.close();
  }
}

/** COCO mAP@[.5:.95] of a model on the labelled data. */
export async function measureMap(model: string, data: Extract<AccuracyData, { kind: 'map' }>): Promise<number> {
  const { dataset, classMap } = data;
  const perImage = await detectAll(model, dataset.images.map((i) => i.path), MAP_DETECT);
  const dets: CocoDetection[] = [];
  perImage.forEach((d, k) => dets.push(...toCocoDetections(dataset.images[k].id, d, classMap)));
  const catIds = [...new Set(classMap.matches.map((m) => m.categoryId))].sort((a, b) => a - b);
  return cocoEvaluate(dataset, dets, { maxDets: [1, 10, 100], catIds }).stats[0].value;
}

/** Share of the reference boxes found again (same class, IoU ≥ 0.9); 1 when there are none. */
export function agreementOf(reference: readonly Detection[][], candidate: readonly Detection[][]): number {
  let total = 0;
  let found = 0;
  reference.forEach((ref, k) => {
    const c = compareDetections(ref, candidate[k] ?? [], { iou: AGREEMENT_IOU });
    total += ref.length;
    found += c.pairs.length;
  });
  return total === 0 ? 1 : found / total;
}
