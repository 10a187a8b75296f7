/**
 * From raw model outputs to final detections: decode (per family) → NMS → top-k →
 * map back to original pixels → Detection objects. Isomorphic.
 */
import { DECODERS } from './decoders/index.js';
import { mapBoxesToSource, clipBoxes, type Placement } from './geometry.js';
import { nms, sortByScore } from './nms.js';
import { DEFAULT_DETECT_OPTIONS, type CoreTensor, type Detection, type DetectOptions, type ModelProfile } from './types.js';
import { checkInteger, checkNumber, TearlessError } from './errors.js';

/** Validated, defaulted detection options. */
export interface ResolvedDetectOptions {
  conf: number;
  iou: number;
  maxDet: number;
  agnostic: boolean;
  classes: number[] | null;
}

/** Validate user options (numbers in range, class ids known to the model). */
export function resolveDetectOptions(opts: DetectOptions | undefined, labels: readonly string[]): ResolvedDetectOptions {
  const o = { ...DEFAULT_DETECT_OPTIONS, ...(opts ?? {}) };
  checkNumber('conf', o.conf, 0, 1);
  checkNumber('iou', o.iou, 0, 1);
  checkInteger('maxDet', o.maxDet, 1, 100000);
  let classes: number[] | null = null;
  if (opts?.classes !== undefined && opts.classes !== null) {
    if (!Array.isArray(opts.classes)) throw new TearlessError('TL_ERR_BAD_OPTION', 'Expected an array of class ids for classes.');
    for (const c of opts.classes) checkInteger('classes[]', c, 0, Math.max(0, labels.length - 1));
    classes = [...opts.classes];
  }
  return { conf: o.conf, iou: o.iou, maxDet: o.maxDet, agnostic: o.agnostic === true, classes };
}

/** Label of a class id (falls back to `class_<id>` for unnamed classes). */
export function labelOf(labels: readonly string[], classId: number): string {
  return labels[classId] ?? `class_${classId}`;
}

export function postprocess(
  outputs: Record<string, CoreTensor>,
  outputNames: readonly string[],
  profile: ModelProfile,
  placement: Placement,
  opts: ResolvedDetectOptions,
  batchIndex = 0,
): Detection[] {
  const decoder = DECODERS[profile.output.family];
  if (!decoder) throw new TearlessError('TL_ERR_PROFILE_INVALID', `Unknown output family "${profile.output.family}".`);
  let allowed: Uint8Array | null = null;
  if (opts.classes) {
    allowed = new Uint8Array(Math.max(profile.labels.length, ...opts.classes) + 1);
    for (const c of opts.classes) allowed[c] = 1;
  }
  const cands = decoder({ outputs, outputNames, profile, conf: opts.conf, allowed, batchIndex });
  let keep: ArrayLike<number>;
  if (profile.nms) {
    keep = nms(cands, { iou: opts.iou, maxDet: opts.maxDet, agnostic: opts.agnostic });
  } else {
    keep = sortByScore(cands.scores, cands.count).subarray(0, opts.maxDet);
  }
  const n = keep.length;
  const boxes = new Float32Array(n * 4);
  for (let k = 0; k < n; k++) boxes.set(cands.boxes.subarray(keep[k] * 4, keep[k] * 4 + 4), k * 4);
  if (profile.output.boxesInOriginal) clipBoxes(boxes, n, placement.srcWidth, placement.srcHeight);
  else mapBoxesToSource(boxes, n, placement);

  const dets: Detection[] = [];
  for (let k = 0; k < n; k++) {
    const i = keep[k];
    const o = k * 4;
    if (boxes[o + 2] - boxes[o] <= 0 || boxes[o + 3] - boxes[o + 1] <= 0) continue; // fully outside the image
    const classId = cands.classIds[i];
    dets.push({
      label: labelOf(profile.labels, classId),
      classId,
      score: cands.scores[i],
      box: [boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]],
    });
  }
  return dets;
}
