/** Request and response types of the tearless HTTP API, as the client sees them. */
import type { OipDatatype, TensorData, TensorInputData } from './tensors.js';

/** One detected object, in original-image pixels (same objects as `tearless predict --json`). */
export interface Detection {
  label: string;
  /** The model's own class index. */
  classId: number;
  score: number;
  /** `[x1, y1, x2, y2]` in original-image pixels (after EXIF orientation). */
  box: [number, number, number, number];
}

/** Server-side stage timings of one detect request, in milliseconds. */
export interface DetectTimings {
  decodeMs: number;
  preprocessMs: number;
  inferMs: number;
  postprocessMs: number;
  queueMs: number;
}

/** JSON answer of `POST /v1/detect` and `POST /v1/models/{name}/detect`. */
export interface DetectResponse {
  model: string;
  version: string;
  width: number;
  height: number;
  detections: Detection[];
  timings: DetectTimings;
}

export interface DetectOptions {
  /** Model name; the server's default model when omitted. */
  model?: string;
  /** Model version; the newest ready version when omitted. */
  version?: string;
  /** Minimum score (server default 0.25). */
  conf?: number;
  /** NMS IoU threshold (server default 0.45). */
  iou?: number;
  /** Maximum detections (server default 300). */
  maxDet?: number;
  /** Keep only these classes: names or class ids. */
  classes?: readonly (string | number)[];
  /** Class-agnostic NMS: overlapping boxes of different classes suppress each other. */
  agnostic?: boolean;
  /** Abort the request. */
  signal?: AbortSignal;
}

/** An annotated picture (`format=image`). */
export interface AnnotatedImage {
  bytes: Uint8Array;
  /** e.g. `image/jpeg`. */
  contentType: string;
}

/** One version of a served model. */
export interface ModelVersionSummary {
  version: string;
  /** `loading`, `ready`, `unloading`, `unavailable` or `failed`. */
  state: string;
  /** Why the version failed to load. */
  reason?: string;
}

/** How the server reads a model (present while a version is ready). */
export interface ModelProfileSummary {
  /** Output family: yolox, yolov8, detr, … */
  family: string;
  /** `[width, height]` of the network input. */
  inputSize: [number, number];
  numClasses: number;
  maxBatchSize?: number;
  /** Class names (only from `model(name)`). */
  labels?: string[];
}

/** One entry of `GET /v1/models` (and `GET /v1/models/{name}`). */
export interface ModelSummary {
  name: string;
  /** Whether `POST /v1/detect` (no model named) uses this model. */
  default: boolean;
  /** `ready` when a version serves requests, else the newest version's state. */
  state: string;
  /** The version that serves requests without a version. */
  version?: string;
  versions: ModelVersionSummary[];
  profile?: ModelProfileSummary;
}

/** OIP v2 tensor metadata (`GET /v2/models/{m}`). */
export interface TensorMetadata {
  name: string;
  datatype: OipDatatype | string;
  shape: number[];
}

/** OIP v2 model metadata. */
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  [key: string]: unknown;
}

/** OIP v2 server metadata (`GET /v2`). */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
  [key: string]: unknown;
}

/** One input tensor of `infer`. */
export interface InferInput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  /**
   * Elements in row-major order: a typed array, flat or nested numbers, or for BYTES strings /
   * Uint8Arrays (raw bytes such as an encoded image: sent as they are with `binary: true`, as
   * base64 strings in JSON). FP16 typed data is Uint16Array half bits.
   */
  data: TensorInputData;
  parameters?: Record<string, unknown>;
}

/** One output tensor of `infer`: typed data whichever encoding the server used. */
export interface InferOutput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: TensorData;
  parameters?: Record<string, unknown>;
}

export interface InferOptions {
  /** Use the binary tensor data extension for inputs and outputs (default false: JSON). */
  binary?: boolean;
  /** Output names to return (default: all). */
  outputs?: string[];
  /** Request parameters, e.g. `{ conf: 0.3 }` for image (BYTES) inputs. */
  parameters?: Record<string, unknown>;
  version?: string;
  /** Request id echoed by the server. */
  id?: string;
  signal?: AbortSignal;
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: InferOutput[];
  /** Look an output up by name. */
  output(name: string): InferOutput | undefined;
}
