/**
 * Quantization arithmetic: scale / zero point of activations (asymmetric uint8 or int8), int8
 * symmetric weights (per output channel or per tensor) and int32 biases.
 *
 * Conventions are the ones onnxruntime's kernels and its own Python quantizer use, so that a
 * QuantizeLinear computed by onnxruntime at run time and a tensor quantized here agree bit for
 * bit: real = (q − zero_point) · scale, q = saturate(round_half_to_even(real / scale) + zp).
 * Scales are stored as float32, so every scale is rounded to float32 (`Math.fround`) before it
 * is used to quantize anything.
 */
import { TearlessError } from '../../core/errors.js';
import type { ActivationType, TensorRange } from '../types.js';

/** Integer range of an activation type. */
export function activationBounds(type: ActivationType): { qmin: number; qmax: number } {
  return type === 'uint8' ? { qmin: 0, qmax: 255 } : { qmin: -128, qmax: 127 };
}

/**
 * Symmetric int8 weights use [−127, 127] (not −128): the range is symmetric, so a weight and its
 * negation quantize to opposite values, and u8×s8 products cannot reach the −128·255 corner.
 */
export const WEIGHT_QMAX = 127;

/** Largest |int32| a bias may take; a margin below 2³¹ so that adding the bias cannot overflow. */
export const BIAS_INT32_LIMIT = 2 ** 31 - 2 ** 16;

/** Scale used when a range or a weight channel is all zeros (any positive value is exact there). */
export const SAFE_SCALE = 1;

/** Round half to even, as std::nearbyint / numpy.round, which onnxruntime's QuantizeLinear uses. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; step back to the even neighbour on exact ties. (`+ 0`: no −0.)
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Scale and zero point of one activation tensor (per tensor: onnxruntime's QLinear kernels need scalars). */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
  type: ActivationType;
}

/** A range made usable: finite, and widened to contain 0 (zero must be exactly representable, for padding). */
export function sanitizeRange(range: TensorRange | undefined): TensorRange | null {
  if (!range || !Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) return null;
  return { min: Math.min(range.min, 0), max: Math.max(range.max, 0) };
}

/**
 * Asymmetric activation parameters for a range: scale = (max − min) / 255 and the zero point
 * that maps `min` to qmin (uint8: zp = round(−min / scale) in [0, 255]; int8: the same shifted
 * by −128). An all-zero range gets scale 1, zero point at 0.
 */
export function activationParams(range: TensorRange, type: ActivationType = 'uint8'): QuantParams {
  const r = sanitizeRange(range);
  if (!r) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Invalid activation range [${range.min}, ${range.max}]: give finite numbers with min ≤ max.`);
  }
  const { qmin, qmax } = activationBounds(type);
  const span = r.max - r.min;
  if (!(span > 0)) return { scale: SAFE_SCALE, zeroPoint: 0, type };
  let scale = Math.fround(span / (qmax - qmin));
  if (!(scale > 0) || !Number.isFinite(scale)) scale = SAFE_SCALE; // span below float32's resolution
  const zeroPoint = clamp(roundHalfEven(qmin - r.min / scale), qmin, qmax);
  return { scale, zeroPoint, type };
}

/** The float interval a set of parameters can represent. */
export function representableRange(p: QuantParams): TensorRange {
  const { qmin, qmax } = activationBounds(p.type);
  return { min: (qmin - p.zeroPoint) * p.scale, max: (qmax - p.zeroPoint) * p.scale };
}

/** Quantize float values with activation parameters (a constant input of Add/Mul/Concat). */
export function quantizeValues(data: Float32Array, p: QuantParams): Uint8Array | Int8Array {
  const { qmin, qmax } = activationBounds(p.type);
  const out = p.type === 'uint8' ? new Uint8Array(data.length) : new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = clamp(roundHalfEven(data[i] / p.scale) + p.zeroPoint, qmin, qmax);
  return out;
}

/** Dequantize values (tests, error estimates). */
export function dequantizeValues(q: ArrayLike<number>, scale: number, zeroPoint = 0): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i] - zeroPoint) * scale;
  return out;
}

// ------------------------------------------------------------------------------------------
// weights and bias
// ------------------------------------------------------------------------------------------

/** Symmetric int8 weights: values and one scale per channel (length 1 when per tensor). */
export interface QuantizedWeights {
  values: Int8Array;
  scales: Float32Array;
  /** The channel axis when per channel, else null. */
  axis: number | null;
}

/** Element count of the dims after `axis`, and the size of `axis`. */
function channelLayout(dims: readonly number[], axis: number): { channels: number; inner: number } {
  if (axis < 0 || axis >= dims.length) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Axis ${axis} is out of range for a weight of shape [${dims.join(', ')}].`);
  }
  return { channels: dims[axis], inner: dims.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

/** max |w| per channel along `axis` (one value for the whole tensor when `axis` is null). */
export function channelAbsMax(data: Float32Array, dims: readonly number[], axis: number | null): Float64Array {
  if (axis === null) {
    let m = 0;
    for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
    return Float64Array.of(m);
  }
  const { channels, inner } = channelLayout(dims, axis);
  const out = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(data[i]);
    if (a > out[c]) out[c] = a;
  }
  return out;
}

/**
 * Quantize weights to int8, symmetric (zero point 0), per channel along `axis` (null: one scale
 * for the tensor). scale = max|w| / 127; an all-zero channel gets scale 1 (its values are exactly
 * 0 whatever the scale). `minScales` raises individual scales (see `biasSafeWeightScales`).
 * Round trip error is at most scale / 2 per element.
 */
export function quantizeWeights(
  data: Float32Array,
  dims: readonly number[],
  axis: number | null,
  minScales?: ArrayLike<number>,
): QuantizedWeights {
  const absMax = channelAbsMax(data, dims, axis);
  const scales = new Float32Array(absMax.length);
  for (let c = 0; c < absMax.length; c++) {
    let s = absMax[c] / WEIGHT_QMAX;
    if (minScales && minScales[c] > s) s = minScales[c];
    s = Math.fround(s);
    scales[c] = s > 0 && Number.isFinite(s) ? s : SAFE_SCALE;
  }
  const values = new Int8Array(data.length);
  const { channels, inner } = axis === null ? { channels: 1, inner: data.length } : channelLayout(dims, axis);
  for (let i = 0; i < data.length; i++) {
    const c = axis === null ? 0 : Math.floor(i / inner) % channels;
    values[i] = clamp(roundHalfEven(data[i] / scales[c]), -WEIGHT_QMAX, WEIGHT_QMAX);
  }
  return { values, scales, axis };
}

/**
 * Smallest weight scale per output channel that keeps the int32 bias in range: the bias is
 * stored as round(b / (x_scale · w_scale)), which overflows int32 when a channel has tiny
 * weights and a large bias (onnxruntime's Python quantizer has the same guard).
 */
export function biasSafeWeightScales(bias: Float32Array, inputScale: number): Float64Array {
  const out = new Float64Array(bias.length);
  for (let c = 0; c < bias.length; c++) out[c] = Math.abs(bias[c]) / (inputScale * BIAS_INT32_LIMIT);
  return out;
}

/**
 * int32 bias for QLinearConv / QGemm: scale = x_scale · w_scale[c], zero point 0 (what the
 * integer kernels assume: they add the bias to the int32 accumulator of x_q·w_q). `weightScales`
 * of length 1 means per tensor.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const values = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = inputScale * weightScales[weightScales.length === 1 ? 0 : c];
    scales[c] = Math.fround(s);
    values[c] = clamp(roundHalfEven(bias[c] / s), -BIAS_INT32_LIMIT, BIAS_INT32_LIMIT);
  }
  return { values, scales };
}

/** Transpose a 2-D row-major matrix [rows, cols] → [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}
