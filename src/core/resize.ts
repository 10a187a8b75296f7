/**
 * Bilinear resize of interleaved uint8 pixels that reproduces OpenCV's `cv::resize` with
 * `INTER_LINEAR` — the resize every reference export pipeline (YOLOX, Ultralytics, NanoDet…)
 * uses. Why hand-written: sharp/libvips' kernels smooth when downscaling and move ~10% of
 * YOLOX boxes off the reference; OpenCV's INTER_LINEAR samples 2×2 neighbours at any scale.
 *
 * OpenCV specifics reproduced (bit-exact on the golden cases in test/golden):
 * - source coordinate `fx = float((dx + 0.5) * (srcW / dstW) - 0.5)`, computed in float32;
 * - x clamped to the border with weight 0 outside, rows clamped (replicated border);
 * - 11-bit fixed-point weights (`INTER_RESIZE_COEF_SCALE = 2048`) rounded half-to-even;
 * - horizontal pass in exact int32, vertical pass as the SIMD kernel computes it:
 *   `((b0·(S0>>4))>>16 + (b1·(S1>>4))>>16 + 2) >> 2`;
 * - an exact 2× downscale in both axes runs INTER_AREA's 2×2 average, as OpenCV switches to it.
 *
 * Speed: the horizontal pass splits channels into planes and the vertical pass writes each
 * value straight to its destination through a lookup table (e.g. the float tensor of a
 * network input), so a 640×480 → 416×312 resize-and-layout costs one pass (~2.7 ms here).
 * That is still most of the CPU time outside the model, so where WebAssembly SIMD is
 * available (Node 20, current browsers) `resizeInto` runs the same arithmetic in the wasm
 * kernel of ./wasm/ (~5× faster, bit-identical: test/resize-wasm.test.ts compares the two);
 * this JS implementation remains the fallback and the reference.
 */
import { resizeWasm, wasmResizeAvailable } from './wasm/resize-kernel.js';

const COEF_SCALE = 2048;

/** An interleaved 8-bit image. */
export interface PixelBuffer {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Values per pixel in `data` (3 = RGB, 4 = RGBA; only the first 3 are used). */
  channels: number;
}

/** A lookup table from an 8-bit value to the stored value (e.g. normalised float, fp16 bits). */
export type ValueTable = Float32Array | Uint16Array;

/**
 * Where resized values go: for source channel c (R, G, B), row `dy`, column `dx`, the value
 * is stored at `out[offsets[c] + dy·rowStride + dx·step]`, mapped through `tables[c]` if set.
 */
export interface ResizeDestination {
  out: Float32Array | Uint16Array | Uint8Array;
  offsets: readonly [number, number, number];
  rowStride: number;
  step: number;
  tables: readonly [ValueTable | null, ValueTable | null, ValueTable | null];
}

/** Round half to even, as OpenCV's `cvRound` (SSE2 `cvtsd2si`) does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per destination column (or row): first source tap and its 11-bit weights. */
export interface AxisTable {
  offset: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

// Frames of one stream share sizes: keep the last few tables instead of rebuilding them.
const axisCache = new Map<string, AxisTable>();

function axisTable(srcSize: number, dstSize: number, clampEdges: boolean): AxisTable {
  const key = `${srcSize},${dstSize},${clampEdges}`;
  let t = axisCache.get(key);
  if (!t) {
    t = buildAxisTable(srcSize, dstSize, clampEdges);
    if (axisCache.size >= 16) axisCache.delete(axisCache.keys().next().value!);
    axisCache.set(key, t);
  }
  return t;
}

function buildAxisTable(srcSize: number, dstSize: number, clampEdges: boolean): AxisTable {
  const scale = srcSize / dstSize;
  const offset = new Int32Array(dstSize);
  const w0 = new Int32Array(dstSize);
  const w1 = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    let frac = Math.fround(f - s);
    if (clampEdges) {
      // Horizontal: OpenCV pins out-of-range taps to the border with weight 0.
      if (s < 0) { s = 0; frac = 0; }
      if (s >= srcSize - 1) { s = srcSize - 1; frac = 0; }
    }
    offset[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - frac) * COEF_SCALE);
    w1[d] = roundHalfEven(frac * COEF_SCALE);
  }
  return { offset, w0, w1 };
}

export type ResizeBackend = 'js' | 'wasm' | 'auto';

let backend: ResizeBackend = 'auto';

/**
 * Choose the implementation behind `resizeInto` (for tests and benchmarks): 'auto' (default)
 * uses WebAssembly when available, 'js' forces the JS reference, 'wasm' requires WebAssembly
 * (throws if unavailable). Jobs the kernel does not handle (see wasm/resize-kernel.ts) run in
 * JS whatever the setting.
 */
export function setResizeBackend(b: ResizeBackend): void {
  if (b === 'wasm' && !wasmResizeAvailable()) throw new Error('WebAssembly SIMD is not available here');
  backend = b;
}

/** The implementation `resizeInto` uses now: 'wasm' or 'js'. */
export function getResizeBackend(): 'js' | 'wasm' {
  return backend !== 'js' && wasmResizeAvailable() ? 'wasm' : 'js';
}

let lastBackend: 'js' | 'wasm' | null = null;

/** Which implementation ran the last `resizeInto` (tests and benchmarks check the fast path ran). */
export function lastResizeBackend(): 'js' | 'wasm' | null {
  return lastBackend;
}

/** Resize `src` to `dstWidth × dstHeight`, writing values as `dest` describes. */
export function resizeInto(src: PixelBuffer, dstWidth: number, dstHeight: number, dest: ResizeDestination): void {
  if (backend !== 'js' && resizeWasm(src, dstWidth, dstHeight, dest, axisTable)) {
    lastBackend = 'wasm';
    return;
  }
  lastBackend = 'js';
  resizeIntoJs(src, dstWidth, dstHeight, dest);
}

/**
 * The WebAssembly implementation alone: false (nothing written) when WebAssembly SIMD is
 * unavailable or the job is not one it handles (see wasm/resize-kernel.ts).
 */
export function resizeIntoWasm(src: PixelBuffer, dstWidth: number, dstHeight: number, dest: ResizeDestination): boolean {
  return resizeWasm(src, dstWidth, dstHeight, dest, axisTable);
}

/** The JS implementation (the reference the wasm kernel is tested against). */
export function resizeIntoJs(src: PixelBuffer, dstWidth: number, dstHeight: number, dest: ResizeDestination): void {
  const { width: sw, height: sh, channels: cn, data } = src;
  if ((sw === dstWidth && sh === dstHeight) || (sw === dstWidth * 2 && sh === dstHeight * 2)) {
    // Copy (same size) or OpenCV's INTER_AREA 2× path: rare, so a simple per-row writer.
    const row = new Uint8Array(dstWidth * 3);
    const half = sw !== dstWidth;
    for (let dy = 0; dy < dstHeight; dy++) {
      if (half) areaHalfRow(src, dy, dstWidth, row);
      else copyRowRgb(data, dy * sw * cn, cn, sw, row);
      writeRgbRow(row, dy, dstWidth, dest);
    }
    return;
  }
  const xt = axisTable(sw, dstWidth, true);
  const yt = axisTable(sh, dstHeight, false);
  const x0 = new Int32Array(dstWidth);
  const x1 = new Int32Array(dstWidth);
  for (let dx = 0; dx < dstWidth; dx++) {
    const sx = xt.offset[dx];
    x0[dx] = sx * cn;
    x1[dx] = sx < sw - 1 ? (sx + 1) * cn : sx * cn;
  }
  // Horizontal results (pre-shifted by 4, as OpenCV's SIMD kernel packs them to int16) of the
  // two source rows in use, one plane per channel, cached by source row index.
  // One backing buffer per row pair: measured ~30% faster in V8 than six separate arrays.
  const bufA = new Int32Array(dstWidth * 3);
  const bufB = new Int32Array(dstWidth * 3);
  let rowA = [bufA.subarray(0, dstWidth), bufA.subarray(dstWidth, 2 * dstWidth), bufA.subarray(2 * dstWidth)];
  let rowB = [bufB.subarray(0, dstWidth), bufB.subarray(dstWidth, 2 * dstWidth), bufB.subarray(2 * dstWidth)];
  let rowAIndex = -1;
  let rowBIndex = -1;
  const srcStride = sw * cn;
  const { out, offsets, rowStride, step, tables } = dest;
  const [t0, t1, t2] = tables;
  const fast = step === 1 && t0 !== null && t1 !== null && t2 !== null;
  for (let dy = 0; dy < dstHeight; dy++) {
    const oy = yt.offset[dy];
    const sy0 = oy < 0 ? 0 : oy >= sh ? sh - 1 : oy;
    const sy1 = oy + 1 < 0 ? 0 : oy + 1 >= sh ? sh - 1 : oy + 1;
    if (sy0 !== rowAIndex) {
      if (sy0 === rowBIndex) {
        const t = rowA; rowA = rowB; rowB = t;
        rowAIndex = sy0;
        rowBIndex = -1;
      } else {
        hresize(data, sy0 * srcStride, x0, x1, xt.w0, xt.w1, rowA[0], rowA[1], rowA[2]);
        rowAIndex = sy0;
      }
    }
    if (sy1 !== rowBIndex) {
      if (sy1 === rowAIndex) for (let c = 0; c < 3; c++) rowB[c].set(rowA[c]);
      else hresize(data, sy1 * srcStride, x0, x1, xt.w0, xt.w1, rowB[0], rowB[1], rowB[2]);
      rowBIndex = sy1;
    }
    const b0 = yt.w0[dy];
    const b1 = yt.w1[dy];
    const rowStart = dy * rowStride;
    if (fast) {
      vresizeTable(rowA[0], rowB[0], b0, b1, t0!, out, offsets[0] + rowStart, dstWidth);
      vresizeTable(rowA[1], rowB[1], b0, b1, t1!, out, offsets[1] + rowStart, dstWidth);
      vresizeTable(rowA[2], rowB[2], b0, b1, t2!, out, offsets[2] + rowStart, dstWidth);
    } else {
      for (let c = 0; c < 3; c++) vresizeStep(rowA[c], rowB[c], b0, b1, tables[c], out, offsets[c] + rowStart, step, dstWidth);
    }
  }
}

/** Resize into a tightly packed RGB buffer (`dstWidth × dstHeight × 3`). */
export function resizeBilinear(src: PixelBuffer, dstWidth: number, dstHeight: number, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(dstWidth * dstHeight * 3);
  resizeInto(src, dstWidth, dstHeight, { out: dst, offsets: [0, 1, 2], rowStride: dstWidth * 3, step: 3, tables: [null, null, null] });
  return dst;
}

// The hot loops are top-level functions with everything passed in: V8 optimises these far
// better than closures over the caller's variables.

/** One source row, horizontally interpolated into three channel planes. */
function hresize(data: PixelBuffer['data'], base: number, x0: Int32Array, x1: Int32Array, w0: Int32Array, w1: Int32Array, r: Int32Array, g: Int32Array, b: Int32Array): void {
  const n = x0.length;
  for (let dx = 0; dx < n; dx++) {
    const p0 = base + x0[dx];
    const p1 = base + x1[dx];
    const a = w0[dx];
    const c = w1[dx];
    r[dx] = (data[p0] * a + data[p1] * c) >> 4;
    g[dx] = (data[p0 + 1] * a + data[p1 + 1] * c) >> 4;
    b[dx] = (data[p0 + 2] * a + data[p1 + 2] * c) >> 4;
  }
}

/*
 * Vertical blend. Values stay within int16 (≤ 255·2048 >> 4 = 32640), so OpenCV's saturation
 * never applies, and weights sum to 2048, so the result is already within 0..255.
 */

/** The common case: contiguous destination through a table (NCHW float tensors). */
function vresizeTable(A: Int32Array, B: Int32Array, b0: number, b1: number, table: ValueTable, out: ResizeDestination['out'], start: number, n: number): void {
  for (let dx = 0; dx < n; dx++) out[start + dx] = table[(((b0 * A[dx]) >> 16) + ((b1 * B[dx]) >> 16) + 2) >> 2];
}

function vresizeStep(A: Int32Array, B: Int32Array, b0: number, b1: number, table: ValueTable | null, out: ResizeDestination['out'], start: number, step: number, n: number): void {
  for (let dx = 0, o = start; dx < n; dx++, o += step) {
    const v = (((b0 * A[dx]) >> 16) + ((b1 * B[dx]) >> 16) + 2) >> 2;
    out[o] = table ? table[v] : v;
  }
}

function writeRgbRow(row: Uint8Array, dy: number, width: number, dest: ResizeDestination): void {
  for (let c = 0; c < 3; c++) {
    const table = dest.tables[c];
    for (let dx = 0, o = dest.offsets[c] + dy * dest.rowStride; dx < width; dx++, o += dest.step) {
      const v = row[dx * 3 + c];
      dest.out[o] = table ? table[v] : v;
    }
  }
}

function copyRowRgb(data: PixelBuffer['data'], start: number, cn: number, width: number, row: Uint8Array): void {
  for (let x = 0, s = start, d = 0; x < width; x++, s += cn, d += 3) {
    row[d] = data[s];
    row[d + 1] = data[s + 1];
    row[d + 2] = data[s + 2];
  }
}

/** OpenCV's INTER_AREA fast path for an exact 2× reduction: rounded 2×2 mean. */
function areaHalfRow(src: PixelBuffer, y: number, dw: number, row: Uint8Array): void {
  const { data, width: sw, channels: cn } = src;
  const stride = sw * cn;
  const r0 = 2 * y * stride;
  const r1 = r0 + stride;
  for (let x = 0; x < dw; x++) {
    const s = 2 * x * cn;
    for (let c = 0; c < 3; c++) {
      row[x * 3 + c] = (data[r0 + s + c] + data[r0 + s + cn + c] + data[r1 + s + c] + data[r1 + s + cn + c] + 2) >> 2;
    }
  }
}
