/**
 * Encoded images run the whole pipeline (decode → preprocess → infer → postprocess) inside an
 * inference stream's worker thread. The results must be exactly those of the same pipeline run
 * from decoded pixels, a bad image must fail alone, and the decoded pixels must stay out of
 * the calling thread's heap (the point of the design: no main-thread collections for them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Detector } from '../src/pipeline/detector.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { resolveDetectOptions } from '../src/core/postprocess.js';
import { TearlessError } from '../src/core/errors.js';
import { BUNDLED_MODEL, fixtureImage, fixtureModel } from './helpers.js';

const IMAGES = ['000000000139.jpg', '000000000285.jpg', '000000001000.jpg', 'plate_rgba_1280x720.png'];

test('detect(bytes) in the stream worker gives exactly the detections of detectPixels on the same decoded image', async () => {
  const det = await Detector.load(BUNDLED_MODEL, { streams: 2, threads: 1 });
  try {
    let boxes = 0;
    for (const name of IMAGES) {
      const bytes = readFileSync(fixtureImage(name));
      const fromBytes = await det.detect(bytes, { conf: 0.2 });
      const fromPixels = await det.detectPixels(await decodeImage(bytes), { conf: 0.2 });
      assert.deepEqual(fromBytes.detections, fromPixels.detections, name);
      assert.equal(fromBytes.width, fromPixels.width);
      assert.equal(fromBytes.height, fromPixels.height);
      assert.ok(fromBytes.timings.decodeMs > 0 && fromBytes.timings.inferMs > 0, JSON.stringify(fromBytes.timings));
      boxes += fromBytes.detections.length;
    }
    assert.ok(boxes > 10, `expected real detections, got ${boxes}`);
  } finally {
    await det.close();
  }
});

test('one inference for a batch of encoded images: an unreadable image fails alone with its own code', async () => {
  // DEIMv2 has a dynamic batch dimension.
  const det = await Detector.load(fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx'), { streams: 1, threads: 1 });
  try {
    const good = readFileSync(fixtureImage('000000000139.jpg'));
    const truncated = good.subarray(0, good.length >> 1);
    const opts = resolveDetectOptions({ conf: 0.4 }, det.profile.labels);
    const alone = await det.detect(good, { conf: 0.4 });
    const out = await det.detectEncodedBatch([good, truncated, new Uint8Array(0), good], [opts], { names: ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'] });
    assert.equal(out.length, 4);
    for (const i of [0, 3]) {
      const r = out[i];
      assert.ok(!(r instanceof Error), String(r));
      assert.deepEqual(r.detections, alone.detections);
    }
    assert.ok(out[1] instanceof TearlessError && out[1].code === 'TL_ERR_IMAGE_UNREADABLE', String(out[1]));
    assert.match((out[1] as Error).message, /b\.jpg/);
    assert.ok(out[2] instanceof TearlessError && out[2].code === 'TL_ERR_IMAGE_EMPTY', String(out[2]));
  } finally {
    await det.close();
  }
});

test('decoded pixels stay in the stream worker: detecting 8 images adds < 2 MB of buffers to the calling thread', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const det = await Detector.load(BUNDLED_MODEL, { streams: 1, threads: 1 });
  try {
    const images = IMAGES.slice(0, 3).map((n) => readFileSync(fixtureImage(n)));
    await det.detect(images[0]);
    gc();
    const before = v8.getHeapStatistics().external_memory;
    for (let i = 0; i < 8; i++) await det.detect(images[i % images.length]);
    const grown = v8.getHeapStatistics().external_memory - before;
    // Decoded here, each 640×480 image would be a fresh 0.9 MB buffer (and its tensor 2 MB).
    assert.ok(grown < 2 * 2 ** 20, `the calling thread's external memory grew by ${(grown / 2 ** 20).toFixed(1)} MB`);
  } finally {
    await det.close();
  }
});

test('a handed-over buffer moves to the worker (detached here, same detections); a slice or a kept buffer is copied', async () => {
  const det = await Detector.load(BUNDLED_MODEL, { streams: 1, threads: 1 });
  try {
    const bytes = readFileSync(fixtureImage('000000000139.jpg'));
    const opts = resolveDetectOptions({ conf: 0.3 }, det.profile.labels);
    const expected = (await det.detect(bytes, { conf: 0.3 })).detections;
    assert.ok(expected.length > 0);

    const own = Uint8Array.from(bytes); // spans its whole ArrayBuffer: movable
    const kept = Uint8Array.from(bytes);
    const backing = new Uint8Array(bytes.length + 16);
    backing.set(bytes, 8);
    const slice = backing.subarray(8, 8 + bytes.length); // moving it would detach its neighbours
    const [moved] = await det.detectEncodedBatch([own], [opts], { handOver: [true] });
    const [copied] = await det.detectEncodedBatch([kept], [opts], { handOver: [false] });
    const [sliced] = await det.detectEncodedBatch([slice], [opts], { handOver: [true] });
    for (const r of [moved, copied, sliced]) {
      assert.ok(!(r instanceof Error), String(r));
      assert.deepEqual(r.detections, expected);
    }
    assert.equal(own.byteLength, 0, 'the handed-over buffer was moved, not copied');
    assert.equal(kept.byteLength, bytes.length);
    assert.equal(slice.byteLength, bytes.length);
    assert.equal(backing.byteLength, bytes.length + 16);
  } finally {
    await det.close();
  }
});
