/**
 * YOLOv8/11-style head: `[1, 4 + C, N]` channels-first (as Ultralytics exports it) or
 * `[1, N, 4 + C]`; `cx, cy, w, h` in network pixels then C sigmoid class scores, no objectness.
 */
import { Candidates } from '../candidates.js';
import { floatData } from '../tensor-data.js';
import { classAllowed, type DecodeInput } from './types.js';

export function decodeYolov8({ outputs, outputNames, profile, conf, allowed, batchIndex }: DecodeInput): Candidates {
  const t = outputs[(profile.output.names?.output as string | undefined) ?? outputNames[0]];
  const transposed = profile.output.transposed ?? true;
  const channels = transposed ? t.dims[1] : t.dims[2];
  const anchors = transposed ? t.dims[2] : t.dims[1];
  const classOffset = profile.output.classOffset ?? 4;
  const numClasses = profile.output.numClasses ?? channels - classOffset;
  const data = floatData(t);
  const base = batchIndex * channels * anchors;
  // Element (channel k, anchor a).
  const cs = transposed ? anchors : 1;
  const as = transposed ? 1 : channels;
  const out = new Candidates();
  for (let a = 0; a < anchors; a++) {
    const o = base + a * as;
    let best = -1;
    let bestScore = conf;
    for (let c = 0; c < numClasses; c++) {
      const v = data[o + (classOffset + c) * cs];
      if (v >= bestScore && classAllowed(allowed, c)) { bestScore = v; best = c; }
    }
    if (best < 0) continue;
    out.pushCxcywh(data[o], data[o + cs], data[o + 2 * cs], data[o + 3 * cs], bestScore, best);
  }
  return out;
}
