/**
 * The runtime contract: a loaded model that runs named tensors. Implementations live in
 * `runtime/node` (onnxruntime-node) and later `runtime/web` (onnxruntime-web).
 */
import type { CoreTensor, ModelInfo } from '../core/types.js';

export interface InferenceBackend {
  /** Inputs, outputs and metadata of the loaded model. */
  readonly info: ModelInfo;
  /**
   * Run the model; returns every output (or those named) by name. `spare`: buffers the caller
   * gives up (ownership passes to the backend), which it may fill with outputs of the same byte
   * length instead of allocating new ones. A backend that moves the feeds' buffers elsewhere
   * (a worker thread) puts them back into `feeds` before it resolves, so the caller can reuse them.
   */
  run(feeds: Record<string, CoreTensor>, outputNames?: readonly string[], spare?: ArrayBuffer[]): Promise<Record<string, CoreTensor>>;
  /** Release native resources. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Threading and optimisation settings a backend accepts. */
export interface BackendOptions {
  /** Intra-op threads per session (default: all available cores). */
  threads?: number;
  /** Whether idle intra-op threads spin-wait (fast hand-off, but they steal CPU from decoding). */
  spinning?: boolean;
  /** onnxruntime graph optimisation level (default 'all'). */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
}
