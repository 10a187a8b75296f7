/**
 * The detection pipeline inside an inference stream's worker thread: encoded bytes in,
 * detections out (decode → preprocess → infer → postprocess), loaded by each worker as its job
 * module (runtime/node/onnx-worker.ts).
 *
 * Why here and not on the main thread: a decoded 640×480 image is 0.9 MB and its input tensor
 * 2 MB. Made on the main thread for every request, they made V8 run a full collection of the
 * server's heap every ~13 images (external-memory pressure), 2–8 ms pauses that landed in
 * the latency tail of whichever requests were in flight. In the worker the same garbage is
 * collected from a heap of a few MB, and the main thread only parses HTTP and writes JSON.
 * Decoding still overlaps inference: each stream decodes its next image while the others run.
 */
import { postprocess, type ResolvedDetectOptions } from '../core/postprocess.js';
import type { PixelBuffer } from '../core/resize.js';
import { inputByteLength } from '../core/tensor-layout.js';
import type { Detection, ModelProfile } from '../core/types.js';
import type { JobContext, JobHandler } from '../runtime/node/onnx-worker.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import { decodeImage } from './image-decode.js';
import { prepareBatchFeeds } from './preprocess.js';

export type StreamJob =
  | { kind: 'configure'; profile: ModelProfile; maxPixels?: number }
  | { kind: 'detect'; images: Uint8Array[]; opts: ResolvedDetectOptions[]; names: string[] };

/** One image's outcome: its detections and stage timings, or why it could not be read. */
export type ImageOutcome =
  | { ok: true; width: number; height: number; detections: Detection[]; decodeMs: number; preprocessMs: number; inferMs: number; postprocessMs: number }
  | { ok: false; code: string; message: string };

let profile: ModelProfile | null = null;
let maxPixels: number | undefined;
/** Input tensor buffers of finished runs, by byte length (one job runs at a time per worker). */
const spareInputs = new Map<number, ArrayBuffer>();

export const handleJob: JobHandler = async (payload, context) => {
  const job = payload as StreamJob;
  if (job.kind === 'configure') {
    profile = job.profile;
    maxPixels = job.maxPixels;
    return { value: true };
  }
  if (!profile) throw new Error('the stream was not configured with a profile');
  try {
    return { value: await detect(profile, job.images, job.opts, job.names, context) };
  } finally {
    // Once the result is posted (the caller posts it in a microtask, before any immediate):
    // the collection then costs the request nothing (≈ 0.4 ms, up to 4 ms under load).
    setImmediate(collectYoung);
  }
};

let minorGc: ((opts: { type: 'minor' }) => void) | null = null;
/**
 * A scavenge after each job frees the image's buffers (0.9 MB of pixels, the encoded copy,
 * ORT's outputs) while they are young and cheap to collect (≈ 0.2 ms on this tiny heap).
 * Left to V8, each worker let ~50 MB of dead buffers pile up before its external-memory
 * trigger fired: the server's RSS was 100 MB higher (bench:serve soak, 400 vs 300 MB).
 * `--expose-gc` is process-wide but only installs `gc` in contexts created afterwards.
 */
function collectYoung(): void {
  if (!minorGc) {
    v8.setFlagsFromString('--expose-gc');
    minorGc = vm.runInNewContext('gc') as (opts: { type: 'minor' }) => void;
  }
  minorGc({ type: 'minor' });
}

async function detect(profile: ModelProfile, images: Uint8Array[], opts: ResolvedDetectOptions[], names: string[], context: JobContext): Promise<ImageOutcome[]> {
  const t0 = performance.now();
  // The images of a batch decode in parallel (libvips and the JPEG decoder run off this thread).
  const decoded = await Promise.all(
    images.map((bytes, i) =>
      decodeImage(bytes, { maxPixels, sourceName: names[i] ?? 'image' }).then(
        (pixels) => ({ pixels, ms: performance.now() - t0 }),
        (err: unknown) => ({ err: err as Error & { code?: string } }),
      ),
    ),
  );
  const good = decoded.flatMap((d, index) => ('pixels' in d ? [{ index, pixels: d.pixels, ms: d.ms }] : []));
  const detected = good.length ? await inferBatch(profile, good, opts, context) : new Map<number, ImageOutcome>();
  return decoded.map((d, i) =>
    'err' in d ? { ok: false, code: typeof d.err.code === 'string' ? d.err.code : 'TL_ERR_IMAGE_UNREADABLE', message: d.err.message } : detected.get(i)!,
  );
}

/** Preprocess the decoded images into one tensor, run it, postprocess each: outcomes by image index. */
async function inferBatch(profile: ModelProfile, good: { index: number; pixels: PixelBuffer; ms: number }[], opts: ResolvedDetectOptions[], context: JobContext): Promise<Map<number, ImageOutcome>> {
  const t1 = performance.now();
  const pixels = good.map((g) => g.pixels);
  const bytes = inputByteLength(profile.input, pixels.length);
  const reuse = spareInputs.get(bytes);
  spareInputs.delete(bytes);
  const { feeds, placements } = prepareBatchFeeds(pixels, profile, reuse);
  const t2 = performance.now();
  const outputs = await context.run(feeds);
  const t3 = performance.now();
  spareInputs.set(bytes, (feeds[profile.input.name].data as { buffer: ArrayBuffer }).buffer);

  const outcomes = new Map<number, ImageOutcome>();
  good.forEach((g, k) => {
    const s = performance.now();
    const detections = postprocess(outputs, context.outputNames, profile, placements[k], opts[g.index], k);
    outcomes.set(g.index, {
      ok: true,
      width: g.pixels.width,
      height: g.pixels.height,
      detections,
      decodeMs: g.ms,
      preprocessMs: (t2 - t1) / good.length,
      inferMs: t3 - t2,
      postprocessMs: performance.now() - s,
    });
  });
  return outcomes;
}
