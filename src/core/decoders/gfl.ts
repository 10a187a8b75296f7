/**
 * GFL heads (NanoDet, PP-PicoDet legacy exports): per stride one class-score tensor
 * `[1, HW, C]` (already sigmoid) and one distance-distribution tensor `[1, HW, 4·(regMax+1)]`.
 * Each side (left, top, right, bottom) is a discrete distribution over `regMax + 1` bins;
 * its distance is the expectation `Σ i·softmax(bins)_i` in stride units. Cells are the grid
 * of `ceil(W/s) × ceil(H/s)`, row-major, with centre `((gx + 0.5)·s, (gy + 0.5)·s)` as upstream
 * NanoDet's `get_single_level_center_point` computes it. (Some ONNX demos use the mmdet-v1
 * centre `gx·s + (s−1)/2`, half a network pixel away; on the COCO fixtures the upstream centre
 * gives the higher median IoU with ground truth, 0.864 vs 0.845.) NanoDet-Plus
 * (centre `gx·s`, one concatenated `[1, N, C + 4·(regMax+1)]` output) is a different layout
 * that this decoder does not read.
 *
 * Tensor roles come from `profile.output.names.scores` / `.boxes` (string[] in stride order);
 * PicoDet's paddle2onnx names are opaque (`save_infer_model/scale_N.tmp_1`), so without names
 * the roles are inferred from shapes: last dim `4·(regMax+1)` is a distribution, the other
 * rank-3 tensors are class scores, and levels are ordered by HW descending (= stride ascending).
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { TearlessError } from '../errors.js';
import type { CoreTensor } from '../types.js';
import { classAllowed, type DecodeInput } from './types.js';

interface Level {
  stride: number;
  cells: number;
  gw: number;
  scores: Float32Array;
  dist: Float32Array;
}

function nameList(v: string | string[] | undefined): string[] | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v : [v];
}

function describe(name: string, t: CoreTensor): string {
  return `"${name}" [${t.dims.join(',')}]`;
}

function getTensor(outputs: Record<string, CoreTensor>, name: string, role: string): CoreTensor {
  const t = outputs[name];
  if (!t) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL ${role} output "${name}" named in the profile is not among the model outputs (${Object.keys(outputs).join(', ')}).`);
  }
  return t;
}

/** Score and distribution tensor names, both in stride-ascending order. */
function resolveNames(input: DecodeInput, distWidth: number): { scores: string[]; boxes: string[] } {
  const { outputs, outputNames, profile } = input;
  const scores = nameList(profile.output.names?.scores);
  const boxes = nameList(profile.output.names?.boxes);
  if (scores && boxes) return { scores, boxes };
  // Infer from shapes. A stable sort keeps graph order among equal HW (never expected).
  const rank3 = outputNames.filter((n) => outputs[n]?.dims.length === 3);
  const dist = rank3.filter((n) => outputs[n].dims[2] === distWidth);
  const cls = rank3.filter((n) => outputs[n].dims[2] !== distWidth);
  if (dist.length === 0 || cls.length !== dist.length) {
    const seen = outputNames.map((n) => (outputs[n] ? describe(n, outputs[n]) : `"${n}" (missing)`)).join(', ');
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `GFL head: expected pairs of class-score tensors [1,HW,C] and distribution tensors [1,HW,${distWidth}] (regMax ${distWidth / 4 - 1}) but the outputs are ${seen}; set "output.names.scores" / "output.names.boxes" (and "output.regMax") in the profile.`,
    );
  }
  const byCells = (a: string, b: string): number => outputs[b].dims[1] - outputs[a].dims[1];
  return { scores: scores ?? [...cls].sort(byCells), boxes: boxes ?? [...dist].sort(byCells) };
}

/** Stride whose `ceil(W/s) × ceil(H/s)` grid has `cells` cells. */
function inferStride(cells: number, W: number, H: number): number | null {
  for (let s = 4; s <= 256; s *= 2) if (Math.ceil(W / s) * Math.ceil(H / s) === cells) return s;
  return null;
}

export function decodeGfl(input: DecodeInput): Candidates {
  const { outputs, profile, conf, allowed, batchIndex } = input;
  const regMax = profile.output.regMax ?? 7;
  const bins = regMax + 1;
  const distWidth = 4 * bins;
  const { width: W, height: H } = profile.input;
  const names = resolveNames(input, distWidth);
  if (names.scores.length !== names.boxes.length) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL head: ${names.scores.length} score tensors but ${names.boxes.length} distribution tensors in "output.names"; expected one of each per stride.`);
  }
  const strides = profile.output.strides;
  if (strides && strides.length !== names.scores.length) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL head: the profile lists ${strides.length} strides (${strides.join(', ')}) but the model has ${names.scores.length} score tensors.`);
  }

  let numClasses = -1;
  const levels: Level[] = [];
  for (let i = 0; i < names.scores.length; i++) {
    const st = getTensor(outputs, names.scores[i], 'class-score');
    const dt = getTensor(outputs, names.boxes[i], 'distribution');
    if (st.dims.length !== 3 || dt.dims.length !== 3 || dt.dims[2] !== distWidth || st.dims[1] !== dt.dims[1]) {
      throw new TearlessError(
        'TL_ERR_MODEL_NOT_UNDERSTOOD',
        `GFL level ${i}: class scores ${describe(names.scores[i], st)} and distributions ${describe(names.boxes[i], dt)} do not pair up; expected [N,HW,C] and [N,HW,${distWidth}] with the same HW (regMax ${regMax}).`,
      );
    }
    if (batchIndex >= st.dims[0] || batchIndex >= dt.dims[0]) {
      throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL level ${i}: batch index ${batchIndex} is outside ${describe(names.scores[i], st)}.`);
    }
    const cells = st.dims[1];
    const C = st.dims[2];
    if (numClasses < 0) numClasses = C;
    else if (C !== numClasses) {
      throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL level ${i}: ${describe(names.scores[i], st)} has ${C} classes but earlier levels have ${numClasses}.`);
    }
    const stride = strides ? strides[i] : inferStride(cells, W, H);
    if (stride === null) {
      throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL level ${i}: ${describe(names.scores[i], st)} has ${cells} cells, which is no ceil(${W}/s)×ceil(${H}/s) grid; set "output.strides" in the profile.`);
    }
    const gw = Math.ceil(W / stride);
    const gh = Math.ceil(H / stride);
    if (gw * gh !== cells) {
      throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `GFL level ${i}: ${describe(names.scores[i], st)} has ${cells} cells but stride ${stride} on a ${W}×${H} input gives a ${gw}×${gh} grid (${gw * gh} cells).`);
    }
    // Views of this image's slice; floatData is a view for float32 outputs (no copy).
    const sAll = floatData(st);
    const dAll = floatData(dt);
    levels.push({
      stride,
      cells,
      gw,
      scores: sAll.subarray(batchIndex * cells * C, (batchIndex + 1) * cells * C),
      dist: dAll.subarray(batchIndex * cells * distWidth, (batchIndex + 1) * cells * distWidth),
    });
  }

  const out = new Candidates();
  const side = new Float64Array(4);
  for (const { stride: s, cells, gw, scores, dist } of levels) {
    const offset = s / 2;
    for (let cell = 0; cell < cells; cell++) {
      const o = cell * numClasses;
      let best = -1;
      let bestScore = conf;
      for (let c = 0; c < numClasses; c++) {
        const v = scores[o + c];
        if (v >= bestScore && classAllowed(allowed, c)) { bestScore = v; best = c; }
      }
      // The softmax is the expensive part: only cells that will survive pay for it.
      if (best < 0) continue;
      const d = cell * distWidth;
      for (let k = 0; k < 4; k++) {
        const b = d + k * bins;
        let max = -Infinity;
        for (let j = 0; j < bins; j++) if (dist[b + j] > max) max = dist[b + j];
        let sum = 0;
        let acc = 0;
        for (let j = 0; j < bins; j++) {
          const e = Math.exp(dist[b + j] - max);
          sum += e;
          acc += j * e;
        }
        side[k] = (acc / sum) * s;
      }
      const cx = (cell % gw) * s + offset;
      const cy = Math.floor(cell / gw) * s + offset;
      out.push(cx - side[0], cy - side[1], cx + side[2], cy + side[3], bestScore, best);
    }
  }
  return out;
}
