/**
 * Model-only measurement: `session.run` on a fixed, pre-built tensor, back to back, in worker
 * threads started exactly as the Detector starts its streams (startWorkerBackends), one lane
 * per stream. This is the model's ceiling for a threads × streams configuration; the
 * end-to-end pipeline is compared against it.
 */
import { TearlessError } from '../core/errors.js';
import type { CoreTensor, ModelInfo, ModelProfile } from '../core/types.js';
import { decodeImage } from '../pipeline/image-decode.js';
import { prepareFeeds } from '../pipeline/preprocess.js';
import type { BackendOptions, InferenceBackend } from '../runtime/backend.js';
import { startWorkerBackends } from '../runtime/node/onnx-backend.js';

type Feeds = Record<string, CoreTensor>;

/** Accumulated over the slices of one run, per batch size. */
export interface Accumulator {
  /** Completed `run` calls. */
  calls: number;
  /** Wall time of the slices (ms). */
  ms: number;
  /** Latency of each call (ms). */
  latencies: number[];
}

/**
 * Why a model cannot run model-only batches > 1, or null when it can: the image input's
 * first dimension must be symbolic ("N", "batch") or -1.
 */
export function batchUnsupportedReason(info: ModelInfo, profile: ModelProfile): string | null {
  const input = info.inputs.find((i) => i.name === profile.input.name) ?? info.inputs[0];
  if (!input) return 'the model declares no inputs';
  const first = input.shape[0];
  if (typeof first === 'number') return `input "${input.name}" has a fixed batch dimension of ${first} (shape [${input.shape.join(', ')}])`;
  if (profile.input.layout !== 'nchw' && profile.input.layout !== 'nhwc') return `input "${input.name}" has no batch-first layout`;
  return null;
}

/**
 * Build the feeds for one call at `batch`: the first sample image pre-processed exactly as the
 * Detector does (real content, so graphs with NMS or top-k inside see realistic scores), tiled
 * along the leading dimension of every input (the image and e.g. DETR's orig_target_sizes).
 */
export async function buildFeeds(imageBytes: Uint8Array, profile: ModelProfile, batch: number): Promise<Feeds> {
  const pixels = await decodeImage(imageBytes);
  const { feeds } = prepareFeeds(pixels, profile);
  if (batch === 1) return feeds;
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (t.dims[0] !== 1 || Array.isArray(t.data)) throw new TearlessError('TL_ERR_BAD_OPTION', `cannot batch input "${name}" (dims [${t.dims.join(', ')}]).`);
    const src = t.data as Float32Array;
    const data = new (src.constructor as Float32ArrayConstructor)(src.length * batch);
    for (let b = 0; b < batch; b++) data.set(src, b * src.length);
    out[name] = { type: t.type, data, dims: [batch, ...t.dims.slice(1)] };
  }
  return out;
}

/** A private copy of the feeds: `run` transfers (detaches) input buffers to the worker. */
function cloneFeeds(feeds: Feeds): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = { type: t.type, dims: t.dims, data: (t.data as Float32Array).slice() };
  return out;
}

/** `streams` worker sessions of one model, measured in slices. */
export class ModelOnlyRunner {
  /** Per batch size, for the current run. */
  readonly acc = new Map<number, Accumulator>();
  private readonly feeds = new Map<number, Feeds>();

  private constructor(private readonly backends: InferenceBackend[]) {}

  /** Start the sessions (`streams` workers of `threads` intra-op threads each). */
  static async start(model: string, opts: BackendOptions & { threads: number }, streams: number): Promise<ModelOnlyRunner> {
    return new ModelOnlyRunner(await startWorkerBackends(model, opts, streams));
  }

  /**
   * Prepare a batch size and warm every session up with it (first runs allocate and are slow;
   * they are not measured). Throws the onnxruntime error when the model cannot run that batch.
   */
  async prepare(batch: number, imageBytes: Uint8Array, profile: ModelProfile, warmupCalls = 3): Promise<void> {
    const feeds = await buildFeeds(imageBytes, profile, batch);
    for (let i = 0; i < warmupCalls; i++) await Promise.all(this.backends.map((b) => b.run(cloneFeeds(feeds))));
    this.feeds.set(batch, feeds);
    this.acc.set(batch, { calls: 0, ms: 0, latencies: [] });
  }

  /** Run back to back on every stream for about `ms` ms; in-flight calls finish inside the slice. */
  async slice(ms: number, batch: number): Promise<void> {
    const feeds = this.feeds.get(batch);
    const acc = this.acc.get(batch);
    if (!feeds || !acc) throw new Error(`batch ${batch} was not prepared`);
    const t0 = performance.now();
    const deadline = t0 + ms;
    await Promise.all(
      this.backends.map(async (backend) => {
        // The next call's private copy is made while the current call runs in the worker, so
        // copying (16 MB at batch 8 × 416²) overlaps inference instead of adding to it —
        // as the Detector pre-processes the next image while a stream is busy.
        let next = cloneFeeds(feeds);
        while (performance.now() < deadline) {
          const s = performance.now();
          const pending = backend.run(next);
          next = cloneFeeds(feeds);
          await pending;
          acc.latencies.push(performance.now() - s);
          acc.calls++;
        }
      }),
    );
    acc.ms += performance.now() - t0;
  }

  /** Clear the accumulators for the next run (the sessions stay loaded). */
  reset(): void {
    for (const batch of this.acc.keys()) this.acc.set(batch, { calls: 0, ms: 0, latencies: [] });
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.dispose()));
  }
}
