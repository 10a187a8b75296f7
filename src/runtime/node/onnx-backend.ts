/**
 * onnxruntime-node implementation of the backend contract.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { CoreTensor, ModelInfo, TensorDataType, ValueInfo } from '../../core/types.js';
import { TearlessError } from '../../core/errors.js';
import type { BackendOptions, InferenceBackend } from '../backend.js';
import { readOnnxFileInfo } from './onnx-file.js';

/** Cores this process may use (respects cgroup quotas and affinity via availableParallelism). */
export function availableCores(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

export class OnnxNodeBackend implements InferenceBackend {
  readonly info: ModelInfo;
  private session: ort.InferenceSession | null;

  private constructor(session: ort.InferenceSession, info: ModelInfo) {
    this.session = session;
    this.info = info;
  }

  /** Load a model from a path or bytes. Raises TL_ERR_MODEL_NOT_FOUND / TL_ERR_MODEL_NOT_ONNX. */
  static async load(source: string | Uint8Array, opts: BackendOptions = {}): Promise<OnnxNodeBackend> {
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
    let fileInfo;
    try {
      fileInfo = readOnnxFileInfo(bytes);
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', `Model ${name} is not an ONNX file (${(err as Error).message}). Export your model to ONNX first (e.g. torch.onnx.export or "yolo export format=onnx").`, { cause: err });
    }
    const threads = opts.threads ?? availableCores();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: opts.graphOptimization ?? 'all',
        // Old exporters list initialisers as inputs; ORT warns once per tensor. Keep errors only.
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: opts.spinning === false ? '0' : '1' } } },
      });
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', `onnxruntime cannot load model ${name}: ${(err as Error).message}`, { cause: err });
    }
    const info: ModelInfo = {
      inputs: session.inputMetadata.map(valueInfo),
      outputs: session.outputMetadata.map(valueInfo),
      metadata: fileInfo.metadata,
      opTypes: fileInfo.opTypes,
      producer: fileInfo.producer,
    };
    return new OnnxNodeBackend(session, info);
  }

  async run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    const session = this.session;
    if (!session) throw new TearlessError('TL_ERR_CLOSED', 'The model was closed; load it again.');
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = outputNames ? await session.run(ortFeeds, outputNames) : await session.run(ortFeeds);
    } catch (err) {
      throw new TearlessError('TL_ERR_MODEL_RUN_FAILED', `onnxruntime failed to run the model: ${(err as Error).message}`, { cause: err });
    }
    const out: Record<string, CoreTensor> = {};
    for (const [name, v] of Object.entries(results)) {
      const t = v as ort.Tensor;
      out[name] = { type: t.type as TensorDataType, data: t.data as CoreTensor['data'], dims: t.dims };
    }
    return out;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }
}

function valueInfo(m: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!m.isTensor) return { name: m.name, type: 'unknown', shape: [] };
  return {
    name: m.name,
    type: m.type as TensorDataType,
    shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))),
  };
}
