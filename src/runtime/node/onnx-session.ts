/**
 * onnxruntime-node session creation and tensor conversion, shared by the in-process backend
 * and the worker-thread backend.
 */
import * as ort from 'onnxruntime-node';
import type { CoreTensor, TensorDataType, ValueInfo } from '../../core/types.js';
import type { BackendOptions } from '../backend.js';

export async function createSession(bytes: Uint8Array, opts: BackendOptions & { threads: number }): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.graphOptimization ?? 'all',
    // Old exporters list initialisers as inputs; ORT warns once per tensor. Keep errors only.
    logSeverityLevel: 3,
    // Spinning intra-op threads hand work over faster but burn the cores decoding needs.
    extra: { session: { intra_op: { allow_spinning: opts.spinning === false ? '0' : '1' } } },
  });
}

export function toOrtFeeds(feeds: Record<string, CoreTensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

export function fromOrtResults(results: ort.InferenceSession.OnnxValueMapType): Record<string, CoreTensor> {
  const out: Record<string, CoreTensor> = {};
  for (const [name, v] of Object.entries(results)) {
    const t = v as ort.Tensor;
    out[name] = { type: t.type as TensorDataType, data: t.data as CoreTensor['data'], dims: [...t.dims] };
  }
  return out;
}

export function sessionValueInfo(session: ort.InferenceSession): { inputs: ValueInfo[]; outputs: ValueInfo[] } {
  return { inputs: session.inputMetadata.map(valueInfo), outputs: session.outputMetadata.map(valueInfo) };
}

function valueInfo(m: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!m.isTensor) return { name: m.name, type: 'unknown', shape: [] };
  return {
    name: m.name,
    type: m.type as TensorDataType,
    shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))),
  };
}
