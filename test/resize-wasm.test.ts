/**
 * The WebAssembly resize kernel (src/core/wasm) must produce exactly the bytes of the JS
 * reference (src/core/resize.ts): on the OpenCV golden cases, on whole input tensors of the
 * fixture images for the profile kinds the pipeline builds (float32 NCHW/NHWC, fp16, uint8
 * NHWC), and on random sizes, channel counts and destination layouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  getResizeBackend, lastResizeBackend, resizeBilinear, resizeInto, resizeIntoJs, resizeIntoWasm, setResizeBackend,
  type PixelBuffer, type ResizeDestination,
} from '../src/core/resize.js';
import { imageToTensor, allocate } from '../src/core/tensor-layout.js';
import { detectProfile } from '../src/core/profile/detect.js';
import type { InputSpec } from '../src/core/types.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { ROOT, FIXTURES, seededRandom } from './helpers.js';

type Out = ResizeDestination['out'];

/** Byte-level comparison (float32 bits, not values: -0 vs 0 or NaN payloads would differ). */
function assertSameBytes(a: Out, b: Out, what: string): void {
  assert.equal(a.constructor, b.constructor, what);
  assert.equal(a.length, b.length, what);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (Buffer.compare(x, y) === 0) return;
  let differing = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      differing++;
      if (first < 0) first = i;
    }
  }
  assert.fail(`${what}: ${differing} of ${a.length} values differ, first at ${first} (${a[first]} vs ${b[first]})`);
}

/** A copy of `dest` writing into a fresh buffer with the same contents. */
function cloneDest(d: ResizeDestination): ResizeDestination {
  return { ...d, out: d.out.slice() };
}

/** Run the JS reference and the wasm kernel on identical destinations; both must agree exactly. */
function compareBackends(src: PixelBuffer, dw: number, dh: number, dest: ResizeDestination, what: string): void {
  const js = cloneDest(dest);
  const wasm = cloneDest(dest);
  resizeIntoJs(src, dw, dh, js);
  assert.ok(resizeIntoWasm(src, dw, dh, wasm), `${what}: the wasm kernel declined`);
  assertSameBytes(wasm.out, js.out, what);
}

function withBackend<T>(b: 'js' | 'wasm', fn: () => T): T {
  setResizeBackend(b);
  try {
    return fn();
  } finally {
    setResizeBackend('auto');
  }
}

const prng = seededRandom;

test('WebAssembly SIMD is available on Node 20 and auto selects it', () => {
  assert.equal(getResizeBackend(), 'wasm');
  resizeBilinear({ data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, channels: 3 }, 3, 3);
  assert.equal(lastResizeBackend(), 'wasm');
  withBackend('js', () => {
    assert.equal(getResizeBackend(), 'js');
    resizeBilinear({ data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, channels: 3 }, 3, 3);
    assert.equal(lastResizeBackend(), 'js');
  });
});

interface Case { name: string; src_shape: [number, number, number]; dsize: [number, number]; src: number[]; dst: number[] }
const cases = (JSON.parse(readFileSync(path.join(ROOT, 'test/golden/cv2_resize_cases.json'), 'utf8')) as { cases: Case[] }).cases;

test('wasm resize matches cv2.resize INTER_LINEAR on every golden case', () => {
  for (const c of cases) {
    const [h, w, ch] = c.src_shape;
    const [dw, dh] = c.dsize;
    const out = withBackend('wasm', () => {
      const r = resizeBilinear({ data: Uint8Array.from(c.src), width: w, height: h, channels: ch }, dw, dh);
      assert.equal(lastResizeBackend(), 'wasm', c.name);
      return r;
    });
    assertSameBytes(out, Uint8Array.from(c.dst), c.name);
  }
});

// Profiles of the kinds the pipeline builds. YOLOX comes from profile detection of the bundled
// model's signature ([1,3,416,416] → [1,3549,85]), so it follows the detector's own choice.
const yolox = detectProfile({
  inputs: [{ name: 'images', type: 'float32', shape: [1, 3, 416, 416] }],
  outputs: [{ name: 'output', type: 'float32', shape: [1, 3549, 85] }],
  metadata: {},
}).input;
const base: InputSpec = { ...yolox, channels: 'rgb', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', anchor: 'topleft', padValue: 114 };
const profiles: [string, InputSpec][] = [
  ['YOLOX (bundled: BGR float32 NCHW, top-left letterbox)', yolox],
  ['NanoDet-like (RGB stretch, mean/std)', { ...base, width: 320, height: 320, resize: 'stretch', mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395] }],
  ['Ultralytics-like fp16 (RGB /255, centred letterbox)', { ...base, width: 640, height: 640, dtype: 'float16', scale: 1 / 255, anchor: 'center' }],
  ['uint8 NHWC (BGR, centred letterbox)', { ...base, width: 300, height: 300, dtype: 'uint8', layout: 'nhwc', channels: 'bgr', anchor: 'center' }],
  ['float32 NHWC (RGB /255 - 0.5, stretch)', { ...base, width: 256, height: 192, layout: 'nhwc', resize: 'stretch', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }],
];

test('whole input tensors are identical with wasm and JS (fixture images × profiles)', async () => {
  assert.equal(yolox.channels, 'bgr');
  assert.equal(yolox.layout, 'nchw');
  const dir = path.join(FIXTURES, 'images');
  const files = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  assert.ok(files.length >= 8);
  for (const file of files) {
    const pixels = await decodeImage(readFileSync(path.join(dir, file)));
    for (const [name, input] of profiles) {
      const what = `${file} ${pixels.width}×${pixels.height}×${pixels.channels}, ${name}`;
      const js = withBackend('js', () => imageToTensor(pixels, input).data);
      const wasm = withBackend('wasm', () => {
        const r = imageToTensor(pixels, input, allocate(input)).data;
        assert.equal(lastResizeBackend(), 'wasm', what);
        return r;
      });
      assertSameBytes(wasm, js, what);
    }
  }
});

test('the identity and exact-2× (INTER_AREA) paths match JS, RGB and RGBA', () => {
  const rnd = prng(7);
  for (const cn of [3, 4]) {
    for (const [w, h] of [[1, 1], [2, 2], [7, 5], [64, 48], [301, 199]]) {
      const src = { data: Uint8Array.from({ length: w * h * cn }, () => (rnd() * 256) | 0), width: w, height: h, channels: cn };
      compareBackends(src, w, h, { out: new Uint8Array(w * h * 3), offsets: [0, 1, 2], rowStride: w * 3, step: 3, tables: [null, null, null] }, `copy ${w}×${h}×${cn}`);
      const t = Float32Array.from({ length: 256 }, (_, v) => (v - 127.5) / 64);
      compareBackends(src, w, h, { out: new Float32Array(w * h * 3), offsets: [2 * w * h, w * h, 0], rowStride: w, step: 1, tables: [t, t, t] }, `copy f32 ${w}×${h}×${cn}`);
      if (w % 2 === 0 && h % 2 === 0) {
        const dw = w / 2;
        const dh = h / 2;
        compareBackends(src, dw, dh, { out: new Uint8Array(dw * dh * 3), offsets: [0, 1, 2], rowStride: dw * 3, step: 3, tables: [null, null, null] }, `area ${w}×${h}×${cn}`);
        compareBackends(src, dw, dh, { out: new Float32Array(dw * dh * 3), offsets: [0, dw * dh, 2 * dw * dh], rowStride: dw, step: 1, tables: [t, t, t] }, `area f32 ${w}×${h}×${cn}`);
      }
    }
  }
});

/** A random destination of one of the supported kinds, with padding around the image. */
function randomDest(rnd: () => number, dw: number, dh: number): { dest: ResizeDestination; kind: string } {
  const padL = (rnd() * 3) | 0;
  const padR = (rnd() * 3) | 0;
  const padT = (rnd() * 3) | 0;
  const W = dw + padL + padR;
  const H = dh + padT + 2;
  const order = rnd() < 0.5 ? [0, 1, 2] : [2, 1, 0];
  const kind = (['f32-nchw', 'f16-nchw', 'u8-nhwc', 'f32-nhwc', 'u8-nchw'] as const)[(rnd() * 5) | 0];
  const nchw = kind.endsWith('nchw');
  const n = W * H * 3;
  // Finite random floats (NaN payloads are not preserved by JS number round trips anyway).
  const f32 = () => Float32Array.from({ length: 256 }, () => (rnd() - 0.5) * 2 ** ((rnd() * 40 - 20) | 0));
  const u16 = () => Uint16Array.from({ length: 256 }, () => (rnd() * 65536) | 0);
  const out: Out = kind.startsWith('f32') ? new Float32Array(n).fill(-7) : kind.startsWith('f16') ? new Uint16Array(n).fill(7) : new Uint8Array(n).fill(7);
  const tables: ResizeDestination['tables'] = kind.startsWith('f32') ? [f32(), f32(), f32()] : kind.startsWith('f16') ? [u16(), u16(), u16()] : [null, null, null];
  const pixel0 = padT * W + padL;
  const offsets = order.map((k) => (nchw ? k * W * H + pixel0 : pixel0 * 3 + k)) as [number, number, number];
  return { dest: { out, offsets, rowStride: nchw ? W : W * 3, step: nchw ? 1 : 3, tables }, kind };
}

test('random sizes, up- and downscale, RGB/RGBA, all destination kinds: wasm = JS (seeded)', () => {
  const rnd = prng(20240611);
  const size = () => 1 + ((rnd() ** 2 * 300) | 0); // biased to small sizes, up to 300
  for (let i = 0; i < 400; i++) {
    const cn = rnd() < 0.5 ? 3 : 4;
    const sw = size();
    const sh = size();
    let dw = size();
    let dh = size();
    const r = rnd();
    if (r < 0.05) [dw, dh] = [sw, sh];
    else if (r < 0.1 && sw % 2 === 0 && sh % 2 === 0) [dw, dh] = [sw / 2, sh / 2];
    else if (r < 0.15) [dw, dh] = [sw * 2, sh * 3];
    // Sources of both array kinds, one of them a view at an odd offset into a larger buffer.
    const bytes = Uint8Array.from({ length: sw * sh * cn + 5 }, () => (rnd() * 256) | 0);
    const data = rnd() < 0.3 ? new Uint8ClampedArray(bytes.buffer, 3, sw * sh * cn) : bytes.subarray(1, 1 + sw * sh * cn);
    const { dest, kind } = randomDest(rnd, dw, dh);
    compareBackends({ data, width: sw, height: sh, channels: cn }, dw, dh, dest, `#${i} ${sw}×${sh}×${cn} → ${dw}×${dh} ${kind}`);
  }
});

test('jobs the kernel does not take run in JS, with the same result', () => {
  const src = { data: Uint8Array.from({ length: 20 * 10 * 3 }, (_, i) => (i * 37) & 255), width: 20, height: 10, channels: 3 };
  const t = Float32Array.from({ length: 256 }, (_, v) => v / 255);
  const unsupported: [string, ResizeDestination, PixelBuffer?][] = [
    ['step 2', { out: new Float32Array(13 * 7 * 2 + 2), offsets: [0, 1, 2], rowStride: 26, step: 2, tables: [t, t, t] }],
    ['mixed tables', { out: new Float32Array(13 * 7 * 3), offsets: [0, 91, 182], rowStride: 13, step: 1, tables: [t, null, t] }],
    ['float32 without tables', { out: new Float32Array(13 * 7 * 3), offsets: [0, 91, 182], rowStride: 13, step: 1, tables: [null, null, null] }],
    ['overlapping planes', { out: new Float32Array(13 * 7 * 3), offsets: [0, 5, 182], rowStride: 13, step: 1, tables: [t, t, t] }],
    ['2 channels', { out: new Uint8Array(13 * 7 * 3), offsets: [0, 1, 2], rowStride: 39, step: 3, tables: [null, null, null] }, { data: src.data, width: 20, height: 10, channels: 2 }],
  ];
  for (const [name, dest, s] of unsupported) {
    const source = s ?? src;
    assert.equal(resizeIntoWasm(source, 13, 7, cloneDest(dest)), false, name);
    const js = cloneDest(dest);
    const auto = cloneDest(dest);
    resizeIntoJs(source, 13, 7, js);
    resizeInto(source, 13, 7, auto);
    assert.equal(lastResizeBackend(), 'js', name);
    assertSameBytes(auto.out, js.out, name);
  }
});

test('large jobs (12 MP source, 49 MB output, 8000×8000 RGBA source → JS) are exact; small jobs work after', () => {
  const rnd = prng(99);
  const t = Float32Array.from({ length: 256 }, (_, v) => (v - 114) / 58.5);
  const image = (w: number, h: number, cn: number): PixelBuffer => {
    const data = new Uint8Array(w * h * cn);
    for (let i = 0; i < data.length; i += 4096) data.fill((rnd() * 256) | 0, i, i + 4096);
    for (let i = 0; i < 20000; i++) data[(rnd() * data.length) | 0] = (rnd() * 256) | 0;
    return { data, width: w, height: h, channels: cn };
  };
  const planes = (w: number, h: number): ResizeDestination => ({ out: new Float32Array(w * h * 3), offsets: [0, w * h, 2 * w * h], rowStride: w, step: 1, tables: [t, t, t] });
  // A 12 MP photo: only the ~2×480 rows bilinear reads are copied in (~11.5 MB).
  compareBackends(image(4000, 3000, 3), 640, 480, planes(640, 480), '4000×3000×3 → 640×480');
  // A 49 MB float output: memory grows past what the kernel keeps, and is dropped after.
  compareBackends(image(1000, 800, 3), 2000, 2048, planes(2000, 2048), '1000×800×3 → 2000×2048');
  // 8000×8000 RGBA → 640×640 would copy 41 MB of rows: JS does it (and is faster there).
  const huge = image(8000, 8000, 4);
  const js = planes(640, 640);
  const auto = planes(640, 640);
  assert.equal(resizeIntoWasm(huge, 640, 640, planes(640, 640)), false);
  resizeIntoJs(huge, 640, 640, js);
  resizeInto(huge, 640, 640, auto);
  assert.equal(lastResizeBackend(), 'js');
  assertSameBytes(auto.out, js.out, '8000×8000×4 → 640×640');
  // Small jobs after all that.
  const small = { data: Uint8Array.from({ length: 9 * 9 * 3 }, () => (rnd() * 256) | 0), width: 9, height: 9, channels: 3 };
  compareBackends(small, 5, 4, { out: new Uint8Array(5 * 4 * 3), offsets: [0, 1, 2], rowStride: 15, step: 3, tables: [null, null, null] }, 'small after large');
});

// asc is a devDependency: present after `npm ci`, but the check is skipped where it is not.
const hasAsc = (() => {
  try {
    createRequire(import.meta.url).resolve('assemblyscript/package.json');
    return true;
  } catch {
    return false;
  }
})();

test('the embedded wasm (src/core/wasm/resize-wasm.ts) matches a fresh compile of resize.as', { skip: !hasAsc && 'assemblyscript not installed' }, () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || r.stdout);
});
