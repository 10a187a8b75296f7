/**
 * Auto-detect a model profile from the ONNX signature (input/output names, shapes, dtypes),
 * `metadata_props` (Ultralytics' names/imgsz) and operator types. Each rule names the export
 * it recognises; anything else must be described by a sidecar profile.
 */
import { TearlessError } from '../errors.js';
import { COCO80_LABELS } from '../labels.js';
import { gridStrides } from '../decoders/yolox.js';
import type { InputSpec, ModelInfo, ModelProfile, OutputSpec, ValueInfo } from '../types.js';
import { notUnderstoodMessage } from './describe.js';

const IMAGENET_MEAN_255: [number, number, number] = [123.675, 116.28, 103.53];
const IMAGENET_STD_255: [number, number, number] = [58.395, 57.12, 57.375];

/** The image input: rank 4 with 3 channels (or the one named like an image). */
export function findImageInput(info: ModelInfo): ValueInfo | null {
  const rank4 = info.inputs.filter((i) => i.shape.length === 4 && i.type !== 'int64' && i.type !== 'int32');
  if (rank4.length === 0) return null;
  return rank4.find((i) => i.shape[1] === 3 || i.shape[3] === 3) ?? rank4.find((i) => /image|input/i.test(i.name)) ?? rank4[0];
}

/** Network input size: numeric dims, else Ultralytics' `imgsz` metadata, else 640. */
function inputSize(input: ValueInfo, layout: 'nchw' | 'nhwc', metadata: Record<string, string>): { width: number; height: number } {
  const h = input.shape[layout === 'nchw' ? 2 : 1];
  const w = input.shape[layout === 'nchw' ? 3 : 2];
  if (typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0) return { width: w, height: h };
  const imgsz = metadata.imgsz?.match(/\d+/g)?.map(Number);
  if (imgsz && imgsz.length >= 1) return { height: imgsz[0], width: imgsz[1] ?? imgsz[0] };
  return { width: 640, height: 640 };
}

/** Parse Ultralytics' `names` metadata: a Python dict literal `{0: 'person', 1: 'bicycle'}`. */
export function parseUltralyticsNames(text: string | undefined): string[] | null {
  if (!text) return null;
  const names: string[] = [];
  const re = /(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;
  for (let m = re.exec(text); m; m = re.exec(text)) names[Number(m[1])] = m[2] ?? m[3];
  if (names.length === 0) return null;
  for (let i = 0; i < names.length; i++) names[i] ??= `class_${i}`;
  return names;
}

interface FamilyGuess {
  output: OutputSpec;
  /** Pre-processing conventions of the exporting framework. */
  input: Partial<InputSpec>;
  numClasses: number;
  nms: boolean;
  /** Labels implied by the model kind (e.g. UltraFace's single face class). */
  labels?: string[];
}

const ULTRALYTICS_INPUT: Partial<InputSpec> = { channels: 'rgb', scale: 1 / 255, resize: 'letterbox', anchor: 'center', padValue: 114 };
const YOLOX_INPUT: Partial<InputSpec> = { channels: 'bgr', scale: 1, resize: 'letterbox', anchor: 'topleft', padValue: 114 };

const dim = (v: ValueInfo, i: number): number => (typeof v.shape[i] === 'number' ? (v.shape[i] as number) : -1);
const lower = (v: ValueInfo): string => v.name.toLowerCase();

function guessFamily(info: ModelInfo, W: number, H: number): FamilyGuess | null {
  const outs = info.outputs;
  const md = info.metadata;
  const ultralytics = 'stride' in md || md.author?.includes('Ultralytics') === true || 'names' in md;
  const byName = (re: RegExp): ValueInfo | undefined => outs.find((o) => re.test(lower(o)));

  if (outs.length === 1 && outs[0].shape.length === 3) {
    const o = outs[0];
    const a = dim(o, 1);
    const b = dim(o, 2);
    const anchorFree = (n: number): boolean => gridStrides(n, W, H) !== null;
    const anchorBased = (n: number): boolean => n % 3 === 0 && gridStrides(n / 3, W, H) !== null;
    if (b > 0 && b <= 7 && a > 0 && a <= 1000 && !anchorFree(a) && !anchorBased(a)) {
      return { output: { family: 'end2end', boxFormat: 'xyxy' }, input: ULTRALYTICS_INPUT, numClasses: 0, nms: false };
    }
    if (b >= 6 && anchorFree(a) && !ultralytics) {
      return { output: { family: 'yolox', strides: gridStrides(a, W, H)! }, input: YOLOX_INPUT, numClasses: b - 5, nms: true };
    }
    if (b >= 6 && anchorBased(a)) {
      return { output: { family: 'yolov5' }, input: ULTRALYTICS_INPUT, numClasses: b - 5, nms: true };
    }
    if (a >= 5 && anchorFree(b)) {
      return { output: { family: 'yolov8', transposed: true }, input: ULTRALYTICS_INPUT, numClasses: a - 4, nms: true };
    }
    if (b >= 5 && anchorFree(a) && ultralytics) {
      return { output: { family: 'yolov8', transposed: false }, input: ULTRALYTICS_INPUT, numClasses: b - 4, nms: true };
    }
    return null;
  }

  // DETR family: labels/boxes/scores with an original-size input (RT-DETR, D-FINE, DEIM).
  const sizeInput = info.inputs.find((i) => i.shape.length === 2 && /size/i.test(i.name));
  const labelsOut = byName(/^labels?$|class/);
  const boxesOut = byName(/box/);
  const scoresOut = byName(/score/);
  if (sizeInput && labelsOut && boxesOut && scoresOut) {
    return {
      output: { family: 'detr', boxesInOriginal: true, names: { labels: labelsOut.name, boxes: boxesOut.name, scores: scoresOut.name } },
      input: { channels: 'rgb', scale: 1 / 255, resize: 'stretch' },
      numClasses: 80,
      nms: false,
    };
  }
  const logits = byName(/logits/);
  const predBoxes = byName(/pred_boxes|boxes/);
  if (logits && predBoxes && outs.length === 2) {
    const c = dim(logits, 2);
    return {
      output: { family: 'detr', activation: 'softmax', names: { logits: logits.name, boxes: predBoxes.name } },
      input: { channels: 'rgb', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resize: 'stretch' },
      numClasses: c > 1 ? c - 1 : 0,
      nms: false,
    };
  }
  // mmdet / IceVision (VFNet etc.) end-to-end: dets [1,K,5] + labels [1,K].
  const dets = byName(/^dets$/);
  if (dets && labelsOut) {
    return {
      output: { family: 'end2end', names: { boxes: dets.name, labels: labelsOut.name } },
      input: { channels: 'rgb', scale: 1, mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255, resize: 'letterbox', anchor: 'topleft', padValue: 0 },
      numClasses: 80,
      nms: false,
    };
  }
  // torchvision-style end-to-end: boxes + scores + labels, no size input.
  if (boxesOut && scoresOut && labelsOut && outs.length >= 3) {
    return {
      output: { family: 'end2end', names: { boxes: boxesOut.name, scores: scoresOut.name, labels: labelsOut.name } },
      input: { channels: 'rgb', scale: 1 / 255, resize: 'stretch' },
      numClasses: 80,
      nms: false,
    };
  }
  // SSD (UltraFace): scores [1,N,C] softmax + boxes [1,N,4].
  if (outs.length === 2 && scoresOut && boxesOut && dim(boxesOut, 2) === 4 && dim(scoresOut, 1) === dim(boxesOut, 1)) {
    const decodedInGraph = info.opTypes?.includes('Exp') ?? true;
    const c = dim(scoresOut, 2);
    const output: OutputSpec = { family: 'ssd', backgroundClass: 0, names: { scores: scoresOut.name, boxes: boxesOut.name } };
    if (!decodedInGraph) {
      output.priors = { minSizes: [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]], strides: [8, 16, 32, 64], variance: [0.1, 0.2] };
    }
    return {
      output,
      input: { channels: 'rgb', scale: 1, mean: [127, 127, 127], std: [128, 128, 128], resize: 'stretch' },
      numClasses: c - 1,
      nms: true,
      labels: c === 2 ? ['face'] : undefined,
    };
  }
  // GFL heads (NanoDet, PicoDet): pairs of [1,HW,C] scores and [1,HW,4·(regMax+1)] distributions.
  const rank3 = outs.filter((o) => o.shape.length === 3 && dim(o, 1) > 0 && dim(o, 2) > 0);
  if (rank3.length === outs.length && outs.length >= 4 && outs.length % 2 === 0) {
    const lastDims = [...new Set(rank3.map((o) => dim(o, 2)))];
    if (lastDims.length === 2) {
      // Distribution tensors carry 4 sides × (regMax + 1) bins: 32 (NanoDet/PicoDet, regMax 7) or
      // 64 (regMax 15). Class tensors can also be divisible by 4 (80 classes), so prefer those.
      const candidates = lastDims.filter((d) => d % 4 === 0 && d / 4 >= 8 && rank3.filter((o) => dim(o, 2) === d).length === outs.length / 2);
      const distDim = candidates.find((d) => d === 32 || d === 64) ?? Math.min(...candidates);
      const clsDim = lastDims.find((d) => d !== distDim);
      if (Number.isFinite(distDim) && clsDim) {
        const byHw = (d: number): ValueInfo[] => rank3.filter((o) => dim(o, 2) === d).sort((x, y) => dim(y, 1) - dim(x, 1));
        const cls = byHw(clsDim);
        const dist = byHw(distDim);
        const strides = cls.map((o) => Math.round(Math.sqrt((W * H) / dim(o, 1))));
        const nanodet = outs.some((o) => /cls_pred/.test(o.name));
        return {
          output: { family: 'gfl', strides, regMax: distDim / 4 - 1, names: { scores: cls.map((o) => o.name), boxes: dist.map((o) => o.name) } },
          input: nanodet
            ? { channels: 'bgr', scale: 1, mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395], resize: 'letterbox', anchor: 'center', padValue: 0 }
            : { channels: 'rgb', scale: 1, mean: IMAGENET_MEAN_255, std: IMAGENET_STD_255, resize: 'stretch' },
          numClasses: clsDim,
          nms: true,
        };
      }
    }
  }
  return null;
}

/** Detect the profile of a model. Throws TL_ERR_MODEL_NOT_UNDERSTOOD with the signature and sidecar help. */
export function detectProfile(info: ModelInfo): ModelProfile {
  const image = findImageInput(info);
  if (!image) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', notUnderstoodMessage('No image input found (expected a rank-4 tensor such as [1, 3, H, W]).', info));
  }
  const layout: 'nchw' | 'nhwc' = image.shape[3] === 3 && image.shape[1] !== 3 ? 'nhwc' : 'nchw';
  const { width, height } = inputSize(image, layout, info.metadata);
  const guess = guessFamily(info, width, height);
  if (!guess) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', notUnderstoodMessage('The output layout matches no known detector family.', info));
  }
  const dtype = image.type === 'float16' ? 'float16' : image.type === 'uint8' ? 'uint8' : 'float32';
  const input: InputSpec = {
    name: image.name,
    width,
    height,
    layout,
    dtype,
    channels: 'rgb',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'letterbox',
    anchor: 'center',
    padValue: 114,
    ...guess.input,
  };
  const sizeInput = info.inputs.find((i) => i !== image && i.shape.length === 2 && /size/i.test(i.name));
  if (sizeInput) {
    input.origSizeInput = { name: sizeInput.name, order: 'wh', dtype: sizeInput.type === 'float32' ? 'float32' : sizeInput.type === 'int32' ? 'int32' : 'int64' };
  }
  const labels =
    parseUltralyticsNames(info.metadata.names) ??
    guess.labels ??
    (guess.numClasses === 80 || guess.numClasses === 0 ? [...COCO80_LABELS] : Array.from({ length: guess.numClasses }, (_, i) => `class_${i}`));
  return { input, output: guess.output, labels, nms: guess.nms, source: 'auto-detected' };
}
