/** Activation calibration: statistics of the float model's tensors → quantization ranges. */
export { activationTensors, collectActivationRanges, type CollectOptions, type Feeds } from './collect.js';
export { applyKnownRanges } from './bounded.js';
export { MagnitudeHistogram, TensorHistogram, TensorStats } from './histogram.js';
export {
  ENTROPY_TAIL_FRACTION,
  MIN_RANGE_SPAN,
  entropyRange,
  histogramRange,
  histogramTailFraction,
  klThresholdBins,
  magnitudeDistribution,
  minMaxRange,
  percentileRange,
  type MagnitudeDistribution,
} from './methods.js';
