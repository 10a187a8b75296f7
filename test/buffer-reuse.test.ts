/**
 * Tensor buffers are recycled between runs (worker backend: inputs come back, outputs go into
 * spare buffers; Detector: a pool of both). Reuse must never leak one image's data into another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Detector } from '../src/pipeline/detector.js';
import { startWorkerBackends } from '../src/runtime/node/onnx-backend.js';
import type { CoreTensor } from '../src/core/types.js';
import { BUNDLED_MODEL, fixtureImage } from './helpers.js';

test('the worker backend gives the input buffers back and writes outputs into spare buffers', async () => {
  const [backend] = await startWorkerBackends(BUNDLED_MODEL, { threads: 1 }, 1);
  try {
    const input = backend.info.inputs[0];
    const dims = input.shape as number[];
    const count = dims.reduce((a, d) => a * d, 1);
    const data = new Float32Array(count).fill(0.5);
    const feeds: Record<string, CoreTensor> = { [input.name]: { type: 'float32', data, dims } };
    const first = await backend.run(feeds);
    const again = feeds[input.name].data as Float32Array;
    assert.equal(data.length, 0, 'the input buffer was moved to the worker');
    assert.equal(again.length, count, 'the input buffer is usable again after the run');
    assert.equal(again[0], 0.5);
    const out = Object.values(first)[0].data as Float32Array;
    const expected = Float32Array.from(out);
    const spare = new ArrayBuffer(out.byteLength);
    const second = await backend.run(feeds, undefined, [spare]);
    const out2 = Object.values(second)[0].data as Float32Array;
    assert.equal(spare.byteLength, 0, 'the spare buffer moved to the worker');
    assert.equal(out2.byteLength, out.byteLength);
    assert.deepEqual(out2, expected);
  } finally {
    await backend.dispose();
  }
});

test('Detector results are the same when its recycled buffers serve other images in between', async () => {
  const det = await Detector.load(BUNDLED_MODEL, { streams: 1, threads: 1 });
  try {
    const a = readFileSync(fixtureImage('000000000139.jpg'));
    const b = readFileSync(fixtureImage('000000000285.jpg'));
    const first = await det.detect(a);
    await det.detect(b);
    const [x, y] = await Promise.all([det.detect(a), det.detect(b)]);
    assert.deepEqual(x.detections, first.detections);
    assert.ok(y.detections.length > 0);
    assert.ok(first.detections.length > 0);
  } finally {
    await det.close();
  }
});
