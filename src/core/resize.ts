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
 * The resize streams output rows to a sink, so the tensor layout can consume each row while it
 * is hot in cache instead of a second full pass over an intermediate image.
 */

const COEF_SCALE = 2048;

/** An interleaved 8-bit image. */
export interface PixelBuffer {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Values per pixel in `data` (3 = RGB, 4 = RGBA; only the first 3 are used). */
  channels: number;
}

/** Receives each output row as tightly packed RGB (the buffer is reused: copy what you keep). */
export type RowSink = (dy: number, row: Uint8Array) => void;

/** Round half to even, as OpenCV's `cvRound` (SSE2 `cvtsd2si`) does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface AxisTable {
  /** First source index of each destination index. */
  offset: Int32Array;
  /** Fixed-point weights of the first and second source sample. */
  w0: Int32Array;
  w1: Int32Array;
}

function axisTable(srcSize: number, dstSize: number, clampEdges: boolean): AxisTable {
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

/** Stream the rows of `src` resized to `dstWidth × dstHeight` into `sink`. */
export function resizeRows(src: PixelBuffer, dstWidth: number, dstHeight: number, sink: RowSink): void {
  const { width: sw, height: sh, channels: cn, data } = src;
  const rowLen = dstWidth * 3;
  const row = new Uint8Array(rowLen);
  if (sw === dstWidth && sh === dstHeight) {
    for (let y = 0; y < sh; y++) {
      copyRowRgb(data, y * sw * cn, cn, sw, row);
      sink(y, row);
    }
    return;
  }
  if (sw === dstWidth * 2 && sh === dstHeight * 2) {
    areaHalfRows(src, dstWidth, dstHeight, row, sink);
    return;
  }
  const xt = axisTable(sw, dstWidth, true);
  const yt = axisTable(sh, dstHeight, false);
  // Per output pixel: source offsets of both taps (p1 = p0 at the right edge) and weights.
  const taps: HorizontalTaps = { x0: new Int32Array(dstWidth), x1: new Int32Array(dstWidth), w0: xt.w0, w1: xt.w1 };
  for (let dx = 0; dx < dstWidth; dx++) {
    const sx = xt.offset[dx];
    taps.x0[dx] = sx * cn;
    taps.x1[dx] = sx < sw - 1 ? (sx + 1) * cn : sx * cn;
  }
  // Horizontal results (already >> 4, as OpenCV's SIMD kernel packs them to int16) of the two
  // source rows in use, cached by source row index.
  let rowA = new Int32Array(rowLen);
  let rowB = new Int32Array(rowLen);
  let rowAIndex = -1;
  let rowBIndex = -1;
  const srcStride = sw * cn;
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
        hresize(data, sy0 * srcStride, taps, rowA);
        rowAIndex = sy0;
      }
    }
    if (sy1 !== rowBIndex) {
      if (sy1 === rowAIndex) rowB.set(rowA);
      else hresize(data, sy1 * srcStride, taps, rowB);
      rowBIndex = sy1;
    }
    vresize(rowA, rowB, yt.w0[dy], yt.w1[dy], row);
    sink(dy, row);
  }
}

interface HorizontalTaps {
  x0: Int32Array;
  x1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
}

// The hot loops are top-level functions with everything passed in, walking pixels (weights
// loaded once per pixel, not per value): V8 runs this form ~2× faster than per-value tables.

/** One source row, horizontally interpolated, pre-shifted by 4 as OpenCV's SIMD kernel packs it. */
function hresize(data: PixelBuffer['data'], base: number, t: HorizontalTaps, target: Int32Array): void {
  const { x0, x1, w0, w1 } = t;
  const width = x0.length;
  for (let dx = 0, o = 0; dx < width; dx++, o += 3) {
    const p0 = base + x0[dx];
    const p1 = base + x1[dx];
    const a = w0[dx];
    const b = w1[dx];
    target[o] = (data[p0] * a + data[p1] * b) >> 4;
    target[o + 1] = (data[p0 + 1] * a + data[p1 + 1] * b) >> 4;
    target[o + 2] = (data[p0 + 2] * a + data[p1 + 2] * b) >> 4;
  }
}

/**
 * Vertical blend of two horizontal rows. Values stay within int16 (≤ 255·2048 >> 4 = 32640), so
 * OpenCV's saturation never applies, and weights sum to 2048, so the result needs no clamping.
 */
function vresize(rowA: Int32Array, rowB: Int32Array, b0: number, b1: number, row: Uint8Array): void {
  const n = row.length;
  for (let i = 0; i < n; i++) {
    row[i] = (((b0 * rowA[i]) >> 16) + ((b1 * rowB[i]) >> 16) + 2) >> 2;
  }
}

/** Resize into a tightly packed RGB buffer (`dstWidth × dstHeight × 3`). */
export function resizeBilinear(src: PixelBuffer, dstWidth: number, dstHeight: number, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(dstWidth * dstHeight * 3);
  const rowLen = dstWidth * 3;
  resizeRows(src, dstWidth, dstHeight, (dy, row) => dst.set(row, dy * rowLen));
  return dst;
}

function copyRowRgb(data: PixelBuffer['data'], start: number, cn: number, width: number, row: Uint8Array): void {
  if (cn === 3) {
    row.set(data.subarray(start, start + width * 3));
    return;
  }
  for (let x = 0, s = start, d = 0; x < width; x++, s += cn, d += 3) {
    row[d] = data[s];
    row[d + 1] = data[s + 1];
    row[d + 2] = data[s + 2];
  }
}

/** OpenCV's INTER_AREA fast path for an exact 2× reduction: rounded 2×2 mean. */
function areaHalfRows(src: PixelBuffer, dw: number, dh: number, row: Uint8Array, sink: RowSink): void {
  const { data, width: sw, channels: cn } = src;
  const stride = sw * cn;
  for (let y = 0; y < dh; y++) {
    const r0 = 2 * y * stride;
    const r1 = r0 + stride;
    for (let x = 0; x < dw; x++) {
      const s = 2 * x * cn;
      const d = x * 3;
      for (let c = 0; c < 3; c++) {
        row[d + c] = (data[r0 + s + c] + data[r0 + s + cn + c] + data[r1 + s + c] + data[r1 + s + cn + c] + 2) >> 2;
      }
    }
    sink(y, row);
  }
}
