/**
 * onnxruntime-node backends: model file reading/validation shared by both, an in-process
 * backend (simple tools) and worker-thread backends (the Detector's inference streams).
 */
import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import type { CoreTensor, ModelInfo } from '../../core/types.js';
import { TearlessError } from '../../core/errors.js';
import type { BackendOptions, InferenceBackend } from '../backend.js';
import { readOnnxFileInfo } from './onnx-file.js';
import { createSession, fromOrtResults, sessionValueInfo, toOrtFeeds } from './onnx-session.js';
import { WorkerOnnxBackend } from './worker-backend.js';
import { availableCores } from './cpus.js';

export { availableCores } from './cpus.js';

interface ModelSource {
  bytes: Uint8Array;
  fileInfo: Omit<ModelInfo, 'inputs' | 'outputs'>;
  name: string;
}

/** Read a model and check it is ONNX. Raises TL_ERR_MODEL_NOT_FOUND / TL_ERR_MODEL_NOT_ONNX. */
export async function readModelSource(source: string | Uint8Array): Promise<ModelSource> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = await readFile(source);
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model file "${source}" cannot be read (${(err as NodeJS.ErrnoException).code ?? err}). Pass the path of an .onnx file with -m/--model.`, { cause: err });
    }
  } else {
    bytes = source;
  }
  const name = typeof source === 'string' ? `"${source}"` : 'the given bytes';
  try {
    const f = readOnnxFileInfo(bytes);
    return { bytes, name, fileInfo: { metadata: f.metadata, opTypes: f.opTypes, producer: f.producer } };
  } catch (err) {
    throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', `Model ${name} is not an ONNX file (${(err as Error).message}). Export your model to ONNX first (e.g. torch.onnx.export or "yolo export format=onnx").`, { cause: err });
  }
}

/**
 * Start `count` worker-thread sessions of one model (the parallel inference streams). `jobs`: a
 * module each worker loads to run work beside its session (see onnx-worker.ts).
 */
export async function startWorkerBackends(source: string | Uint8Array, opts: BackendOptions, count: number, jobs?: URL): Promise<WorkerOnnxBackend[]> {
  const { bytes, fileInfo, name } = await readModelSource(source);
  const threads = opts.threads ?? availableCores();
  const started = await Promise.allSettled(Array.from({ length: count }, () => WorkerOnnxBackend.start(bytes, fileInfo, { ...opts, threads }, jobs)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.dispose() : undefined)));
    throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', `onnxruntime cannot load model ${name}: ${(failed.reason as Error).message}`, { cause: failed.reason });
  }
  return started.map((s) => (s as PromiseFulfilledResult<WorkerOnnxBackend>).value);
}

/** An in-process session: fine for one-off runs; blocks the event loop while it computes. */
export class OnnxNodeBackend implements InferenceBackend {
  readonly info: ModelInfo;
  private session: ort.InferenceSession | null;

  private constructor(session: ort.InferenceSession, info: ModelInfo) {
    this.session = session;
    this.info = info;
  }

  static async load(source: string | Uint8Array, opts: BackendOptions = {}): Promise<OnnxNodeBackend> {
    const { bytes, fileInfo, name } = await readModelSource(source);
    let session: ort.InferenceSession;
    try {
      session = await createSession(bytes, { ...opts, threads: opts.threads ?? availableCores() });
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', `onnxruntime cannot load model ${name}: ${(err as Error).message}`, { cause: err });
    }
    return new OnnxNodeBackend(session, { ...fileInfo, ...sessionValueInfo(session) });
  }

  async run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    const session = this.session;
    if (!session) throw new TearlessError('TL_ERR_CLOSED', 'The model was closed; load it again.');
    try {
      const ortFeeds = toOrtFeeds(feeds);
      return fromOrtResults(outputNames ? await session.run(ortFeeds, outputNames) : await session.run(ortFeeds));
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_RUN_FAILED', `onnxruntime failed to run the model: ${(err as Error).message}`, { cause: err });
    }
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }
}
