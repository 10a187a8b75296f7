/** Human-readable model signature and sidecar guidance, for "model not understood" errors. */
import type { ModelInfo } from '../types.js';

export function describeSignature(info: ModelInfo): string {
  const fmt = (v: { name: string; type: string; shape: readonly (number | string)[] }): string =>
    `    ${v.name}: ${v.type} [${v.shape.join(', ')}]`;
  return ['  inputs:', ...info.inputs.map(fmt), '  outputs:', ...info.outputs.map(fmt)].join('\n');
}

export const SIDECAR_HELP = `Describe the model in a sidecar JSON next to it (my_model.onnx → my_model.json), e.g.
  {
    "input": { "width": 640, "height": 640, "channels": "rgb", "scale": 0.00392156862745098,
               "resize": "letterbox", "anchor": "center", "padValue": 114 },
    "output": { "family": "yolov8" },
    "labels": ["cat", "dog"]
  }
Families: yolox, yolov5, yolov8, end2end, detr, gfl, ssd (see docs/profiles.md in the tearless package).`;

export function notUnderstoodMessage(what: string, info: ModelInfo): string {
  return `${what}\nThe model's signature is:\n${describeSignature(info)}\n${SIDECAR_HELP}`;
}
