/**
 * The contract between the HTTP layer (fastify plugins) and the model manager: which models
 * exist, their versions and state, and how requests reach them through a bounded queue.
 */
import type { CoreTensor, DetectOptions, ModelInfo, ModelProfile } from '../core/types.js';
import type { DetectResult } from '../pipeline/detector.js';

/** Lifecycle of one model version. */
export type ModelState = 'loading' | 'ready' | 'unloading' | 'unavailable' | 'failed';

/** One version of a model in the repository, as `/v2/repository/index` lists it. */
export interface ModelVersionStatus {
  name: string;
  version: string;
  path: string;
  state: ModelState;
  /** Why the version is failed/unavailable (load error message). */
  reason?: string;
}

/** A loaded, servable model version. */
export interface ServedModel {
  name: string;
  version: string;
  path: string;
  info: ModelInfo;
  profile: ModelProfile;
  /** Largest batch the model accepts in one run (1 when its batch dimension is fixed). */
  maxBatchSize: number;
  /** ONNX platform string for OIP metadata. */
  platform: 'onnxruntime_onnx';
}

/** Per model version counters (OIP statistics extension, Prometheus). */
export interface ModelStats {
  name: string;
  version: string;
  /** Requests completed successfully / failed. */
  success: number;
  failure: number;
  /** Inference runs executed (a batch counts once) and images inferred. */
  executions: number;
  inferences: number;
  /** Cumulative nanoseconds spent waiting in the queue / computing (OIP reports ns). */
  queueNs: number;
  computeInferNs: number;
  computeInputNs: number;
  computeOutputNs: number;
  /** Requests currently waiting. */
  queueDepth: number;
  /** Cumulative nanoseconds from arrival to result of successful / failed requests. */
  successNs: number;
  failureNs: number;
  /** Histogram of executed batch sizes: size → count, and size → cumulative inference ns. */
  batchSizes: Record<number, number>;
  batchComputeNs: Record<number, number>;
  lastInferenceMs: number;
}

/** What a detect request through the manager returns. */
export interface ServedDetectResult extends DetectResult {
  model: string;
  version: string;
}

/** How a manager is created (see model-manager.ts `createModelManager`). */
export interface ModelManagerOptions {
  /** Model files and/or repository folders (`repo/<name>/<version>/model.onnx`); empty → the bundled model. */
  sources: string[];
  /** Intra-op threads per inference stream / streams per model (default: one single-threaded stream per core). */
  threads?: number;
  streams?: number;
  /** Dynamic batching cap for models with a dynamic batch dimension (default 8; 1 disables). */
  maxBatchSize?: number;
  /** How long the first queued request may wait for a batch to fill (default 2 ms). */
  maxQueueDelayMs?: number;
  /** Requests per model waiting or in progress before new ones get 503 (default 64). */
  maxQueue?: number;
  /** Per-request timeout from arrival to result (default 30000 ms). */
  timeoutMs?: number;
  /** Pixel limit of decoded images (default 100 MP). */
  maxPixels?: number;
  /** Repository rescan interval for hot reload (default 2000 ms; 0 disables). */
  reloadIntervalMs?: number;
  /** The model `/v1/detect` uses (default: the first serving model in scan order). */
  defaultModel?: string;
  /** pino-compatible logger. */
  logger?: { info(obj: object | string, msg?: string): void; warn(obj: object | string, msg?: string): void; error(obj: object | string, msg?: string): void };
}

export interface ModelManager {
  /** Resolves when the initial loading and warm-up finished (successfully or not). */
  whenLoaded(): Promise<void>;
  /** All known model versions with state (including failed ones). */
  index(): ModelVersionStatus[];
  /** The model served for `name` (newest ready version, or the one named). Throws TL_ERR_MODEL_NOT_FOUND / TL_ERR_MODEL_UNAVAILABLE. */
  get(name: string, version?: string): ServedModel;
  /** Name of the default model (for `/v1/detect`). */
  readonly defaultModel: string | undefined;
  /** Whether every model is loaded and warmed up. */
  ready(): boolean;
  /** Detect through the model's queue. Throws TL_ERR_QUEUE_FULL (503) / TL_ERR_TIMEOUT (504) / image errors (4xx). */
  /** `handOver`: the caller will not read `image` again, so its buffer may be moved to the worker. */
  detect(name: string, version: string | undefined, image: Uint8Array, opts?: DetectOptions, handOver?: boolean): Promise<ServedDetectResult>;
  /** Raw tensors in, raw tensors out, through the same queue. */
  infer(name: string, version: string | undefined, feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>>;
  /** Load (or reload) a model from the repository; resolves when ready. */
  load(name: string): Promise<void>;
  /** Unload a model; in-flight requests finish first. */
  unload(name: string): Promise<void>;
  stats(name?: string, version?: string): ModelStats[];
  /** Stop accepting work, finish what is queued, release everything. */
  close(): Promise<void>;
}
