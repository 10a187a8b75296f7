/**
 * A backend whose onnxruntime session runs in a worker thread (see onnx-worker.ts for why).
 * Input tensor buffers are transferred, not copied, and come back with the result (they are put
 * back into the caller's feeds); outputs can be written into spare buffers the caller passes in.
 * Between them, a served request allocates no large ArrayBuffer on the main thread for the tensors:
 * fresh 2 MB inputs and 1.2 MB outputs per image made V8 run a full (mark-compact) collection
 * every ~100 ms under load, for external-memory pressure — a fifth of the main thread's time and
 * 10–30 ms pauses in the latency tail.
 */
import { Worker } from 'node:worker_threads';
import type { CoreTensor, ModelInfo, ValueInfo } from '../../core/types.js';
import { TearlessError, type ErrorCode } from '../../core/errors.js';
import type { BackendOptions, InferenceBackend } from '../backend.js';

// In the build the worker is plain JS. Under tsx (tests, benches run the .ts sources) the
// worker thread must register tsx's loader itself before importing the TypeScript entry.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './onnx-worker.ts' : './onnx-worker.js', import.meta.url);

function spawnWorker(): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

interface Pending {
  feeds?: Record<string, CoreTensor>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class WorkerOnnxBackend implements InferenceBackend {
  readonly info: ModelInfo;
  private worker: Worker | null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  private constructor(worker: Worker, info: ModelInfo) {
    this.worker = worker;
    this.info = info;
    worker.on('message', (msg: { type: string; id: number; outputs?: Record<string, CoreTensor>; feeds?: Record<string, CoreTensor>; value?: unknown; message?: string; code?: ErrorCode }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      // The input buffers came back: hand them to the caller again (in place of the detached ones).
      if (msg.feeds && p.feeds) for (const [name, t] of Object.entries(msg.feeds)) if (p.feeds[name]) p.feeds[name].data = t.data;
      if (msg.type === 'result') p.resolve(msg.outputs);
      else if (msg.type === 'done') p.resolve(msg.value);
      else if (msg.code) p.reject(new TearlessError(msg.code, msg.message ?? 'failed'));
      else p.reject(new TearlessError('TL_ERR_MODEL_RUN_FAILED', `onnxruntime failed to run the model: ${msg.message}`));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      this.worker = null;
      if (this.pending.size) this.failAll(new Error(`inference worker exited with code ${code}`));
    });
  }

  /**
   * Start a worker and load the model in it. `metadata` etc. come from the parsed file. `jobs`:
   * a module the worker loads to handle `job()` calls (see onnx-worker.ts).
   */
  static async start(bytes: Uint8Array, fileInfo: Omit<ModelInfo, 'inputs' | 'outputs'>, opts: BackendOptions & { threads: number }, jobs?: URL): Promise<WorkerOnnxBackend> {
    const worker = spawnWorker();
    try {
      const loaded = await new Promise<{ inputs: ValueInfo[]; outputs: ValueInfo[] }>((resolve, reject) => {
        const onMessage = (msg: { type: string; message?: string; inputs: ValueInfo[]; outputs: ValueInfo[] }): void => {
          worker.off('error', reject);
          if (msg.type === 'loaded') resolve(msg);
          else reject(new Error(msg.message));
        };
        worker.once('message', onMessage);
        worker.once('error', reject);
        // The bytes are copied to the worker: the caller may start several workers from them.
        worker.postMessage({ type: 'load', bytes, options: opts, jobs: jobs?.href });
      });
      worker.unref();
      return new WorkerOnnxBackend(worker, { ...fileInfo, inputs: loaded.inputs, outputs: loaded.outputs });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[], spare: ArrayBuffer[] = []): Promise<Record<string, CoreTensor>> {
    const transfer: ArrayBuffer[] = [];
    for (const t of Object.values(feeds)) {
      const buf = (t.data as { buffer?: ArrayBuffer }).buffer;
      if (buf instanceof ArrayBuffer && !transfer.includes(buf)) transfer.push(buf);
    }
    const spares = spare.filter((b) => b instanceof ArrayBuffer && b.byteLength > 0 && !transfer.includes(b));
    transfer.push(...spares);
    return this.send((id) => ({ type: 'run', id, feeds, outputNames, spare: spares }), transfer, feeds);
  }

  /**
   * Hand `payload` to the worker's job module; resolves with its answer. The payload is copied
   * (structured clone) unless its buffers are listed in `transfer`.
   */
  job<T>(payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    return this.send((id) => ({ type: 'job', id, payload }), transfer);
  }

  /** Post a request to the worker; its answer (matched by id) settles the promise. */
  private send<T>(message: (id: number) => object, transfer: ArrayBuffer[], feeds?: Record<string, CoreTensor>): Promise<T> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new TearlessError('TL_ERR_CLOSED', 'The model was closed; load it again.'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // Keep the process alive only while work is in flight: an idle (or forgotten) detector
      // must not stop a script from exiting.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { feeds, resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage(message(id), transfer);
    });
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) {
      // Let the session release its thread pool, then end the thread (bounded wait).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        // Bounded, but long enough for jobs in flight to finish (see onnx-worker.ts).
        const timer = setTimeout(done, 10_000);
        w.on('message', (m: { type: string }) => {
          if (m.type === 'released') done();
        });
        w.once('exit', done);
        w.postMessage({ type: 'release' });
      });
      await w.terminate();
    }
    this.failAll(new TearlessError('TL_ERR_CLOSED', 'The model was closed.'));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
