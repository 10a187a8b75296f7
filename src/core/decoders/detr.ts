/**
 * DETR-family set predictions (DETR, Deformable DETR, RT-DETR, D-FINE, DEIM…). No NMS: each
 * query predicts at most one object. Two export conventions:
 *
 * (a) post-processed in the graph: `labels [N,Q]` (int64), `boxes [N,Q,4]`, `scores [N,Q]`.
 *     DEIMv2 / D-FINE / RT-DETR exports take an `orig_target_sizes` input and return x1,y1,x2,y2
 *     in ORIGINAL-image pixels (`output.boxesInOriginal`), which this decoder passes through.
 *     Without it, boxes are network pixels, or normalised when `output.normalized` is set.
 * (b) raw heads: `logits [N,Q,C]` and `pred_boxes [N,Q,4]` normalised cx,cy,w,h of the network
 *     input (so they are scaled by the input width/height here and mapped back like any other
 *     family). `output.activation`:
 *     - 'sigmoid' (default; Deformable DETR / RT-DETR focal-loss heads): best class by logit;
 *     - 'softmax' (original DETR): the last class is "no object" and is dropped
 *       (override with `output.backgroundClass`); classes after a dropped background shift down;
 *     - 'none': the tensor already holds probabilities.
 *
 * Roles come from `output.names.{labels,boxes,scores,logits}`, else from dtype and shape.
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

function describeAll({ outputs, outputNames }: DecodeInput): string {
  return outputNames.map((n) => describe(n, outputs[n])).join(', ');
}

function pick(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

interface PostNames { kind: 'post'; labels: string; boxes: string; scores: string }
interface RawNames { kind: 'raw'; logits: string; boxes: string }

function resolveNames(input: DecodeInput): PostNames | RawNames {
  const { outputs, outputNames, profile } = input;
  const named = profile.output.names ?? {};
  let labels = pick(named.labels);
  let boxes = pick(named.boxes);
  let scores = pick(named.scores);
  let logits = pick(named.logits);
  const present = outputNames.filter((n) => outputs[n] !== undefined);
  const boxLike = present.filter((n) => outputs[n].dims.length === 3 && outputs[n].dims[2] === 4);
  const isBoxName = (n: string): boolean => /box/i.test(n);
  const chooseBoxes = (): string | undefined => (boxLike.length === 1 ? boxLike[0] : boxLike.find(isBoxName));

  // Raw heads: a `logits`-named output (Hugging Face exports add rank-3 hidden states beside
  // it), or only rank-3 outputs.
  const logitsNamed = present.find((n) => /logits/i.test(n) && outputs[n].dims.length === 3);
  const raw = logits !== undefined || (labels === undefined && scores === undefined
    && (logitsNamed !== undefined || (present.length === 2 && present.every((n) => outputs[n].dims.length === 3))));
  if (raw) {
    boxes ??= chooseBoxes();
    logits ??= logitsNamed ?? present.find((n) => n !== boxes && outputs[n].dims.length === 3);
    if (boxes && logits) return { kind: 'raw', logits, boxes };
  } else {
    boxes ??= chooseBoxes();
    const rank2 = present.filter((n) => n !== boxes && outputs[n].dims.length === 2);
    const ints = rank2.filter((n) => INTEGER_TYPES.has(outputs[n].type));
    const floats = rank2.filter((n) => !INTEGER_TYPES.has(outputs[n].type));
    // Labels are integers in most exports; float labels fall back to the conventional names.
    labels ??= ints.length === 1 ? ints[0] : rank2.find((n) => /label|class/i.test(n));
    scores ??= floats.length === 1 && floats[0] !== labels ? floats[0] : rank2.find((n) => n !== labels && /score|conf/i.test(n));
    if (boxes && labels && scores) return { kind: 'post', labels, boxes, scores };
  }
  throw new TearlessError(
    'TL_ERR_MODEL_NOT_UNDERSTOOD',
    `DETR head: expected labels [N,Q] + boxes [N,Q,4] + scores [N,Q], or logits [N,Q,C] + pred_boxes [N,Q,4], but the outputs are ${describeAll(input)}; set "output.names" in the profile.`,
  );
}

/** Push one box of format `fmt`, scaled by (sx, sy). */
function pushBox(out: Candidates, fmt: string, b: Float32Array, o: number, sx: number, sy: number, score: number, classId: number): void {
  const a = b[o] * sx;
  const c = b[o + 1] * sy;
  const d = b[o + 2] * sx;
  const e = b[o + 3] * sy;
  if (fmt === 'cxcywh') out.pushCxcywh(a, c, d, e, score, classId);
  else if (fmt === 'xywh') out.push(a, c, a + d, c + e, score, classId);
  else out.push(a, c, d, e, score, classId);
}

function checkBatch(name: string, t: CoreTensor, batchIndex: number): void {
  if (batchIndex >= t.dims[0]) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `DETR head: batch index ${batchIndex} is outside ${describe(name, t)}.`);
  }
}

export function decodeDetr(input: DecodeInput): Candidates {
  const names = resolveNames(input);
  return names.kind === 'post' ? decodePost(input, names) : decodeRaw(input, names);
}

function decodePost(input: DecodeInput, names: PostNames): Candidates {
  const { outputs, profile, conf, allowed, batchIndex } = input;
  const lt = outputs[names.labels];
  const bt = outputs[names.boxes];
  const st = outputs[names.scores];
  if (!lt || !bt || !st || lt.dims.length !== 2 || st.dims.length !== 2 || bt.dims.length !== 3 || bt.dims[2] !== 4
    || lt.dims[1] !== bt.dims[1] || st.dims[1] !== bt.dims[1]) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `DETR head: labels ${describe(names.labels, lt)}, boxes ${describe(names.boxes, bt)} and scores ${describe(names.scores, st)} do not match; expected [N,Q], [N,Q,4] and [N,Q].`,
    );
  }
  checkBatch(names.boxes, bt, batchIndex);
  const Q = bt.dims[1];
  const spec = profile.output;
  if (spec.boxesInOriginal && spec.normalized) {
    // The decoder does not know the original size; normalised-to-original boxes would need it.
    throw new TearlessError('TL_ERR_PROFILE_INVALID', 'DETR profile sets both "output.boxesInOriginal" and "output.normalized"; boxes are either original-image pixels or normalised to the network input.');
  }
  const sx = spec.normalized ? profile.input.width : 1;
  const sy = spec.normalized ? profile.input.height : 1;
  const fmt = spec.boxFormat ?? 'xyxy';
  const bg = spec.backgroundClass ?? -1;
  const labels = floatData(lt).subarray(batchIndex * Q, (batchIndex + 1) * Q);
  const scores = floatData(st).subarray(batchIndex * Q, (batchIndex + 1) * Q);
  const boxes = floatData(bt).subarray(batchIndex * Q * 4, (batchIndex + 1) * Q * 4);
  const out = new Candidates();
  for (let q = 0; q < Q; q++) {
    const score = scores[q];
    if (score < conf) continue;
    const label = Math.round(labels[q]);
    if (label < 0 || label === bg) continue; // -1 pads some exports' fixed-size outputs
    const id = bg >= 0 && label > bg ? label - 1 : label;
    if (!classAllowed(allowed, id)) continue;
    pushBox(out, fmt, boxes, q * 4, sx, sy, score, id);
  }
  return out;
}

function decodeRaw(input: DecodeInput, names: RawNames): Candidates {
  const { outputs, profile, conf, allowed, batchIndex } = input;
  const lt = outputs[names.logits];
  const bt = outputs[names.boxes];
  if (!lt || !bt || lt.dims.length !== 3 || bt.dims.length !== 3 || bt.dims[2] !== 4 || lt.dims[1] !== bt.dims[1] || lt.dims[2] < 1) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `DETR head: logits ${describe(names.logits, lt)} and boxes ${describe(names.boxes, bt)} do not match; expected [N,Q,C] and [N,Q,4] with the same number of queries Q.`,
    );
  }
  checkBatch(names.logits, lt, batchIndex);
  const Q = lt.dims[1];
  const C = lt.dims[2];
  const spec = profile.output;
  const activation = spec.activation ?? 'sigmoid';
  const bg = spec.backgroundClass ?? (activation === 'softmax' ? C - 1 : -1);
  const normalized = spec.normalized ?? true;
  const sx = normalized ? profile.input.width : 1;
  const sy = normalized ? profile.input.height : 1;
  const fmt = spec.boxFormat ?? 'cxcywh';
  const logits = floatData(lt).subarray(batchIndex * Q * C, (batchIndex + 1) * Q * C);
  const boxes = floatData(bt).subarray(batchIndex * Q * 4, (batchIndex + 1) * Q * 4);
  const out = new Candidates();
  for (let q = 0; q < Q; q++) {
    const o = q * C;
    // Best allowed foreground class by raw value: sigmoid and softmax are both monotonic.
    let best = -1;
    let bestValue = -Infinity;
    for (let c = 0; c < C; c++) {
      if (c === bg) continue;
      const id = bg >= 0 && c > bg ? c - 1 : c;
      if (logits[o + c] > bestValue && classAllowed(allowed, id)) { bestValue = logits[o + c]; best = c; }
    }
    if (best < 0) continue;
    let score: number;
    if (activation === 'softmax') {
      // The normaliser runs over every class, the no-object one included.
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (logits[o + c] > max) max = logits[o + c];
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[o + c] - max);
      score = Math.exp(bestValue - max) / sum;
    } else if (activation === 'sigmoid') {
      score = 1 / (1 + Math.exp(-bestValue));
    } else {
      score = bestValue;
    }
    if (score < conf) continue;
    const id = bg >= 0 && best > bg ? best - 1 : best;
    pushBox(out, fmt, boxes, q * 4, sx, sy, score, id);
  }
  return out;
}
