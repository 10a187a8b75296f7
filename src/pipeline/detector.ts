/**
 * `Detector`: image in, detections out. Loads a model (bundled by default), resolves its
 * profile (auto-detect → sidecar JSON → options), and runs decode → preprocess → infer →
 * postprocess with per-stage timings. Encoded images go through the whole pipeline inside an
 * inference stream's worker (pipeline/stream-jobs.ts); several calls may be in flight, one
 * per stream. Already-decoded pixels (video frames) are pre-processed here and only inferred there.
 */
import { readFile } from 'node:fs/promises';
import { TearlessError, checkInteger, type ErrorCode } from '../core/errors.js';
import { postprocess, resolveDetectOptions, type ResolvedDetectOptions } from '../core/postprocess.js';
import { resolveProfile, type ProfileOverrides } from '../core/profile/overrides.js';
import type { PixelBuffer } from '../core/resize.js';
import { inputByteLength } from '../core/tensor-layout.js';
import type { CoreTensor, Detection, DetectOptions, ModelInfo, ModelProfile } from '../core/types.js';
import type { BackendOptions, InferenceBackend } from '../runtime/backend.js';
import { availableCores, startWorkerBackends } from '../runtime/node/onnx-backend.js';
import type { WorkerOnnxBackend } from '../runtime/node/worker-backend.js';
import sharp from 'sharp';
import { BUNDLED_MODEL_PATH, mergeOverrides, readSidecar } from './model-source.js';
import { prepareBatchFeeds } from './preprocess.js';
import { StreamPool } from './stream-pool.js';
import type { ImageOutcome, StreamJob } from './stream-jobs.js';

// Under tsx (tests, benches) the sources run as .ts; the build runs .js.
const STREAM_JOBS_URL = new URL(import.meta.url.endsWith('.ts') ? './stream-jobs.ts' : './stream-jobs.js', import.meta.url);

export interface DetectorOptions extends BackendOptions {
  /** Profile fields that override the auto-detected profile and the sidecar JSON. */
  profile?: ProfileOverrides;
  /** Parallel inference streams (sessions). Default: 1. */
  streams?: number;
  /** Pixel limit checked before decoding (default 100 MP). */
  maxPixels?: number;
  /** Run one inference at load so the first real request is not slow (default true). */
  warmup?: boolean;
  /** Upper bound of a batch for models with a dynamic batch dimension (default 8). */
  maxBatchSize?: number;
}

/** Milliseconds spent in each stage of one detection. */
export interface StageTimings {
  decodeMs: number;
  preprocessMs: number;
  /** Waiting for a free inference stream. */
  queueMs: number;
  inferMs: number;
  postprocessMs: number;
}

export interface DetectResult {
  width: number;
  height: number;
  detections: Detection[];
  timings: StageTimings;
}

/** What `detect` accepts: encoded bytes or a file path. */
export type ImageInput = Uint8Array | string;

export interface EncodedBatchOptions {
  /** One name per image for error messages (default "image"). */
  names?: readonly string[];
  /**
   * One flag per image: the caller gives that image's buffer up. A buffer that spans its whole
   * ArrayBuffer is then moved to the stream's worker instead of copied, and is detached (length
   * 0) once the call has started; other buffers are copied as usual.
   * Why: a server copies a ~0.3 MB request body per image. Left on the main thread, those bodies
   * triggered a full garbage collection there every ~30 requests (V8 counts array-buffer memory
   * towards its heap limit), and each 5–15 ms pause landed in the latency of the requests in
   * flight. A moved buffer leaves the main thread's accounting at once.
   */
  handOver?: readonly boolean[];
}

/** The buffer of `bytes` if `bytes` is all of it (so moving it detaches nothing else). */
function movableBuffer(bytes: Uint8Array): ArrayBuffer | undefined {
  const buf = bytes.buffer;
  return buf instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buf.byteLength && buf.byteLength > 0 ? buf : undefined;
}

export class Detector {
  readonly profile: ModelProfile;
  readonly info: ModelInfo;
  /** Path of the loaded model, or "<bytes>". */
  readonly modelPath: string;
  /** Number of parallel inference streams. */
  get streams(): number {
    return this.pool.backends.length;
  }
  private readonly pool: StreamPool<WorkerOnnxBackend>;
  private readonly batchLimit: number;
  private closed = false;
  /**
   * Tensor buffers of finished runs, by byte length, for the next ones: the input tensor and
   * the outputs (YOLOX-nano 416: 2 MB and 1.2 MB per image) are then not allocated per image,
   * which under load made V8 collect the whole heap every ~100 ms (external memory pressure).
   */
  private readonly spare = new Map<number, ArrayBuffer[]>();

  private constructor(modelPath: string, backends: WorkerOnnxBackend[], profile: ModelProfile, batchLimit: number) {
    this.modelPath = modelPath;
    this.pool = new StreamPool(backends);
    this.info = backends[0].info;
    this.profile = profile;
    this.batchLimit = batchLimit;
  }

  /**
   * Load a model (path or bytes; the bundled YOLOX-nano when omitted).
   * @example
   * const det = await Detector.load('my_model.onnx');
   * const { detections } = await det.detect('photo.jpg');
   * await det.close();
   */
  static async load(model?: string | Uint8Array, opts: DetectorOptions = {}): Promise<Detector> {
    const source = model ?? BUNDLED_MODEL_PATH;
    const streams = checkInteger('streams', opts.streams ?? 1, 1, 64);
    if (opts.threads !== undefined) checkInteger('threads', opts.threads, 1, 1024);
    const threads = opts.threads ?? Math.max(1, Math.floor(availableCores() / streams));
    const backendOpts: BackendOptions = { threads, spinning: opts.spinning, graphOptimization: opts.graphOptimization };
    // Each stream is a worker thread with its own session (see runtime/node/onnx-worker.ts).
    const backends = await startWorkerBackends(source, backendOpts, streams, STREAM_JOBS_URL);
    const first = backends[0];
    try {
      const where = typeof source === 'string' ? `for "${source}"` : 'for the given model';
      const sidecar = typeof source === 'string' ? await readSidecar(source) : null;
      const overrides = mergeOverrides(sidecar, opts.profile);
      const info = await withConcreteOutputShapes(first, overrides);
      const profile = resolveProfile(info, overrides, where);
      const batchLimit = checkInteger('maxBatchSize', opts.maxBatchSize ?? 8, 1, 1024);
      const det = new Detector(typeof source === 'string' ? source : '<bytes>', backends, profile, batchLimit);
      const configure: StreamJob = { kind: 'configure', profile, maxPixels: opts.maxPixels };
      await Promise.all(backends.map((b) => b.job(configure)));
      if (opts.warmup !== false) await det.warmup();
      return det;
    } catch (err) {
      await Promise.all(backends.map((b) => b.dispose()));
      throw err;
    }
  }

  /** Detect objects in an encoded image (bytes) or an image file (path). */
  async detect(image: ImageInput, opts?: DetectOptions): Promise<DetectResult> {
    const resolved = resolveDetectOptions(opts, this.profile.labels);
    const t0 = performance.now();
    const bytes = typeof image === 'string' ? await readImageFile(image) : image;
    if (!(bytes instanceof Uint8Array)) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `Expected a Buffer, Uint8Array or file path for the image but received ${typeof image}.`);
    }
    const readMs = performance.now() - t0;
    const fromFile = typeof image === 'string';
    // Bytes read here from a file are ours to move to the worker; a caller's buffer is copied.
    const [result] = await this.detectEncodedBatch([bytes], [resolved], { names: [fromFile ? `"${image}"` : 'image'], handOver: [fromFile] });
    if (result instanceof Error) throw result;
    result.timings.decodeMs += readMs;
    return result;
  }

  /**
   * Detect objects in several encoded images with ONE inference run (dynamic batching; see
   * `maxBatchSize`). Each image gets its result or its own error (an unreadable image does not
   * fail the others). `opts` are already resolved (`resolveDetectOptions`), one per image.
   */
  async detectEncodedBatch(images: readonly Uint8Array[], opts: readonly ResolvedDetectOptions[], batchOpts: EncodedBatchOptions = {}): Promise<(DetectResult | TearlessError)[]> {
    const { names = [], handOver = [] } = batchOpts;
    if (this.closed) throw new TearlessError('TL_ERR_CLOSED', 'This detector was closed; load the model again.');
    if (images.length > this.maxBatchSize) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `This model runs at most ${this.maxBatchSize} image(s) per inference; got ${images.length}.`);
    }
    const job: StreamJob = { kind: 'detect', images: [...images], opts: images.map((_, i) => opts[i] ?? opts[0]), names: images.map((_, i) => names[i] ?? 'image') };
    const queued = performance.now();
    return this.pool.use(async (backend) => {
      const queueMs = performance.now() - queued;
      const moved = new Set<ArrayBuffer>();
      images.forEach((bytes, i) => {
        const buf = handOver[i] ? movableBuffer(bytes) : undefined;
        if (buf) moved.add(buf);
      });
      const outcomes = await backend.job<ImageOutcome[]>(job, [...moved]);
      return outcomes.map((o) =>
        o.ok
          ? { width: o.width, height: o.height, detections: o.detections, timings: { decodeMs: o.decodeMs, preprocessMs: o.preprocessMs, queueMs, inferMs: o.inferMs, postprocessMs: o.postprocessMs } }
          : new TearlessError(o.code as ErrorCode, o.message),
      );
    });
  }

  /** Detect objects in already-decoded RGB(A) pixels (video frames, canvases). */
  async detectPixels(pixels: PixelBuffer, opts?: DetectOptions, resolvedOpts = resolveDetectOptions(opts, this.profile.labels)): Promise<DetectResult> {
    const [result] = await this.detectPixelsBatch([pixels], opts, resolvedOpts);
    return result;
  }

  /**
   * Detect objects in several decoded images with ONE inference run (dynamic batching). The
   * model must accept a batch dimension of `pixels.length` (see `maxBatchSize`).
   */
  async detectPixelsBatch(pixels: readonly PixelBuffer[], opts?: DetectOptions | readonly DetectOptions[], resolvedOpts?: ResolvedDetectOptions): Promise<DetectResult[]> {
    // One options object for all images, or one per image (requests batched together).
    const perImage = pixels.map((_, i) => resolvedOpts ?? resolveDetectOptions(Array.isArray(opts) ? opts[i] : (opts as DetectOptions | undefined), this.profile.labels));
    if (this.closed) throw new TearlessError('TL_ERR_CLOSED', 'This detector was closed; load the model again.');
    if (pixels.length > this.maxBatchSize) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `This model runs at most ${this.maxBatchSize} image(s) per inference; got ${pixels.length}.`);
    }
    const t0 = performance.now();
    const { feeds, placements } = prepareBatchFeeds(pixels, this.profile, this.takeSpare(inputByteLength(this.profile.input, pixels.length)));
    const t1 = performance.now();
    let t2 = t1;
    let t3 = t1;
    const outputs = await this.pool.use(async (backend) => {
      t2 = performance.now();
      const out = await backend.run(feeds, undefined, this.outputSpares(pixels.length));
      t3 = performance.now();
      return out;
    });
    const names = this.info.outputs.map((o) => o.name);
    try {
      return this.postprocessBatch(pixels, outputs, names, placements, perImage, t0, t1, t2, t3);
    } finally {
      // Nothing returned to the caller refers to the tensors: their buffers serve the next run.
      for (const t of [...Object.values(feeds), ...Object.values(outputs)]) this.giveSpare(t.data);
    }
  }

  private postprocessBatch(
    pixels: readonly PixelBuffer[], outputs: Record<string, CoreTensor>, names: string[], placements: ReturnType<typeof prepareBatchFeeds>['placements'],
    perImage: ResolvedDetectOptions[], t0: number, t1: number, t2: number, t3: number,
  ): DetectResult[] {
    return pixels.map((px, i) => {
      const s = performance.now();
      const detections = postprocess(outputs, names, this.profile, placements[i], perImage[i], i);
      return {
        width: px.width,
        height: px.height,
        detections,
        timings: { decodeMs: 0, preprocessMs: (t1 - t0) / pixels.length, queueMs: t2 - t1, inferMs: t3 - t2, postprocessMs: performance.now() - s },
      };
    });
  }

  /** A spare buffer of exactly `bytes` bytes, if one is free. */
  private takeSpare(bytes: number): ArrayBuffer | undefined {
    return this.spare.get(bytes)?.pop();
  }

  /** Spare buffers for the outputs of a batch of `n` (sizes from the model's output shapes). */
  private outputSpares(n: number): ArrayBuffer[] {
    const out: ArrayBuffer[] = [];
    for (const o of this.info.outputs) {
      const per = BYTES_PER_ELEMENT[o.type];
      if (!per || !o.shape.every((d) => typeof d === 'number')) continue;
      const dims = o.shape as number[];
      const count = dims.reduce((a, d, k) => a * (k === 0 && this.maxBatchSize > 1 ? n : d), 1);
      const b = this.takeSpare(count * per);
      if (b) out.push(b);
    }
    return out;
  }

  /** Keep a finished tensor's buffer for reuse (a few per size: streams × 2 in flight at most). */
  private giveSpare(data: CoreTensor['data']): void {
    if (Array.isArray(data) || this.closed) return;
    const buf = (data as { buffer: ArrayBufferLike }).buffer;
    if (!(buf instanceof ArrayBuffer) || buf.byteLength < 64 * 1024 || data.byteOffset !== 0 || data.byteLength !== buf.byteLength) return;
    const list = this.spare.get(buf.byteLength) ?? [];
    if (list.length >= this.streams * 2 || list.includes(buf)) return;
    list.push(buf);
    this.spare.set(buf.byteLength, list);
  }

  /** Run the model on raw tensors (no pre/post-processing) on one of the inference streams. */
  run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    if (this.closed) return Promise.reject(new TearlessError('TL_ERR_CLOSED', 'This detector was closed; load the model again.'));
    return this.pool.use((backend) => backend.run(feeds, outputNames));
  }

  /**
   * Largest batch one inference accepts: 1 when the image input's batch dimension is fixed,
   * else `DetectorOptions.maxBatchSize` (default 8).
   */
  get maxBatchSize(): number {
    const image = this.info.inputs.find((i) => i.name === this.profile.input.name);
    const batchDim = image?.shape[0]; // the batch is the first dimension in NCHW and NHWC alike
    return typeof batchDim === 'number' && batchDim > 0 ? batchDim : this.batchLimit;
  }

  /** Run every stream once on a grey image so the first real call is not slow. */
  async warmup(): Promise<void> {
    const { width, height } = this.profile.input;
    const grey: PixelBuffer = { data: new Uint8Array(width * height * 3).fill(114), width, height, channels: 3 };
    // Both paths: encoded images (decoded in the stream's worker) and decoded pixels.
    const jpeg = await sharp(grey.data, { raw: { width, height, channels: 3 } }).jpeg().toBuffer();
    const resolved = [resolveDetectOptions(undefined, this.profile.labels)];
    await Promise.all(this.pool.backends.map(() => this.detectEncodedBatch([jpeg], resolved)));
    await Promise.all(this.pool.backends.map(() => this.detectPixels(grey)));
  }

  /** Release the sessions. Further calls fail with TL_ERR_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    this.spare.clear();
    await Promise.all(this.pool.backends.map((b) => b.dispose()));
  }
}

const BYTES_PER_ELEMENT: Partial<Record<string, number>> = {
  float32: 4, float16: 2, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1,
};

async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `Image "${file}" does not exist. Check the path.`, { cause: err });
    throw new TearlessError('TL_ERR_IMAGE_UNREADABLE', `Image "${file}" cannot be read (${code ?? (err as Error).message}).`, { cause: err });
  }
}

/**
 * Some exports declare symbolic output shapes (e.g. YOLOv5 fp16 with dynamic H/W). Profile
 * detection needs concrete shapes, so run one blank input to learn them.
 */
async function withConcreteOutputShapes(backend: InferenceBackend, overrides: ProfileOverrides | undefined): Promise<ModelInfo> {
  const info = backend.info;
  if (info.outputs.every((o) => o.shape.every((d) => typeof d === 'number'))) return info;
  const feeds: Record<string, CoreTensor> = {};
  for (const input of info.inputs) {
    const dims = input.shape.map((d, i) => {
      if (typeof d === 'number') return d;
      if (i === 0) return 1;
      if (input.shape.length === 2) return 2;
      const imgsz = Number(info.metadata.imgsz?.match(/\d+/)?.[0]);
      return overrides?.input?.width ?? (Number.isFinite(imgsz) && imgsz > 0 ? imgsz : 640);
    });
    const n = dims.reduce((a, b) => a * b, 1);
    const type = input.type === 'unknown' || input.type === 'string' ? 'float32' : input.type;
    const data =
      type === 'int64' ? new BigInt64Array(n).fill(320n) :
      type === 'float16' ? new Uint16Array(n) :
      type === 'uint8' ? new Uint8Array(n) :
      type === 'int32' ? new Int32Array(n).fill(320) : new Float32Array(n);
    feeds[input.name] = { type, data, dims };
  }
  try {
    const out = await backend.run(feeds);
    return { ...info, outputs: info.outputs.map((o) => (out[o.name] ? { ...o, shape: [...out[o.name].dims] } : o)) };
  } catch {
    return info; // leave shapes symbolic; detection will explain what it could not read
  }
}
