/**
 * Graph-level variants of a float model (no quantization): onnxruntime's offline graph
 * optimizations, uint8 NHWC input with the conversion in the graph, float16, and the Focus
 * (space-to-depth slices) fold.
 */
export { ortOfflineGraph, type OrtOptimizationLevel } from './ort-offline.js';
export { foldInputConversion, profileSidecar } from './uint8-input.js';
export { convertToFloat16 } from './float16.js';
export { foldSpaceToDepthSlices } from './space-to-depth.js';
