// AssemblyScript source of the WebAssembly (SIMD128) resize kernel used by ../resize.ts.
//
// Build: `npm run build:wasm` (scripts/build-wasm.mjs) compiles this file and regenerates the
// embedded bytes in resize-wasm.ts, which is what the library loads (no file I/O, so the core
// stays isomorphic). The extension is `.as`, not `.ts`, so that the project's tsc/eslint (which
// include every .ts under src/) leave AssemblyScript's dialect alone; the build script hands
// it to asc under a .ts name.
//
// It computes exactly what the JS reference in ../resize.ts computes (OpenCV's INTER_LINEAR
// fixed-point arithmetic, the exact-2× INTER_AREA path and the identity copy); the caller
// builds the coefficient tables in JS and lays everything out in linear memory:
//
//   xtab  dw × 8 bytes   [byte offset of source pixel sx in a row (i32), w0 | w1 << 16]
//   ytab  dh × 16 bytes  [sy0, sy1, b0, b1] (i32): the two source rows (clamped, and as
//                        positions in `src`, which may hold only the rows that are read)
//   rows  2 × dw × 16    horizontal results of the two cached source rows, one i32x4 per
//                        pixel: [R, G, B, 0] already shifted right by 4 (OpenCV packs them to
//                        int16 at that point; values ≤ 255·2048 >> 4 = 32640)
//   lut   3 × 256 × es   per source channel: value → stored bits (f32 or f16), if any
//   out   destination values; channel c of pixel (dy, dx) goes to
//         o_c + dy·rowBytes + dx·pixBytes (planes or interleaved, chosen by the caller)
//   src   the interleaved source rows (all of them, or for bilinear only those it reads),
//         then ≥ 16 bytes of slack: the SIMD loads read 4 or 8 bytes from a pixel's start.

/** First 16-byte-aligned free byte after the module's static data: the caller's arena. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

// Output element kinds (the type parameter T of the kernels below):
//   u8  raw value 0..255, no table;  u16  16-bit table (fp16 bits);  f32  32-bit table.
// Table entries are moved as integers (f32 as u32), so the stored bits are the table's bits:
// exactly what the JS lookup stores (for any entry but NaN, whose payload JS may not keep).

/**
 * Resize `src` (sw × sh, cn ∈ {3, 4} bytes per pixel) to dw × dh.
 * mode 0: bilinear (INTER_LINEAR, OpenCV fixed point); 1: identity copy; 2: exact 2× area.
 * kind 0: u8 raw; 1: u16 through lut; 2: f32 through lut.
 */
export function resize(
  mode: i32, kind: i32,
  src: usize, sw: i32, sh: i32, cn: i32, dw: i32, dh: i32,
  xtab: usize, ytab: usize, rows: usize, lut: usize,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32,
): void {
  if (kind == 0) run<u8>(mode, src, sw, sh, cn, dw, dh, xtab, ytab, rows, lut, o0, o1, o2, rowBytes, pixBytes);
  else if (kind == 1) run<u16>(mode, src, sw, sh, cn, dw, dh, xtab, ytab, rows, lut, o0, o1, o2, rowBytes, pixBytes);
  else run<f32>(mode, src, sw, sh, cn, dw, dh, xtab, ytab, rows, lut, o0, o1, o2, rowBytes, pixBytes);
}

// @inline: run<T> is instantiated per output kind; inlining makes every branch on
// sizeof<T>() a compile-time constant, so each inner loop is specialised.
@inline
function run<T>(
  mode: i32, src: usize, sw: i32, sh: i32, cn: i32, dw: i32, dh: i32,
  xtab: usize, ytab: usize, rows: usize, lut: usize,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32,
): void {
  // Lane c holds the address of channel c's table; index v lands at lut_c + v·sizeof<T>.
  const es = <i32>sizeof<T>();
  const lutv = i32x4(<i32>lut, <i32>lut + 256 * es, <i32>lut + 512 * es, 0);
  if (mode == 0) linear<T>(src, sw, sh, cn, dw, dh, xtab, ytab, rows, lutv, o0, o1, o2, rowBytes, pixBytes);
  else if (mode == 1) copy<T>(src, sw, cn, dw, dh, lutv, o0, o1, o2, rowBytes, pixBytes);
  else area<T>(src, sw, cn, dw, dh, lutv, o0, o1, o2, rowBytes, pixBytes);
}

/** Store one pixel's three values v = [c0, c1, c2, _] (each 0..255) for channels 0, 1, 2. */
@inline
function emit<T>(v: v128, lutv: v128, p0: usize, p1: usize, p2: usize): void {
  if (sizeof<T>() == 1) {
    store<u8>(p0, <u8>i32x4.extract_lane(v, 0));
    store<u8>(p1, <u8>i32x4.extract_lane(v, 1));
    store<u8>(p2, <u8>i32x4.extract_lane(v, 2));
  } else if (sizeof<T>() == 2) {
    const a = i32x4.add(i32x4.shl(v, 1), lutv);
    store<u16>(p0, load<u16>(<usize>i32x4.extract_lane(a, 0)));
    store<u16>(p1, load<u16>(<usize>i32x4.extract_lane(a, 1)));
    store<u16>(p2, load<u16>(<usize>i32x4.extract_lane(a, 2)));
  } else {
    const a = i32x4.add(i32x4.shl(v, 2), lutv);
    store<u32>(p0, load<u32>(<usize>i32x4.extract_lane(a, 0)));
    store<u32>(p1, load<u32>(<usize>i32x4.extract_lane(a, 1)));
    store<u32>(p2, load<u32>(<usize>i32x4.extract_lane(a, 2)));
  }
}

/** Two adjacent pixels of a planar destination (the second one element further). */
@inline
function emitPair<T>(v: v128, w: v128, lutv: v128, p0: usize, p1: usize, p2: usize): void {
  if (sizeof<T>() == 1) {
    store<u8>(p0, <u8>i32x4.extract_lane(v, 0));
    store<u8>(p1, <u8>i32x4.extract_lane(v, 1));
    store<u8>(p2, <u8>i32x4.extract_lane(v, 2));
    store<u8>(p0, <u8>i32x4.extract_lane(w, 0), 1);
    store<u8>(p1, <u8>i32x4.extract_lane(w, 1), 1);
    store<u8>(p2, <u8>i32x4.extract_lane(w, 2), 1);
  } else if (sizeof<T>() == 2) {
    const a = i32x4.add(i32x4.shl(v, 1), lutv);
    const b = i32x4.add(i32x4.shl(w, 1), lutv);
    store<u16>(p0, load<u16>(<usize>i32x4.extract_lane(a, 0)));
    store<u16>(p1, load<u16>(<usize>i32x4.extract_lane(a, 1)));
    store<u16>(p2, load<u16>(<usize>i32x4.extract_lane(a, 2)));
    store<u16>(p0, load<u16>(<usize>i32x4.extract_lane(b, 0)), 2);
    store<u16>(p1, load<u16>(<usize>i32x4.extract_lane(b, 1)), 2);
    store<u16>(p2, load<u16>(<usize>i32x4.extract_lane(b, 2)), 2);
  } else {
    const a = i32x4.add(i32x4.shl(v, 2), lutv);
    const b = i32x4.add(i32x4.shl(w, 2), lutv);
    store<u32>(p0, load<u32>(<usize>i32x4.extract_lane(a, 0)));
    store<u32>(p1, load<u32>(<usize>i32x4.extract_lane(a, 1)));
    store<u32>(p2, load<u32>(<usize>i32x4.extract_lane(a, 2)));
    store<u32>(p0, load<u32>(<usize>i32x4.extract_lane(b, 0)), 4);
    store<u32>(p1, load<u32>(<usize>i32x4.extract_lane(b, 1)), 4);
    store<u32>(p2, load<u32>(<usize>i32x4.extract_lane(b, 2)), 4);
  }
}

/**
 * One source row, horizontally interpolated: per destination pixel, one 8-byte load covers
 * both taps (pixel sx and sx + 1 are adjacent, cn ≤ 4), a byte shuffle pairs them per channel
 * as int16 [c(sx), c(sx+1)] and pmaddwd-style dot with [w0, w1] gives c(sx)·w0 + c(sx+1)·w1
 * exactly in int32. At the right border the table pins sx to the last pixel with w1 = 0, so
 * the second tap (the next row's first pixel, or the slack after the image) contributes 0.
 */
function hresize(row: usize, xtab: usize, dw: i32, dst: usize, cn: i32): void {
  const end = xtab + (<usize>dw << 3);
  if (cn == 3) {
    // bytes [r0 g0 b0 r1 g1 b1 ..] → int16 [r0 r1 g0 g1 b0 b1 0 0] (index ≥ 16 yields 0)
    const m = i8x16(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1);
    for (let t = xtab; t < end; t += 8, dst += 16) {
      const px = i8x16.swizzle(v128.load64_zero(row + <usize>load<i32>(t)), m);
      v128.store(dst, i32x4.shr_s(i32x4.dot_i16x8_s(px, v128.load32_splat(t, 4)), 4));
    }
  } else {
    const m = i8x16(0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, -1, -1, -1, -1);
    for (let t = xtab; t < end; t += 8, dst += 16) {
      const px = i8x16.swizzle(v128.load64_zero(row + <usize>load<i32>(t)), m);
      v128.store(dst, i32x4.shr_s(i32x4.dot_i16x8_s(px, v128.load32_splat(t, 4)), 4));
    }
  }
}

@inline
function linear<T>(
  src: usize, sw: i32, sh: i32, cn: i32, dw: i32, dh: i32,
  xtab: usize, ytab: usize, rows: usize, lutv: v128,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32,
): void {
  const stride = <usize>(sw * cn);
  const rowSize = <usize>dw << 4;
  // The two cached horizontal rows (A: upper tap, B: lower tap), as in the JS reference.
  let rowA = rows;
  let rowB = rows + rowSize;
  let idxA = -1;
  let idxB = -1;
  for (let dy = 0; dy < dh; dy++) {
    const y = ytab + (<usize>dy << 4);
    const sy0 = load<i32>(y);
    const sy1 = load<i32>(y, 4);
    if (sy0 != idxA) {
      if (sy0 == idxB) {
        const t = rowA; rowA = rowB; rowB = t;
        idxA = sy0;
        idxB = -1;
      } else {
        hresize(src + <usize>sy0 * stride, xtab, dw, rowA, cn);
        idxA = sy0;
      }
    }
    if (sy1 != idxB) {
      if (sy1 == idxA) memory.copy(rowB, rowA, rowSize);
      else hresize(src + <usize>sy1 * stride, xtab, dw, rowB, cn);
      idxB = sy1;
    }
    const b0 = i32x4.splat(load<i32>(y, 8));
    const b1 = i32x4.splat(load<i32>(y, 12));
    const off = <usize>(dy * rowBytes);
    let p0 = o0 + off;
    let p1 = o1 + off;
    let p2 = o2 + off;
    const step = <usize>pixBytes;
    let i: usize = 0;
    if (step == sizeof<T>()) {
      // Planar: two pixels per iteration, the second stored at a constant offset.
      const pairEnd = rowSize & ~31;
      for (; i < pairEnd; i += 32) {
        emitPair<T>(blend(v128.load(rowA + i), v128.load(rowB + i), b0, b1), blend(v128.load(rowA + i, 16), v128.load(rowB + i, 16), b0, b1), lutv, p0, p1, p2);
        p0 += 2 * sizeof<T>(); p1 += 2 * sizeof<T>(); p2 += 2 * sizeof<T>();
      }
    }
    for (; i < rowSize; i += 16) {
      emit<T>(blend(v128.load(rowA + i), v128.load(rowB + i), b0, b1), lutv, p0, p1, p2);
      p0 += step; p1 += step; p2 += step;
    }
  }
}

/**
 * Vertical blend of one pixel, as OpenCV's SIMD kernel: ((b0·A) >> 16) + ((b1·B) >> 16) + 2) >> 2.
 * Weights sum to 2048 and A, B ≤ 32640, so this is exact in int32 and lands in 0..255.
 */
@inline
function blend(a: v128, b: v128, b0: v128, b1: v128): v128 {
  const s = i32x4.add(i32x4.shr_s(i32x4.mul(a, b0), 16), i32x4.shr_s(i32x4.mul(b, b1), 16));
  return i32x4.shr_s(i32x4.add(s, i32x4.splat(2)), 2);
}

/** Identity size: each pixel's first three bytes, unchanged. */
@inline
function copy<T>(
  src: usize, sw: i32, cn: i32, dw: i32, dh: i32, lutv: v128,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32,
): void {
  const pix = <usize>cn;
  const step = <usize>pixBytes;
  for (let dy = 0; dy < dh; dy++) {
    const off = <usize>(dy * rowBytes);
    let p0 = o0 + off;
    let p1 = o1 + off;
    let p2 = o2 + off;
    let s = src + <usize>dy * <usize>(sw * cn);
    let dx = 0;
    if (step == sizeof<T>()) {
      for (; dx + 1 < dw; dx += 2, s += 2 * pix) {
        emitPair<T>(copyPixel(s), copyPixel(s + pix), lutv, p0, p1, p2);
        p0 += 2 * sizeof<T>(); p1 += 2 * sizeof<T>(); p2 += 2 * sizeof<T>();
      }
    }
    for (; dx < dw; dx++, s += pix) {
      emit<T>(copyPixel(s), lutv, p0, p1, p2);
      p0 += step; p1 += step; p2 += step;
    }
  }
}

/** bytes [c0 c1 c2 ..] at s → int32 [c0 c1 c2 0] */
@inline
function copyPixel(s: usize): v128 {
  return i8x16.swizzle(v128.load32_zero(s), i8x16(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, -1, -1, -1, -1));
}

/** OpenCV's INTER_AREA path for an exact 2× reduction: (sum of the 2×2 block + 2) >> 2. */
@inline
function area<T>(
  src: usize, sw: i32, cn: i32, dw: i32, dh: i32, lutv: v128,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32,
): void {
  // Same pairing as hresize: int16 [c(2x), c(2x+1)] per channel; one loop per cn so that the
  // shuffle mask is a constant.
  if (cn == 3) areaRows<T>(src, sw, cn, dw, dh, lutv, o0, o1, o2, rowBytes, pixBytes, i8x16(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1));
  else areaRows<T>(src, sw, cn, dw, dh, lutv, o0, o1, o2, rowBytes, pixBytes, i8x16(0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, -1, -1, -1, -1));
}

@inline
function areaRows<T>(
  src: usize, sw: i32, cn: i32, dw: i32, dh: i32, lutv: v128,
  o0: usize, o1: usize, o2: usize, rowBytes: i32, pixBytes: i32, m: v128,
): void {
  const stride = <usize>(sw * cn);
  const pair = <usize>(2 * cn);
  const step = <usize>pixBytes;
  for (let dy = 0; dy < dh; dy++) {
    const off = <usize>(dy * rowBytes);
    let p0 = o0 + off;
    let p1 = o1 + off;
    let p2 = o2 + off;
    let s = src + <usize>(2 * dy) * stride;
    let dx = 0;
    if (step == sizeof<T>()) {
      for (; dx + 1 < dw; dx += 2, s += 2 * pair) {
        emitPair<T>(areaPixel(s, stride, m), areaPixel(s + pair, stride, m), lutv, p0, p1, p2);
        p0 += 2 * sizeof<T>(); p1 += 2 * sizeof<T>(); p2 += 2 * sizeof<T>();
      }
    }
    for (; dx < dw; dx++, s += pair) {
      emit<T>(areaPixel(s, stride, m), lutv, p0, p1, p2);
      p0 += step; p1 += step; p2 += step;
    }
  }
}

/** The 2×2 block at s (rows s and s + stride), pairs summed over both rows, then per pair. */
@inline
function areaPixel(s: usize, stride: usize, m: v128): v128 {
  const top = i8x16.swizzle(v128.load64_zero(s), m);
  const bottom = i8x16.swizzle(v128.load64_zero(s + stride), m);
  const sum = i32x4.dot_i16x8_s(i16x8.add(top, bottom), i16x8.splat(1));
  return i32x4.shr_s(i32x4.add(sum, i32x4.splat(2)), 2);
}
