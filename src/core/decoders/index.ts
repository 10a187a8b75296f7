/** Registry: output family → decoder. One file per family. */
import type { OutputFamily } from '../types.js';
import type { Decoder } from './types.js';
import { decodeYolox } from './yolox.js';
import { decodeYolov5 } from './yolov5.js';
import { decodeYolov8 } from './yolov8.js';
import { decodeEnd2end } from './end2end.js';
import { decodeDetr } from './detr.js';
import { decodeGfl } from './gfl.js';
import { decodeSsd } from './ssd.js';

export const DECODERS: Record<OutputFamily, Decoder> = {
  yolox: decodeYolox,
  yolov5: decodeYolov5,
  yolov8: decodeYolov8,
  end2end: decodeEnd2end,
  detr: decodeDetr,
  gfl: decodeGfl,
  ssd: decodeSsd,
};

export type { Decoder, DecodeInput } from './types.js';
