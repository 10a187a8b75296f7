/**
 * SSD-style heads (UltraFace and kin): `scores [1, N, C]` with a background class and
 * `boxes [1, N, 4]`, one row per prior. Two box conventions share the same network:
 * - decoded in the graph: normalised x1, y1, x2, y2 in [0, 1] of the network input
 *   (UltraFace `version-RFB-320.onnx`), multiplied here by the input width/height;
 * - raw offsets (dx, dy, dw, dh) when `profile.output.priors` is set
 *   (`..._without_postprocessing.onnx`), decoded against the priors of `ssdPriors`:
 *   `cx = px + dx·v0·pw`, `w = pw·exp(dw·v1)` (and the same for y, h), v = `priors.variance`.
 *
 * Class ids: the background class (`output.backgroundClass`, default 0; a negative value
 * means "none") is dropped and the classes after it shift down by one, so ids index the
 * foreground labels. For UltraFace ([background, face]) the face class is therefore id 0
 * and the profile's labels are just `['face']`.
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { TearlessError } from '../errors.js';
import type { CoreTensor, OutputSpec } from '../types.js';
import { classAllowed, type DecodeInput } from './types.js';

/** The priors part of an SSD output spec. */
export type SsdPriorSpec = NonNullable<OutputSpec['priors']>;

/**
 * Priors as interleaved normalised `cx, cy, w, h`, in the order the heads emit them:
 * level → row → column → min-size. Feature maps are `fw × fh = ceil(W/s) × ceil(H/s)` and
 * centres are `((col + 0.5) / fw, (row + 0.5) / fh)`: relative to the ceiled map, not to
 * `W/s`, which differs when `s` does not divide the input (240/32 = 7.5 → 8 rows). All values
 * are clamped to [0, 1] (256/240 > 1 becomes 1). Both details are what UltraFace's in-graph
 * decoding bakes in: with them the raw export reproduces the decoded one to ~1e-7 on every
 * one of the 4420 priors; centring on `W/s` or skipping the clamp moves the stride-32/64
 * boxes by up to 6% of the image.
 */
export function ssdPriors(spec: SsdPriorSpec, inputWidth: number, inputHeight: number): Float32Array {
  const { minSizes, strides } = spec;
  if (minSizes.length !== strides.length) {
    throw new TearlessError('TL_ERR_PROFILE_INVALID', `SSD priors: ${minSizes.length} min-size groups but ${strides.length} strides; expected one group per stride.`);
  }
  let count = 0;
  for (let l = 0; l < strides.length; l++) {
    count += Math.ceil(inputWidth / strides[l]) * Math.ceil(inputHeight / strides[l]) * minSizes[l].length;
  }
  const priors = new Float32Array(count * 4);
  let o = 0;
  for (let l = 0; l < strides.length; l++) {
    const s = strides[l];
    const fw = Math.ceil(inputWidth / s);
    const fh = Math.ceil(inputHeight / s);
    for (let row = 0; row < fh; row++) {
      const cy = clamp01((row + 0.5) / fh);
      for (let col = 0; col < fw; col++) {
        const cx = clamp01((col + 0.5) / fw);
        for (const m of minSizes[l]) {
          priors[o++] = cx;
          priors[o++] = cy;
          priors[o++] = clamp01(m / inputWidth);
          priors[o++] = clamp01(m / inputHeight);
        }
      }
    }
  }
  return priors;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

// Priors depend only on the (immutable) spec and input size: compute once per profile.
const priorCache = new WeakMap<SsdPriorSpec, { w: number; h: number; priors: Float32Array }>();

function cachedPriors(spec: SsdPriorSpec, w: number, h: number): Float32Array {
  const hit = priorCache.get(spec);
  if (hit && hit.w === w && hit.h === h) return hit.priors;
  const priors = ssdPriors(spec, w, h);
  priorCache.set(spec, { w, h, priors });
  return priors;
}

function describe(name: string, t: CoreTensor | undefined): string {
  return t ? `"${name}" [${t.dims.join(',')}]` : `"${name}" (missing)`;
}

/** Names of the scores and boxes tensors: from the profile, else by shape. */
function resolveNames({ outputs, outputNames, profile }: DecodeInput): { scores: string; boxes: string } {
  const named = profile.output.names;
  const pick = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  let scores = pick(named?.scores);
  let boxes = pick(named?.boxes);
  if (scores && boxes) return { scores, boxes };
  const rank3 = outputNames.filter((n) => outputs[n]?.dims.length === 3);
  const four = rank3.filter((n) => outputs[n].dims[2] === 4);
  const other = rank3.filter((n) => outputs[n].dims[2] !== 4);
  if (four.length === 1 && other.length === 1) {
    boxes ??= four[0];
    scores ??= other[0];
  } else if (four.length === 2 && other.length === 0) {
    // Four classes: both tensors end in 4; fall back to the conventional names.
    const isBox = (n: string): boolean => /box|loc|bbox/i.test(n);
    boxes ??= four.find(isBox);
    scores ??= four.find((n) => !isBox(n));
  }
  if (!scores || !boxes) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `SSD head: expected a scores tensor [1,N,C] and a boxes tensor [1,N,4] but the outputs are ${outputNames.map((n) => describe(n, outputs[n])).join(', ')}; set "output.names.scores" / "output.names.boxes" in the profile.`,
    );
  }
  return { scores, boxes };
}

export function decodeSsd(input: DecodeInput): Candidates {
  const { outputs, profile, conf, allowed, batchIndex } = input;
  const names = resolveNames(input);
  const st = outputs[names.scores];
  const bt = outputs[names.boxes];
  if (!st || !bt || st.dims.length !== 3 || bt.dims.length !== 3 || bt.dims[2] !== 4 || st.dims[1] !== bt.dims[1] || st.dims[2] < 1) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `SSD head: scores ${describe(names.scores, st)} and boxes ${describe(names.boxes, bt)} do not match; expected [N,P,C] and [N,P,4] with the same number of priors P.`,
    );
  }
  if (batchIndex >= st.dims[0] || batchIndex >= bt.dims[0]) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `SSD head: batch index ${batchIndex} is outside scores ${describe(names.scores, st)}.`);
  }
  const rows = st.dims[1];
  const C = st.dims[2];
  const { width: W, height: H } = profile.input;
  const spec = profile.output;
  const bg = spec.backgroundClass ?? 0;
  const activation = spec.activation ?? 'none';

  let priors: Float32Array | null = null;
  if (spec.priors) {
    priors = cachedPriors(spec.priors, W, H);
    if (priors.length / 4 !== rows) {
      throw new TearlessError(
        'TL_ERR_MODEL_NOT_UNDERSTOOD',
        `SSD head: boxes ${describe(names.boxes, bt)} has ${rows} rows but the priors (min sizes ${JSON.stringify(spec.priors.minSizes)}, strides ${spec.priors.strides.join(',')}) on a ${W}×${H} input give ${priors.length / 4}.`,
      );
    }
  }
  const [v0, v1] = spec.priors?.variance ?? [0.1, 0.2];
  // Decoded boxes are normalised unless the profile says they are pixels already.
  const sx = spec.normalized === false ? 1 : W;
  const sy = spec.normalized === false ? 1 : H;
  const format = spec.boxFormat ?? 'xyxy';

  const scores = floatData(st).subarray(batchIndex * rows * C, (batchIndex + 1) * rows * C);
  const boxes = floatData(bt).subarray(batchIndex * rows * 4, (batchIndex + 1) * rows * 4);
  const probs = new Float64Array(C);
  const out = new Candidates();
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    if (activation === 'softmax') {
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (scores[o + c] > max) max = scores[o + c];
      let sum = 0;
      for (let c = 0; c < C; c++) sum += probs[c] = Math.exp(scores[o + c] - max);
      for (let c = 0; c < C; c++) probs[c] /= sum;
    } else if (activation === 'sigmoid') {
      for (let c = 0; c < C; c++) probs[c] = 1 / (1 + Math.exp(-scores[o + c]));
    } else {
      for (let c = 0; c < C; c++) probs[c] = scores[o + c];
    }
    let best = -1;
    let bestScore = conf;
    for (let c = 0; c < C; c++) {
      if (c === bg) continue;
      const id = bg >= 0 && c > bg ? c - 1 : c;
      if (probs[c] >= bestScore && classAllowed(allowed, id)) { bestScore = probs[c]; best = id; }
    }
    if (best < 0) continue;
    const b = r * 4;
    if (priors) {
      const pw = priors[b + 2];
      const ph = priors[b + 3];
      const cx = priors[b] + boxes[b] * v0 * pw;
      const cy = priors[b + 1] + boxes[b + 1] * v0 * ph;
      const w = pw * Math.exp(boxes[b + 2] * v1);
      const h = ph * Math.exp(boxes[b + 3] * v1);
      out.pushCxcywh(cx * W, cy * H, w * W, h * H, bestScore, best);
    } else if (format === 'xyxy') {
      out.push(boxes[b] * sx, boxes[b + 1] * sy, boxes[b + 2] * sx, boxes[b + 3] * sy, bestScore, best);
    } else if (format === 'cxcywh') {
      out.pushCxcywh(boxes[b] * sx, boxes[b + 1] * sy, boxes[b + 2] * sx, boxes[b + 3] * sy, bestScore, best);
    } else {
      const x = boxes[b] * sx;
      const y = boxes[b + 1] * sy;
      out.push(x, y, x + boxes[b + 2] * sx, y + boxes[b + 3] * sy, bestScore, best);
    }
  }
  return out;
}
