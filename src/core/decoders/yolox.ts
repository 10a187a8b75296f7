/**
 * YOLOX head `[1, N, 5 + C]`: rows `[tx, ty, tw, th, obj, cls…]` with obj/cls already
 * sigmoid. Raw grid exports (decode_in_inference=False) hold offsets per cell, row-major
 * per stride (8/16/32, plus 64 for P6 models); decoded exports hold cx, cy, w, h in pixels.
 * Score is obj × best class score.
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { TearlessError } from '../errors.js';
import { classAllowed, type DecodeInput } from './types.js';

/** Strides whose grids add up to `rows` cells for an input of `width × height`. */
export function gridStrides(rows: number, width: number, height: number): number[] | null {
  for (const strides of [[8, 16, 32], [8, 16, 32, 64], [16, 32, 64]]) {
    let n = 0;
    for (const s of strides) n += Math.floor(height / s) * Math.floor(width / s);
    if (n === rows) return strides;
  }
  return null;
}

export function decodeYolox({ outputs, outputNames, profile, conf, allowed, batchIndex }: DecodeInput): Candidates {
  const name = (profile.output.names?.output as string | undefined) ?? outputNames[0];
  const t = outputs[name];
  const [, rows, width] = t.dims;
  const numClasses = width - 5;
  const data = floatData(t);
  const base = batchIndex * rows * width;
  const out = new Candidates();
  const { width: W, height: H } = profile.input;

  const decoded = profile.output.decoded === true;
  const strides = profile.output.strides ?? gridStrides(rows, W, H);
  if (!decoded && !strides) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `YOLOX output has ${rows} rows, which matches no stride set for a ${W}×${H} input; set "output.strides" in the profile.`);
  }
  // Grid position and stride of each row (raw exports only).
  let row = 0;
  const levels = decoded ? [{ s: 1, gw: rows, gh: 1 }] : strides!.map((s) => ({ s, gw: Math.floor(W / s), gh: Math.floor(H / s) }));
  for (const { s, gw, gh } of levels) {
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, row++) {
        const o = base + row * width;
        const obj = data[o + 4];
        if (obj < conf) continue; // score = obj × cls ≤ obj
        let best = -1;
        let bestScore = 0;
        for (let c = 0; c < numClasses; c++) {
          const v = data[o + 5 + c];
          if (v > bestScore && classAllowed(allowed, c)) { bestScore = v; best = c; }
        }
        const score = obj * bestScore;
        if (best < 0 || score < conf) continue;
        if (decoded) {
          out.pushCxcywh(data[o], data[o + 1], data[o + 2], data[o + 3], score, best);
        } else {
          const cx = (data[o] + gx) * s;
          const cy = (data[o + 1] + gy) * s;
          const w = Math.exp(data[o + 2]) * s;
          const h = Math.exp(data[o + 3]) * s;
          out.pushCxcywh(cx, cy, w, h, score, best);
        }
      }
    }
  }
  return out;
}
