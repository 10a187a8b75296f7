/**
 * Turn pixels into the network's input tensor: placement (letterbox/stretch), OpenCV-exact
 * resize, channel order, scaling, mean/std, padding, layout (NCHW/NHWC) and dtype. Each resized
 * row goes straight into the tensor through per-channel lookup tables (256 entries), so no
 * arithmetic runs per value and no intermediate image is stored.
 */
import { toFloat16Bits } from './float16.js';
import { computePlacement, type Placement } from './geometry.js';
import { resizeInto, type PixelBuffer, type ResizeDestination } from './resize.js';
import type { InputSpec } from './types.js';

export type InputTensorData = Float32Array | Uint16Array | Uint8Array;

interface Tables {
  /** Per network channel: raw value → tensor value (float32 or float16 bits); null for uint8. */
  lut: (Float32Array | Uint16Array)[] | null;
  /** Tensor value of the padding, per network channel. */
  pad: number[];
  /** Source (RGB) channel each network channel reads. */
  srcChannel: number[];
}

const tableCache = new WeakMap<InputSpec, Tables>();

function tablesFor(input: InputSpec): Tables {
  let t = tableCache.get(input);
  if (t) return t;
  const srcChannel = input.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const padRaw = Math.min(255, Math.max(0, Math.round(input.padValue)));
  let lut: Tables['lut'] = null;
  if (input.dtype !== 'uint8') {
    lut = [0, 1, 2].map((c) => {
      const f32 = new Float32Array(256);
      for (let v = 0; v < 256; v++) f32[v] = (v * input.scale - input.mean[c]) / input.std[c];
      return input.dtype === 'float16' ? Uint16Array.from(f32, (x) => toFloat16Bits(x)) : f32;
    });
  }
  t = { lut, pad: [0, 1, 2].map((c) => (lut ? lut[c][padRaw] : padRaw)), srcChannel };
  tableCache.set(input, t);
  return t;
}

/** Number of elements of one image in the input tensor. */
export function inputElementCount(input: InputSpec): number {
  return input.width * input.height * 3;
}

const BYTES_PER_INPUT_ELEMENT: Record<InputSpec['dtype'], number> = { float32: 4, float16: 2, uint8: 1 };

/** Bytes of the input tensor for `batch` images. */
export function inputByteLength(input: InputSpec, batch = 1): number {
  return inputElementCount(input) * batch * BYTES_PER_INPUT_ELEMENT[input.dtype];
}

/**
 * A tensor buffer for `batch` images of this input: a view on `reuse` when it has exactly the
 * right byte length (a buffer of an earlier input tensor; every value gets overwritten), else new.
 */
export function allocate(input: InputSpec, batch = 1, reuse?: ArrayBuffer): InputTensorData {
  const n = inputElementCount(input) * batch;
  const buffer = reuse?.byteLength === inputByteLength(input, batch) ? reuse : undefined;
  if (input.dtype === 'float16') return buffer ? new Uint16Array(buffer) : new Uint16Array(n);
  if (input.dtype === 'uint8') return buffer ? new Uint8Array(buffer) : new Uint8Array(n);
  return buffer ? new Float32Array(buffer) : new Float32Array(n);
}

/**
 * Resize and place `pixels` into a tensor for `input`. `out` may be a slice of a batch buffer.
 */
export function imageToTensor(pixels: PixelBuffer, input: InputSpec, out?: InputTensorData): { data: InputTensorData; placement: Placement } {
  const placement = computePlacement(pixels.width, pixels.height, input);
  const data = out ?? allocate(input);
  fillPadding(data, placement, input);
  resizeInto(pixels, placement.resizedWidth, placement.resizedHeight, destination(data, placement, input));
  return { data, placement };
}

/**
 * Write already-resized, tightly packed RGB (`placement.resizedWidth × resizedHeight`) into a
 * tensor. Used when the resize happened elsewhere.
 */
export function writeInputTensor(resized: Uint8Array, placement: Placement, input: InputSpec, out?: InputTensorData): InputTensorData {
  const data = out ?? allocate(input);
  fillPadding(data, placement, input);
  const pixels: PixelBuffer = { data: resized, width: placement.resizedWidth, height: placement.resizedHeight, channels: 3 };
  resizeInto(pixels, pixels.width, pixels.height, destination(data, placement, input));
  return data;
}

/** Where each source channel's values go in the tensor (channel order, layout, padding offset). */
function destination(data: InputTensorData, p: Placement, input: InputSpec): ResizeDestination {
  const { lut, srcChannel } = tablesFor(input);
  const W = input.width;
  const plane = W * input.height;
  const pixel0 = p.padY * W + p.padX;
  const offsets: [number, number, number] = [0, 0, 0];
  const tables: [ValueTableOrNull, ValueTableOrNull, ValueTableOrNull] = [null, null, null];
  // Network channel k reads source channel srcChannel[k].
  for (let k = 0; k < 3; k++) {
    const c = srcChannel[k];
    offsets[c] = input.layout === 'nchw' ? k * plane + pixel0 : pixel0 * 3 + k;
    tables[c] = lut ? lut[k] : null;
  }
  return input.layout === 'nchw'
    ? { out: data, offsets, rowStride: W, step: 1, tables }
    : { out: data, offsets, rowStride: W * 3, step: 3, tables };
}

type ValueTableOrNull = Float32Array | Uint16Array | null;

function fillPadding(data: InputTensorData, p: Placement, input: InputSpec): void {
  if (p.resizedWidth === input.width && p.resizedHeight === input.height) return;
  const { pad } = tablesFor(input);
  const plane = input.width * input.height;
  if (input.layout === 'nchw') {
    for (let k = 0; k < 3; k++) data.fill(pad[k], k * plane, (k + 1) * plane);
  } else {
    for (let i = 0; i < plane * 3; i += 3) {
      data[i] = pad[0];
      data[i + 1] = pad[1];
      data[i + 2] = pad[2];
    }
  }
}
