/**
 * Worker-thread host of one onnxruntime session. onnxruntime-node's `run` executes
 * synchronously on the calling thread, so sessions live here: the main thread stays free to
 * decode and pre-process the next images (and, in the server, to answer requests), and several
 * workers give real parallel inference streams.
 *
 * Protocol (messages from the parent):
 *   { type: 'load', bytes, options, jobs? } → { type: 'loaded', inputs, outputs } | { type: 'error' }
 *   { type: 'run', id, feeds, outputNames, spare } → { type: 'result', id, outputs, feeds } | { type: 'error', id }
 *   { type: 'job', id, payload }            → { type: 'done', id, value } | { type: 'error', id, code? }
 *
 * `jobs` is the URL of a module whose `handleJob(payload, context)` runs work beside the session
 * in this thread (the Detector's decode → preprocess → infer → postprocess, pipeline/stream-jobs.ts):
 * the runtime stays ignorant of images, and a request's pixels and tensors never reach the
 * parent's heap.
 *
 * The feeds' buffers go back to the parent with the answer (it reuses them for the next input);
 * outputs are copied into `spare` buffers of the same byte length when there are some (the
 * parent's recycled output buffers), so that the parent allocates nothing for them.
 */
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { CoreTensor } from '../../core/types.js';
import type { BackendOptions } from '../backend.js';
import { createSession, fromOrtResults, sessionValueInfo, toOrtFeeds } from './onnx-session.js';

type Message =
  | { type: 'load'; bytes: Uint8Array; options: BackendOptions & { threads: number }; jobs?: string }
  | { type: 'job'; id: number; payload: unknown }
  | { type: 'run'; id: number; feeds: Record<string, CoreTensor>; outputNames?: string[]; spare?: ArrayBuffer[] }
  | { type: 'release' };

/** What a job handler gets: the session's output names and a way to run it on core tensors. */
export interface JobContext {
  outputNames: readonly string[];
  run(feeds: Record<string, CoreTensor>): Promise<Record<string, CoreTensor>>;
}
/** A job module's entry point; `transfer` lists buffers to move (not copy) to the parent. */
export type JobHandler = (payload: unknown, context: JobContext) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;

let session: ort.InferenceSession | null = null;
let handleJob: JobHandler | null = null;
/**
 * Jobs still running. A job awaits native work on libuv's pool (sharp, the JPEG decoder);
 * terminating the thread before that work calls back aborts the whole process ("terminate
 * called after throwing Napi::Error"), so `release` waits for them.
 */
const jobsInFlight = new Set<Promise<unknown>>();
const port = parentPort!;

const context: JobContext = {
  get outputNames() {
    return session?.outputNames ?? [];
  },
  async run(feeds) {
    if (!session) throw new Error('no model loaded');
    return fromOrtResults(await session.run(toOrtFeeds(feeds)));
  },
};

port.on('message', async (msg: Message) => {
  if (msg.type === 'release') {
    // Release the session before the thread ends: terminating the worker alone leaves
    // onnxruntime's intra-op pool threads alive (and spinning on a core).
    await Promise.allSettled([...jobsInFlight]);
    const s = session;
    session = null;
    try {
      await s?.release();
    } finally {
      port.postMessage({ type: 'released' });
    }
    return;
  }
  if (msg.type === 'load') {
    try {
      session = await createSession(msg.bytes, msg.options);
      if (msg.jobs) handleJob = ((await import(msg.jobs)) as { handleJob: JobHandler }).handleJob;
      port.postMessage({ type: 'loaded', ...sessionValueInfo(session) });
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).message });
    }
    return;
  }
  if (msg.type === 'job') {
    const job = runJob(msg.id, msg.payload);
    jobsInFlight.add(job);
    await job;
    jobsInFlight.delete(job);
    return;
  }
  if (msg.type === 'run') {
    const transfer = new Set<ArrayBuffer>();
    const give = (data: unknown): void => {
      const buf = (data as { buffer?: unknown }).buffer;
      if (buf instanceof ArrayBuffer) transfer.add(buf);
    };
    for (const t of Object.values(msg.feeds)) give(t.data);
    try {
      if (!session) throw new Error('no model loaded');
      const feeds = toOrtFeeds(msg.feeds);
      const results = msg.outputNames ? await session.run(feeds, msg.outputNames) : await session.run(feeds);
      const outputs = intoSpare(fromOrtResults(results), msg.spare ?? []);
      // Hand the output buffers over instead of copying them (YOLOX: 1.2 MB per image).
      for (const t of Object.values(outputs)) give(t.data);
      try {
        port.postMessage({ type: 'result', id: msg.id, outputs, feeds: msg.feeds }, [...transfer]);
      } catch {
        port.postMessage({ type: 'result', id: msg.id, outputs, feeds: msg.feeds }); // a buffer that cannot move is copied
      }
    } catch (err) {
      port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  }
});

async function runJob(id: number, payload: unknown): Promise<void> {
  try {
    if (!handleJob) throw new Error('this worker was started without a job module');
    const { value, transfer } = await handleJob(payload, context);
    port.postMessage({ type: 'done', id, value }, transfer ?? []);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    port.postMessage({ type: 'error', id, message: (err as Error).message, code: typeof code === 'string' && code.startsWith('TL_ERR_') ? code : undefined });
  }
}

type Numeric = Exclude<CoreTensor['data'], string[]>;

/** Copy each numeric output into a spare buffer of exactly its byte length, when there is one. */
function intoSpare(outputs: Record<string, CoreTensor>, spare: ArrayBuffer[]): Record<string, CoreTensor> {
  if (!spare.length) return outputs;
  for (const t of Object.values(outputs)) {
    if (Array.isArray(t.data)) continue;
    const src = t.data as Numeric;
    const i = spare.findIndex((b) => b.byteLength === src.byteLength);
    if (i < 0) continue;
    const [buf] = spare.splice(i, 1);
    new Uint8Array(buf).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    const Ctor = src.constructor as new (b: ArrayBuffer, offset: number, length: number) => Numeric;
    t.data = new Ctor(buf, 0, src.length);
  }
  return outputs;
}
