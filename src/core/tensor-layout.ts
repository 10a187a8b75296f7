/**
 * Turn resized RGB pixels into the network's input tensor: channel order, scaling,
 * mean/std, letterbox padding, layout (NCHW/NHWC) and dtype — in one pass through
 * per-channel lookup tables (256 entries), so no arithmetic runs per pixel.
 */
import { toFloat16Bits } from './float16.js';
import type { Placement } from './geometry.js';
import type { InputSpec } from './types.js';

export type InputTensorData = Float32Array | Uint16Array | Uint8Array;

/** Per network-channel lookup tables from a raw 0–255 value to the tensor value. */
function lookupTables(input: InputSpec): Float32Array[] {
  const tables: Float32Array[] = [];
  for (let c = 0; c < 3; c++) {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v * input.scale - input.mean[c]) / input.std[c];
    tables.push(t);
  }
  return tables;
}

const tableCache = new WeakMap<InputSpec, { f32: Float32Array[]; f16: Uint16Array[] }>();

function tablesFor(input: InputSpec): { f32: Float32Array[]; f16: Uint16Array[] } {
  let t = tableCache.get(input);
  if (!t) {
    const f32 = lookupTables(input);
    const f16 = f32.map((tab) => Uint16Array.from(tab, (x) => toFloat16Bits(x)));
    t = { f32, f16 };
    tableCache.set(input, t);
  }
  return t;
}

/** Number of elements of one image in the input tensor. */
export function inputElementCount(input: InputSpec): number {
  return input.width * input.height * 3;
}

/**
 * Write `resized` (tightly packed RGB of `placement.resizedWidth × resizedHeight`) into a
 * tensor buffer of the profile's dtype and layout, padding the rest of the canvas.
 * `out` may be a slice of a batch buffer.
 */
export function writeInputTensor(resized: Uint8Array, placement: Placement, input: InputSpec, out?: InputTensorData): InputTensorData {
  const W = input.width;
  const H = input.height;
  const plane = W * H;
  const data = out ?? allocate(input);
  // Network channel k reads source channel src[k]: identity for RGB, reversed for BGR.
  const srcChannel = input.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const { resizedWidth: rw, resizedHeight: rh, padX, padY } = placement;
  const pad = Math.min(255, Math.max(0, Math.round(input.padValue)));
  const tables = input.dtype === 'float16' ? tablesFor(input).f16 : input.dtype === 'float32' ? tablesFor(input).f32 : null;

  for (let k = 0; k < 3; k++) {
    const sc = srcChannel[k];
    const table = tables ? tables[k] : null;
    const padOut = table ? table[pad] : pad;
    const nchw = input.layout === 'nchw';
    const base = nchw ? k * plane : k;
    const step = nchw ? 1 : 3;
    const needsPad = rw !== W || rh !== H;
    if (needsPad) fillChannel(data, base, step, plane, padOut);
    for (let y = 0; y < rh; y++) {
      let o = base + ((y + padY) * W + padX) * step;
      let s = y * rw * 3 + sc;
      const end = s + rw * 3;
      if (table) {
        for (; s < end; s += 3, o += step) data[o] = table[resized[s]];
      } else {
        for (; s < end; s += 3, o += step) data[o] = resized[s];
      }
    }
  }
  return data;
}

function fillChannel(data: InputTensorData, base: number, step: number, count: number, value: number): void {
  if (step === 1) {
    data.fill(value, base, base + count);
    return;
  }
  for (let i = 0, o = base; i < count; i++, o += step) data[o] = value;
}

/** Allocate a tensor buffer for `batch` images of this input. */
export function allocate(input: InputSpec, batch = 1): InputTensorData {
  const n = inputElementCount(input) * batch;
  if (input.dtype === 'float16') return new Uint16Array(n);
  if (input.dtype === 'uint8') return new Uint8Array(n);
  return new Float32Array(n);
}
