/**
 * A backend whose onnxruntime session runs in a worker thread (see onnx-worker.ts for why).
 * Input tensor buffers are transferred, not copied.
 */
import { Worker } from 'node:worker_threads';
import type { CoreTensor, ModelInfo, ValueInfo } from '../../core/types.js';
import { TearlessError } from '../../core/errors.js';
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
  resolve: (outputs: Record<string, CoreTensor>) => void;
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
    worker.on('message', (msg: { type: string; id: number; outputs?: Record<string, CoreTensor>; message?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.type === 'result') p.resolve(msg.outputs!);
      else p.reject(new TearlessError('TL_ERR_MODEL_RUN_FAILED', `onnxruntime failed to run the model: ${msg.message}`));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      this.worker = null;
      if (this.pending.size) this.failAll(new Error(`inference worker exited with code ${code}`));
    });
  }

  /** Start a worker and load the model in it. `metadata` etc. come from the parsed file. */
  static async start(bytes: Uint8Array, fileInfo: Omit<ModelInfo, 'inputs' | 'outputs'>, opts: BackendOptions & { threads: number }): Promise<WorkerOnnxBackend> {
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
        worker.postMessage({ type: 'load', bytes, options: opts });
      });
      worker.unref();
      return new WorkerOnnxBackend(worker, { ...fileInfo, inputs: loaded.inputs, outputs: loaded.outputs });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new TearlessError('TL_ERR_CLOSED', 'The model was closed; load it again.'));
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [];
    for (const t of Object.values(feeds)) {
      const buf = (t.data as { buffer?: ArrayBuffer }).buffer;
      if (buf instanceof ArrayBuffer && !transfer.includes(buf)) transfer.push(buf);
    }
    return new Promise((resolve, reject) => {
      // Keep the process alive only while work is in flight: an idle (or forgotten) detector
      // must not stop a script from exiting.
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'run', id, feeds, outputNames }, transfer);
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
        const timer = setTimeout(done, 2000);
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
