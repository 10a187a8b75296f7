/**
 * Bad images get a clear error with a stable code, never a crash: empty, corrupt, truncated,
 * unsupported, and headers claiming more pixels than the limit (refused before decoding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { decodeImage, probeImage } from '../src/pipeline/image-decode.js';
import { Detector } from '../src/pipeline/detector.js';
import { TearlessError } from '../src/core/errors.js';
import { fixtureImage } from './helpers.js';

const jpeg = readFileSync(fixtureImage('000000000139.jpg'));

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TearlessError, `expected a TearlessError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** A JPEG whose SOF0 header claims `w × h` (pixel data unchanged). */
function withJpegSize(bytes: Buffer, w: number, h: number): Buffer {
  const b = Buffer.from(bytes);
  for (let i = 2; i < b.length - 9; ) {
    if (b[i] !== 0xff) throw new Error('not a marker');
    const marker = b[i + 1];
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      b.writeUInt16BE(h, i + 5);
      b.writeUInt16BE(w, i + 7);
      return b;
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

test('empty input → TL_ERR_IMAGE_EMPTY', async () => {
  await rejectsWith(decodeImage(new Uint8Array(0)), 'TL_ERR_IMAGE_EMPTY', /empty/);
});

test('random bytes → TL_ERR_IMAGE_UNSUPPORTED_FORMAT', async () => {
  await rejectsWith(decodeImage(Buffer.from('this is not an image, just text'.repeat(10))), 'TL_ERR_IMAGE_UNSUPPORTED_FORMAT', /JPEG, PNG/);
});

test('truncated JPEG → TL_ERR_IMAGE_UNREADABLE', async () => {
  await rejectsWith(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2))), 'TL_ERR_IMAGE_UNREADABLE', /corrupt or truncated/);
});

test('corrupt JPEG header (broken Huffman table) → TL_ERR_IMAGE_UNREADABLE, on both decoders', async () => {
  const bad = Buffer.from(jpeg);
  const dht = bad.indexOf(Buffer.from([0xff, 0xc4]));
  assert.ok(dht > 0);
  bad.fill(0xff, dht + 5, dht + 40); // code counts far beyond what a Huffman table allows
  await rejectsWith(decodeImage(bad), 'TL_ERR_IMAGE_UNREADABLE');
  await rejectsWith(decodeImage(bad, { decoder: 'sharp' }), 'TL_ERR_IMAGE_UNREADABLE');
});

test('damaged JPEG entropy data: tolerated like OpenCV by default, refused by the strict sharp decoder', async () => {
  const bad = Buffer.from(jpeg);
  bad.fill(0x00, 2000, jpeg.length - 2);
  const img = await decodeImage(bad);
  assert.deepEqual([img.width, img.height], [640, 426]);
  await rejectsWith(decodeImage(bad, { decoder: 'sharp' }), 'TL_ERR_IMAGE_UNREADABLE', /corrupt/);
});

test('huge header (60000×60000 JPEG) → TL_ERR_IMAGE_TOO_LARGE before decoding', async () => {
  const huge = withJpegSize(jpeg, 60000, 60000);
  const t0 = performance.now();
  await rejectsWith(decodeImage(huge), 'TL_ERR_IMAGE_TOO_LARGE', /pixels/);
  await rejectsWith(probeImage(huge), 'TL_ERR_IMAGE_TOO_LARGE');
  // Decoding 3.6 gigapixels would take far longer and gigabytes of memory; a header check does not.
  assert.ok(performance.now() - t0 < 5000);
});

test('pixel limit is an option', async () => {
  await rejectsWith(decodeImage(jpeg, { maxPixels: 640 * 426 - 1 }), 'TL_ERR_IMAGE_TOO_LARGE');
  const ok = await decodeImage(jpeg, { maxPixels: 640 * 426 });
  assert.equal(ok.width * ok.height, 640 * 426);
});

test('formats: PNG with alpha, greyscale, WebP, GIF, TIFF, AVIF decode to 3-channel RGB', async () => {
  const rgba = await decodeImage(readFileSync(fixtureImage('plate_rgba_1280x720.png')));
  assert.deepEqual([rgba.width, rgba.height, rgba.channels, rgba.data.length], [1280, 720, 3, 1280 * 720 * 3]);
  const base = sharp(jpeg).resize(64, 48);
  for (const [fmt, buf] of [
    ['grey jpeg', await base.clone().greyscale().jpeg().toBuffer()],
    ['webp', await base.clone().webp().toBuffer()],
    ['gif', await base.clone().gif().toBuffer()],
    ['tiff', await base.clone().tiff().toBuffer()],
    ['avif', await base.clone().avif().toBuffer()],
  ] as const) {
    const img = await decodeImage(buf);
    assert.deepEqual([img.width, img.height, img.channels], [64, 48, 3], fmt);
  }
});

test('EXIF orientation is applied (boxes refer to the upright image)', async () => {
  // Store the pixels turned 90° counter-clockwise and tag orientation 6 ("rotate 90° clockwise
  // to display"): a viewer shows the original upright 640×426 picture, and so must we.
  const stored = await sharp(jpeg).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const meta = await sharp(stored).metadata();
  assert.deepEqual([meta.width, meta.height, meta.orientation], [426, 640, 6]);
  const img = await decodeImage(stored);
  assert.deepEqual([img.width, img.height], [640, 426]);
  const det = await Detector.load(undefined, { threads: 1 });
  try {
    const upright = await det.detect(jpeg, { conf: 0.5 });
    const tagged = await det.detect(stored, { conf: 0.5 });
    assert.deepEqual([tagged.width, tagged.height], [640, 426]);
    const tv = upright.detections.find((d) => d.label === 'tv')!;
    assert.ok(tv, 'upright image has a tv');
    assert.ok(tagged.detections.some((d) => d.label === 'tv' && Math.abs(d.box[0] - tv.box[0]) < 8 && Math.abs(d.box[1] - tv.box[1]) < 8), JSON.stringify(tagged.detections));
  } finally {
    await det.close();
  }
});

test('Detector.detect reports missing files and bad inputs by code', async () => {
  const det = await Detector.load(undefined, { threads: 1, warmup: false });
  try {
    await rejectsWith(det.detect('/nonexistent/photo.jpg'), 'TL_ERR_INPUT_NOT_FOUND', /does not exist/);
    await rejectsWith(det.detect(new Uint8Array(0)), 'TL_ERR_IMAGE_EMPTY');
    await rejectsWith(det.detect(jpeg, { conf: 2 }), 'TL_ERR_BAD_OPTION', /conf/);
    await rejectsWith(det.detect(jpeg, { maxDet: 0 }), 'TL_ERR_BAD_OPTION', /maxDet/);
    await rejectsWith(det.detect(jpeg, { classes: [80] }), 'TL_ERR_BAD_OPTION', /classes/);
    // Still healthy after all of that.
    const r = await det.detect(jpeg);
    assert.ok(r.detections.length > 0);
  } finally {
    await det.close();
  }
  await rejectsWith(det.detect(jpeg), 'TL_ERR_CLOSED');
});

test('SVG and PDF are refused: only raster formats reach the decoder', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><image href="file:///etc/hostname" width="64" height="64"/></svg>');
  await rejectsWith(decodeImage(svg), 'TL_ERR_IMAGE_UNSUPPORTED_FORMAT', /SVG file/);
});
