/**
 * Shared types of the isomorphic core. Nothing here may depend on Node or the DOM:
 * the same code runs in onnxruntime-node, onnxruntime-web and the browser demo.
 */

/** One detected object, in original-image pixels. */
export interface Detection {
  /** Human-readable class name from the model's labels (or `class_<id>` when unnamed). */
  label: string;
  /** The model's own class index. */
  classId: number;
  /** Final confidence in [0, 1]. */
  score: number;
  /** `[x1, y1, x2, y2]` in original-image pixels, clipped to the image. */
  box: [number, number, number, number];
}

/** Element types a model input or output can have (ONNX names as onnxruntime-js spells them). */
export type TensorDataType =
  | 'float32' | 'float16' | 'float64'
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'uint32' | 'uint64'
  | 'bool' | 'string';

/** A tensor as the core sees it: plain data + dims, backend-agnostic. */
export interface CoreTensor {
  type: TensorDataType;
  data: Float32Array | Uint16Array | Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float64Array | BigUint64Array | Uint32Array | string[];
  dims: readonly number[];
}

/** Description of one model input/output, as read from the ONNX graph. */
export interface ValueInfo {
  name: string;
  type: TensorDataType | 'unknown';
  /** Dimensions; symbolic or unknown dimensions are strings (e.g. "batch") or -1. */
  shape: readonly (number | string)[];
}

/** What the runtime can tell about a model before running it. */
export interface ModelInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** ONNX `metadata_props` (e.g. Ultralytics' `names`, `stride`, `imgsz`). */
  metadata: Record<string, string>;
  /** Operator types used in the graph (helps tell apart exports with identical signatures). */
  opTypes?: string[];
  /** Producer name and version, e.g. "pytorch 1.10". */
  producer?: string;
}

/** Channel order the network expects. */
export type ChannelOrder = 'rgb' | 'bgr';

/** How the image is fitted into the network input. */
export type ResizeMode = 'letterbox' | 'stretch';

/** Where the resized image sits inside a letterboxed canvas. */
export type LetterboxAnchor = 'topleft' | 'center';

/** How to feed the model: everything pre-processing needs. */
export interface InputSpec {
  /** Name of the image input. */
  name: string;
  width: number;
  height: number;
  /** Memory layout of the image tensor. */
  layout: 'nchw' | 'nhwc';
  dtype: 'float32' | 'float16' | 'uint8';
  channels: ChannelOrder;
  /** Pixel value v (0–255) becomes `(v * scale - mean[c]) / std[c]`; mean/std in the scaled units. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  resize: ResizeMode;
  anchor: LetterboxAnchor;
  /** Letterbox padding value in raw 0–255 pixel units (applied before scale/mean/std). */
  padValue: number;
  /** Name of an extra input that receives the original image size (DETR-style exports). */
  origSizeInput?: { name: string; order: 'wh' | 'hw'; dtype: 'int64' | 'int32' | 'float32' };
}

/** Output families: each has a decoder in `core/decoders/<family>.ts`. */
export type OutputFamily =
  | 'yolox'        // raw YOLOX grid [1, N, 5+C] (tx, ty, tw, th, obj, cls…), decoded here
  | 'yolov5'       // decoded [1, N, 5+C] cx,cy,w,h,obj,cls… (obj × cls)
  | 'yolov8'       // decoded [1, 4+C, N] (or [1, N, 4+C]) cx,cy,w,h,cls… (no objectness)
  | 'end2end'      // NMS in the graph: [1, K, 6] or boxes/scores/labels tensors
  | 'detr'         // logits + normalised cxcywh boxes, or labels/boxes/scores
  | 'gfl'          // NanoDet / PicoDet: per-stride class scores + box distance distributions
  | 'ssd';         // scores + boxes, decoded in graph (normalised xyxy) or against priors

/** How to read the model's outputs. Only the fields of the chosen family are used. */
export interface OutputSpec {
  family: OutputFamily;
  /** Feature strides for grid-based heads (yolox, gfl). */
  strides?: number[];
  /** yolox: whether the grid is already decoded into pixels (decode_in_inference=True). */
  decoded?: boolean;
  /** yolov5 / yolov8: number of extra values per row after the class scores start offset (e.g. landmarks). */
  classOffset?: number;
  /** yolov5 / yolov8: number of classes when the row carries extras (e.g. HyperLPR's landmarks). */
  numClasses?: number;
  /** yolov8: whether the tensor is [1, 4+C, N] (true) or [1, N, 4+C]. */
  transposed?: boolean;
  /** Box coordinate convention of the decoded output. */
  boxFormat?: 'xyxy' | 'cxcywh' | 'xywh';
  /** Whether boxes are normalised to [0, 1] of the network input (or of the original image for DETR). */
  normalized?: boolean;
  /** Whether boxes are already in original-image pixels (exports that receive `orig_target_sizes`). */
  boxesInOriginal?: boolean;
  /** Tensor names, for families with several outputs. */
  names?: Record<string, string | string[]>;
  /** gfl: number of bins minus one per side (NanoDet/PicoDet use 7). */
  regMax?: number;
  /** ssd: priors spec when boxes are raw offsets (UltraFace style). */
  priors?: { minSizes: number[][]; strides: number[]; variance: [number, number] };
  /** ssd / detr: index of the background class to drop (e.g. 0 for UltraFace softmax). */
  backgroundClass?: number;
  /** detr: whether scores are logits needing sigmoid (true) or softmax with a trailing no-object class ('softmax'). */
  activation?: 'sigmoid' | 'softmax' | 'none';
}

/** A model profile: how to feed it and how to read it. */
export interface ModelProfile {
  input: InputSpec;
  output: OutputSpec;
  /** Class names indexed by the model's class id. */
  labels: string[];
  /** Whether the decoded candidates still need NMS (false for end-to-end and set-prediction models). */
  nms: boolean;
  /** Where each field came from, for `tearless info` and error messages. */
  source?: string;
}

/** User-facing detection options. */
export interface DetectOptions {
  /** Minimum score to keep (default 0.25). */
  conf?: number;
  /** IoU threshold of NMS (default 0.45). */
  iou?: number;
  /** Maximum detections per image after NMS (default 300). */
  maxDet?: number;
  /** Keep only these class ids. */
  classes?: number[];
  /** Class-agnostic NMS (default false: class-aware). */
  agnostic?: boolean;
}

export const DEFAULT_DETECT_OPTIONS: Required<Omit<DetectOptions, 'classes'>> = {
  conf: 0.25,
  iou: 0.45,
  maxDet: 300,
  agnostic: false,
};
