/**
 * YOLOv5-style decoded head `[1, N, 5 + C]`: rows `[cx, cy, w, h, obj, cls…]` in network
 * pixels, post-sigmoid; score = obj × class score. Rows may carry extras between obj and the
 * class scores (YOLOv5-face / HyperLPR plates: 8 landmark values), set by `classOffset`.
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { classAllowed, type DecodeInput } from './types.js';

export function decodeYolov5({ outputs, outputNames, profile, conf, allowed, batchIndex }: DecodeInput): Candidates {
  const t = outputs[(profile.output.names?.output as string | undefined) ?? outputNames[0]];
  const [, rows, width] = t.dims;
  const classOffset = profile.output.classOffset ?? 5;
  const numClasses = profile.output.numClasses ?? width - classOffset;
  const data = floatData(t);
  const base = batchIndex * rows * width;
  const out = new Candidates();
  for (let r = 0; r < rows; r++) {
    const o = base + r * width;
    const obj = data[o + 4];
    if (obj < conf) continue;
    let best = -1;
    let bestScore = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = data[o + classOffset + c];
      if (v > bestScore && classAllowed(allowed, c)) { bestScore = v; best = c; }
    }
    const score = obj * bestScore;
    if (best < 0 || score < conf) continue;
    out.pushCxcywh(data[o], data[o + 1], data[o + 2], data[o + 3], score, best);
  }
  return out;
}
