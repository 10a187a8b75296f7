/**
 * The candidates `tearless optimize` builds from one model. Each is a recipe (spec + build);
 * building can fail on its own (an op a pass cannot handle) without stopping the search.
 */
import type { ModelProfile } from '../../core/types.js';
import type { OnnxModel } from '../onnx/model.js';
import type { CalibrationMethod, CandidateSpec, QuantFormat } from '../types.js';

/** What a build step returns: a model (written by the search) or a file it wrote itself. */
export interface BuiltCandidate {
  model?: OnnxModel;
  /** Bytes already serialized (e.g. onnxruntime's offline graph read back). */
  bytes?: Uint8Array;
  /** The profile to write beside it when it differs from the original's (uint8 input). */
  profile?: ModelProfile;
  quantizedNodes?: number;
  floatNodes?: number;
}

export interface CandidateRecipe extends CandidateSpec {
  build(): Promise<BuiltCandidate>;
}

/** Stable ids, so reports and scripts can refer to a candidate across runs. */
export const candidateId = {
  original: 'original',
  ortOffline: (level: string) => `ort-${level}`,
  spaceToDepth: 's2d-fold',
  uint8Input: 'uint8-input',
  fp16: 'fp16',
  staticInt8: (format: QuantFormat, method: CalibrationMethod, suffix = '') => `int8-${format}-${method}${suffix}`,
  dynamicInt8: 'int8-dynamic',
  reference: (name: string) => `ref:${name}`,
};
