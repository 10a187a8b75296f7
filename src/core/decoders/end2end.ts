/**
 * Exports with NMS (or a one-to-one head) in the graph: the rows are final detections and
 * only the score threshold and the class filter apply here. Supported layouts:
 *
 * (a) one tensor of rows:
 *     - `[B,K,6]` or `[K,6]`: x1, y1, x2, y2, score, class (YOLOv10 / YOLO26 / Ultralytics
 *       `nms=True`; `output.boxFormat` may say 'cxcywh' or 'xywh' instead of the default xyxy);
 *     - `[K,7]` or `[1,K,7]`: batch_id, x1, y1, x2, y2, class, score — YOLOv7's
 *       `export.py --end2end --max-wh …` for onnxruntime (rows of every image of the batch in
 *       one tensor; rows are picked by batch_id). Note class comes BEFORE score here.
 * (b) separate tensors, batched `[B,K,…]` or batch-less `[K,…]` (torchvision detection models):
 *     - `boxes [B,K,4]` + `scores [B,K]` + `labels [B,K]` (torchvision, TensorRT EfficientNMS
 *       `det_boxes/det_scores/det_classes`);
 *     - `dets [B,K,5]` (x1, y1, x2, y2, score) + `labels [B,K]` (mmdet / mmdeploy, IceVision);
 *     - optionally a detection count `[B]` or `[B,1]` (`num_dets`, `num_detections`) that limits K.
 *
 * Names: `output.names.output` for (a); `output.names.{boxes,scores,labels,dets,numDetections}`
 * for (b); otherwise roles are inferred from shape and dtype (integer per-row tensor = labels),
 * then from conventional names. Boxes are network-input pixels, or normalised to the network
 * input when `output.normalized` is set (scaled by its width/height here).
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { TearlessError } from '../errors.js';
import type { CoreTensor, TensorDataType } from '../types.js';
import { classAllowed, type DecodeInput } from './types.js';

const INTEGER_TYPES: ReadonlySet<TensorDataType> = new Set(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64']);

function describe(name: string, t: CoreTensor | undefined): string {
  return t ? `"${name}" ${t.type} [${t.dims.join(',')}]` : `"${name}" (missing)`;
}

function pick(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function notUnderstood(input: DecodeInput, detail: string): TearlessError {
  const seen = input.outputNames.map((n) => describe(n, input.outputs[n])).join(', ');
  return new TearlessError(
    'TL_ERR_MODEL_NOT_UNDERSTOOD',
    `End-to-end head: ${detail} (outputs: ${seen}). Expected [1,K,6] rows (x1,y1,x2,y2,score,class), [K,7] rows (batch_id,x1,y1,x2,y2,class,score), boxes [1,K,4] + scores [1,K] + labels [1,K], or dets [1,K,5] + labels [1,K]; set "output.names" in the profile.`,
  );
}

/** Geometry shared by both layouts: scale and box format. */
interface BoxWriter {
  push(out: Candidates, b: Float32Array, o: number, score: number, classId: number): void;
}

function boxWriter(input: DecodeInput): BoxWriter {
  const { profile } = input;
  const sx = profile.output.normalized ? profile.input.width : 1;
  const sy = profile.output.normalized ? profile.input.height : 1;
  const fmt = profile.output.boxFormat ?? 'xyxy';
  return {
    push(out, b, o, score, classId) {
      const x = b[o] * sx;
      const y = b[o + 1] * sy;
      const z = b[o + 2] * sx;
      const w = b[o + 3] * sy;
      if (fmt === 'cxcywh') out.pushCxcywh(x, y, z, w, score, classId);
      else if (fmt === 'xywh') out.push(x, y, x + z, y + w, score, classId);
      else out.push(x, y, z, w, score, classId);
    },
  };
}

export function decodeEnd2end(input: DecodeInput): Candidates {
  const { outputs, outputNames, profile } = input;
  const named = profile.output.names ?? {};
  const single = pick(named.output);
  if (single !== undefined) return decodeRows(input, single);
  const hasSeparateNames = ['boxes', 'scores', 'labels', 'dets'].some((k) => named[k] !== undefined);
  if (!hasSeparateNames) {
    const present = outputNames.filter((n) => outputs[n] !== undefined);
    const rowTensors = present.filter((n) => {
      const d = outputs[n].dims;
      return (d.length === 2 || d.length === 3) && (d[d.length - 1] === 6 || d[d.length - 1] === 7);
    });
    const hasBoxes = present.some((n) => {
      const d = outputs[n].dims;
      return (d.length === 2 || d.length === 3) && (d[d.length - 1] === 4 || d[d.length - 1] === 5);
    });
    if (rowTensors.length === 1 && !hasBoxes) return decodeRows(input, rowTensors[0]);
  }
  return decodeSeparate(input);
}

/** Layout (a): one tensor of detection rows. */
function decodeRows(input: DecodeInput, name: string): Candidates {
  const { outputs, conf, allowed, batchIndex } = input;
  const t = outputs[name];
  if (!t) throw notUnderstood(input, `output "${name}" named in the profile is missing`);
  const d = t.dims;
  const width = d[d.length - 1];
  const ok = (d.length === 3 && (width === 6 || (width === 7 && d[0] === 1))) || (d.length === 2 && (width === 6 || width === 7));
  if (!ok) throw notUnderstood(input, `${describe(name, t)} is not a tensor of detection rows`);
  const writer = boxWriter(input);
  const data = floatData(t);
  const out = new Candidates();
  const K = d[d.length - 2];

  if (width === 7) {
    // YOLOv7 ORT end2end: every image's rows in one tensor, tagged with the batch index.
    for (let r = 0; r < K; r++) {
      const o = r * 7;
      if (Math.round(data[o]) !== batchIndex) continue;
      const score = data[o + 6];
      const cls = Math.round(data[o + 5]);
      if (score < conf || cls < 0 || !classAllowed(allowed, cls)) continue;
      writer.push(out, data, o + 1, score, cls);
    }
    return out;
  }
  let base = 0;
  if (d.length === 3) {
    if (batchIndex >= d[0]) throw notUnderstood(input, `batch index ${batchIndex} is outside ${describe(name, t)}`);
    base = batchIndex * K * 6;
  } else if (batchIndex !== 0) {
    throw notUnderstood(input, `${describe(name, t)} has no batch dimension, so batch index ${batchIndex} does not exist`);
  }
  for (let r = 0; r < K; r++) {
    const o = base + r * 6;
    const score = data[o + 4];
    const cls = Math.round(data[o + 5]);
    if (score < conf || cls < 0 || !classAllowed(allowed, cls)) continue;
    writer.push(out, data, o, score, cls);
  }
  return out;
}

interface SeparateNames { boxes?: string; dets?: string; scores?: string; labels: string; count?: string }

function resolveSeparate(input: DecodeInput): SeparateNames {
  const { outputs, outputNames, profile } = input;
  const named = profile.output.names ?? {};
  let boxes = pick(named.boxes);
  let dets = pick(named.dets);
  let scores = pick(named.scores);
  let labels = pick(named.labels);
  let count = pick(named.numDetections);
  const present = outputNames.filter((n) => outputs[n] !== undefined);
  const last = (n: string): number => outputs[n].dims[outputs[n].dims.length - 1];
  const boxish = (n: string): boolean => outputs[n].dims.length >= 2 && outputs[n].dims.length <= 3;
  if (boxes === undefined && dets === undefined) {
    const fours = present.filter((n) => boxish(n) && last(n) === 4);
    const fives = present.filter((n) => boxish(n) && last(n) === 5);
    if (fours.length === 1) boxes = fours[0];
    else if (fours.length === 0 && fives.length === 1) dets = fives[0];
    else boxes = fours.find((n) => /box/i.test(n));
  }
  const main = boxes ?? dets;
  if (main === undefined || outputs[main] === undefined) throw notUnderstood(input, 'found no boxes [1,K,4] or dets [1,K,5] tensor');
  const md = outputs[main].dims;
  const batched = md.length === 3;
  const K = md[md.length - 2];
  const B = batched ? md[0] : 1;
  // Per-row tensors: [B,K] when batched, [K] when not.
  const perRow = present.filter((n) => {
    if (n === main) return false;
    const d = outputs[n].dims;
    return batched ? d.length === 2 && d[0] === B && d[1] === K : d.length === 1 && d[0] === K;
  });
  const isCountName = (n: string): boolean => /num|count/i.test(n);
  if (count === undefined) {
    // A [B] or [B,1] tensor that is not per-row; when K is 1 the shapes coincide, so the name decides.
    const small = present.filter((n) => n !== main && outputs[n].dims.length <= 2 && outputs[n].dims.reduce((a, b) => a * b, 1) === B);
    count = small.find(isCountName) ?? small.find((n) => !perRow.includes(n));
  }
  const rows = perRow.filter((n) => n !== count);
  if (labels === undefined) {
    const ints = rows.filter((n) => n !== scores && INTEGER_TYPES.has(outputs[n].type));
    labels = ints.length === 1 ? ints[0] : rows.find((n) => n !== scores && /label|class|cls/i.test(n));
    // dets + one per-row tensor: that tensor can only be the labels.
    if (labels === undefined && dets !== undefined && rows.length === 1) labels = rows[0];
  }
  if (scores === undefined && dets === undefined) {
    const others = rows.filter((n) => n !== labels);
    scores = others.length === 1 ? others[0] : others.find((n) => /score|conf/i.test(n));
  }
  if (labels === undefined) throw notUnderstood(input, `found no labels tensor of ${batched ? `[${B},${K}]` : `[${K}]`}`);
  if (dets === undefined && scores === undefined) throw notUnderstood(input, `found no scores tensor of ${batched ? `[${B},${K}]` : `[${K}]`}`);
  return { boxes, dets, scores, labels, count };
}

/** Layout (b): separate boxes/dets, scores, labels and an optional count. */
function decodeSeparate(input: DecodeInput): Candidates {
  const { outputs, conf, allowed, batchIndex } = input;
  const names = resolveSeparate(input);
  const mainName = (names.boxes ?? names.dets)!;
  const mt = outputs[mainName];
  const width = names.boxes !== undefined ? 4 : 5;
  if (!mt || (mt.dims.length !== 2 && mt.dims.length !== 3) || mt.dims[mt.dims.length - 1] !== width) {
    throw notUnderstood(input, `${names.boxes !== undefined ? 'boxes' : 'dets'} ${describe(mainName, mt)} should be [1,K,${width}]`);
  }
  const batched = mt.dims.length === 3;
  const K = mt.dims[mt.dims.length - 2];
  if (batched ? batchIndex >= mt.dims[0] : batchIndex !== 0) {
    throw notUnderstood(input, `batch index ${batchIndex} is outside ${describe(mainName, mt)}`);
  }
  const perRow = (name: string, role: string): Float32Array => {
    const t = outputs[name];
    const d = t?.dims;
    const ok = t !== undefined && (batched ? d!.length === 2 && d![0] === mt.dims[0] && d![1] === K : d!.length === 1 && d![0] === K);
    if (!ok) throw notUnderstood(input, `${role} ${describe(name, t)} does not have one value per row of ${describe(mainName, mt)}`);
    const off = batched ? batchIndex * K : 0;
    return floatData(t).subarray(off, off + K);
  };
  const labels = perRow(names.labels, 'labels');
  const scores = names.scores !== undefined ? perRow(names.scores, 'scores') : null;
  let n = K;
  if (names.count !== undefined) {
    const ct = outputs[names.count];
    if (!ct) throw notUnderstood(input, `detection count "${names.count}" is missing`);
    const cd = floatData(ct);
    const idx = batched ? batchIndex : 0;
    if (idx >= cd.length) throw notUnderstood(input, `detection count ${describe(names.count, ct)} has no entry for batch index ${batchIndex}`);
    n = Math.max(0, Math.min(K, Math.round(cd[idx])));
  }
  const data = floatData(mt);
  const base = batched ? batchIndex * K * width : 0;
  const writer = boxWriter(input);
  const out = new Candidates();
  for (let r = 0; r < n; r++) {
    const o = base + r * width;
    const score = scores ? scores[r] : data[o + 4];
    const cls = Math.round(labels[r]);
    if (score < conf || cls < 0 || !classAllowed(allowed, cls)) continue;
    writer.push(out, data, o, score, cls);
  }
  return out;
}
