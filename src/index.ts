/**
 * tearless — the Node API.
 * @example
 * import { Detector } from 'tearless';
 * const det = await Detector.load();            // bundled YOLOX-nano (COCO)
 * const { detections } = await det.detect('photo.jpg');
 * await det.close();
 */
export { Detector } from './pipeline/detector.js';
export type { DetectorOptions, DetectResult, EncodedBatchOptions, StageTimings, ImageInput } from './pipeline/detector.js';
export { decodeImage, probeImage, DEFAULT_MAX_PIXELS } from './pipeline/image-decode.js';
export { BUNDLED_MODEL_PATH, sidecarPath } from './pipeline/model-source.js';
export { OnnxNodeBackend, availableCores } from './runtime/node/onnx-backend.js';
export type { InferenceBackend, BackendOptions } from './runtime/backend.js';
export * from './core/index.js';
export { runOptimize } from './optimize/search/run.js';
export type { OptimizeOptions } from './optimize/search/run.js';
export type { OptimizeReport, CandidateResult, LayerSensitivity, OpTypeTime, CalibrationMethod, QuantFormat } from './optimize/types.js';
