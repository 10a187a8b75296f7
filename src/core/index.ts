/** `tearless/core`: the isomorphic pre/post-processing shared by Node, the server and the browser. */
export * from './types.js';
export * from './errors.js';
export { computePlacement, mapBoxesToSource, type Placement } from './geometry.js';
export {
  resizeBilinear, resizeInto, resizeIntoJs, resizeIntoWasm, setResizeBackend, getResizeBackend, lastResizeBackend,
  type PixelBuffer, type ResizeDestination, type ResizeBackend,
} from './resize.js';
export { imageToTensor, writeInputTensor, allocate as allocateInputTensor } from './tensor-layout.js';
export { Candidates } from './candidates.js';
export { nms, type NmsOptions } from './nms.js';
export { postprocess, resolveDetectOptions, labelOf, type ResolvedDetectOptions } from './postprocess.js';
export { detectProfile, parseUltralyticsNames } from './profile/detect.js';
export { resolveProfile, parseOverrides, validateProfile, type ProfileOverrides } from './profile/overrides.js';
export { DECODERS } from './decoders/index.js';
export { COCO80_LABELS } from './labels.js';
