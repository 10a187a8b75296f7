/**
 * The resize must reproduce OpenCV's cv2.resize(INTER_LINEAR) (golden cases made with
 * OpenCV 4.6, test/golden/README.md), and the whole YOLOX input tensor must equal the one the
 * official demo pipeline builds with OpenCV.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resizeBilinear } from '../src/core/resize.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import { Detector } from '../src/pipeline/detector.js';
import { ROOT, fixtureImage } from './helpers.js';

interface Case { name: string; src_shape: [number, number, number]; dsize: [number, number]; src: number[]; dst: number[] }
const cases = (JSON.parse(readFileSync(path.join(ROOT, 'test/golden/cv2_resize_cases.json'), 'utf8')) as { cases: Case[] }).cases;

for (const c of cases) {
  test(`resizeBilinear matches cv2.resize INTER_LINEAR: ${c.name}`, () => {
    const [h, w, ch] = c.src_shape;
    const [dw, dh] = c.dsize;
    const out = resizeBilinear({ data: Uint8Array.from(c.src), width: w, height: h, channels: ch }, dw, dh);
    let maxDiff = 0;
    let differing = 0;
    for (let i = 0; i < out.length; i++) {
      const d = Math.abs(out[i] - c.dst[i]);
      maxDiff = Math.max(maxDiff, d);
      if (d) differing++;
    }
    // Bit-exact (measured: 0 differing values in every case).
    assert.equal(maxDiff, 0, `${differing} of ${out.length} values differ, by up to ${maxDiff}`);
  });
}

test('resize keeps only RGB from RGBA input and is exact for identity size', () => {
  const rgba = Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 0]);
  assert.deepEqual([...resizeBilinear({ data: rgba, width: 2, height: 1, channels: 4 }, 2, 1)], [1, 2, 3, 4, 5, 6]);
});

test('YOLOX input tensor equals the OpenCV demo pipeline tensor (image 139)', async () => {
  const det = await Detector.load(undefined, { threads: 1, warmup: false });
  try {
    const pixels = await decodeImage(readFileSync(fixtureImage('000000000139.jpg')), { decoder: 'sharp' });
    const { feeds, placement } = prepareFeeds(pixels, det.profile);
    assert.deepEqual([placement.resizedWidth, placement.resizedHeight, placement.padX, placement.padY], [416, 276, 0, 0]);
    const ours = feeds.images.data as Float32Array;
    const golden = new Float32Array(readFileSync(path.join(ROOT, 'test/golden/yolox_139_input_416.f32')).buffer.slice(0));
    assert.equal(ours.length, golden.length);
    let maxDiff = 0;
    let differing = 0;
    for (let i = 0; i < ours.length; i++) {
      const d = Math.abs(ours[i] - golden[i]);
      if (d > maxDiff) maxDiff = d;
      if (d) differing++;
    }
    // Bit-exact: sharp's JPEG decode (libjpeg, as OpenCV) + our resize/letterbox/layout
    // reproduce the OpenCV tensor.
    assert.equal(maxDiff, 0, `${differing} of ${ours.length} values differ, by up to ${maxDiff}`);
  } finally {
    await det.close();
  }
});

test('the fast JPEG decoder stays within a few levels of libjpeg', async () => {
  const bytes = readFileSync(fixtureImage('000000000139.jpg'));
  const [fast, exact] = await Promise.all([decodeImage(bytes), decodeImage(bytes, { decoder: 'sharp' })]);
  assert.deepEqual([fast.width, fast.height, fast.channels], [exact.width, exact.height, exact.channels]);
  let maxDiff = 0;
  let differing = 0;
  for (let i = 0; i < exact.data.length; i++) {
    const d = Math.abs(fast.data[i] - exact.data[i]);
    if (d > maxDiff) maxDiff = d;
    if (d) differing++;
  }
  // Measured: max 3 levels, ~1% of values.
  assert.ok(maxDiff <= 4, `max difference ${maxDiff}`);
  assert.ok(differing / exact.data.length < 0.03, `${differing} values differ`);
});
