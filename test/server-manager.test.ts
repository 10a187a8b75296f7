/**
 * The model manager on real models: repository layout and versions, hot reload (new version
 * warmed before it serves; a broken file leaves the old one serving), bounded queue with
 * Retry-After, timeouts, dynamic batching, unload/load, and name validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createModelManager } from '../src/server/model-manager.js';
import { QueueFullError } from '../src/server/scheduler.js';
import { TearlessError } from '../src/core/errors.js';
import { BUNDLED_MODEL, fixtureImage, fixtureModel } from './helpers.js';

const jpeg = readFileSync(fixtureImage('000000000139.jpg'));

function repoWith(versions: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'tearless-repo-'));
  for (const [v, src] of Object.entries(versions)) {
    mkdirSync(path.join(root, 'detector', v), { recursive: true });
    copyFileSync(src, path.join(root, 'detector', v, 'model.onnx'));
  }
  return root;
}

async function until(cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('repository: newest version serves; hot reload swaps in a new version and survives a broken one', async () => {
  const root = repoWith({ '1': BUNDLED_MODEL });
  const m = createModelManager({ sources: [root], threads: 1, reloadIntervalMs: 100 });
  try {
    await m.whenLoaded();
    assert.ok(m.ready());
    assert.equal(m.defaultModel, 'detector');
    const r1 = await m.detect('detector', undefined, jpeg);
    assert.equal(r1.version, '1');
    assert.equal(r1.detections[0].label, 'tv');

    // Version 2 appears: it is loaded and warmed, then serves; version 1 retires.
    mkdirSync(path.join(root, 'detector', '2'));
    copyFileSync(fixtureModel('nanodet_m_320_coco.onnx'), path.join(root, 'detector', '2', 'model.onnx'));
    await until(() => m.index().some((s) => s.version === '2' && s.state === 'ready'));
    assert.equal((await m.detect('detector', undefined, jpeg)).version, '2');
    assert.equal(m.get('detector').profile.output.family, 'gfl');
    await until(() => m.index().find((s) => s.version === '1')?.state === 'unavailable');

    // A broken version 3: version 2 keeps serving, index reports the failure.
    mkdirSync(path.join(root, 'detector', '3'));
    writeFileSync(path.join(root, 'detector', '3', 'model.onnx'), 'not a model');
    await until(() => m.index().some((s) => s.version === '3' && s.state === 'failed'));
    const failed = m.index().find((s) => s.version === '3')!;
    assert.match(failed.reason!, /TL_ERR_MODEL_NOT_ONNX/);
    assert.equal((await m.detect('detector', undefined, jpeg)).version, '2');
    assert.ok(m.ready());
    await assert.rejects(m.detect('detector', '3', jpeg), (e: TearlessError) => e.code === 'TL_ERR_MODEL_UNAVAILABLE');
    await assert.rejects(m.detect('detector', '9', jpeg), (e: TearlessError) => e.code === 'TL_ERR_MODEL_NOT_FOUND');
  } finally {
    await m.close();
  }
});

test('names and versions cannot escape the repository', async () => {
  const m = createModelManager({ sources: [BUNDLED_MODEL], threads: 1, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    for (const bad of ['../etc/passwd', 'a/b', '..', '%2e%2e', '']) {
      assert.throws(() => m.get(bad), (e: TearlessError) => e.code === 'TL_ERR_BAD_REQUEST', bad);
    }
    assert.throws(() => m.get('yolox_nano_416_coco', '../1'), (e: TearlessError) => e.code === 'TL_ERR_BAD_REQUEST');
    assert.throws(() => m.get('nope'), (e: TearlessError) => e.code === 'TL_ERR_MODEL_NOT_FOUND');
  } finally {
    await m.close();
  }
});

test('bounded queue: overflow gets TL_ERR_QUEUE_FULL with Retry-After; nothing in flight is lost', async () => {
  const m = createModelManager({ sources: [BUNDLED_MODEL], threads: 1, maxQueue: 3, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    const calls = Array.from({ length: 10 }, () => m.detect('yolox_nano_416_coco', undefined, jpeg).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    ));
    const results = await Promise.all(calls);
    const ok = results.filter((x) => x.ok);
    const full = results.filter((x) => !x.ok);
    assert.equal(ok.length, 3);
    assert.equal(full.length, 7);
    for (const f of full) {
      assert.ok(!f.ok && f.e instanceof QueueFullError);
      assert.ok((f.e as QueueFullError).retryAfterSeconds >= 1);
      assert.equal((f.e as QueueFullError).status, 503);
    }
    for (const o of ok) assert.equal(o.ok && o.r.detections[0].label, 'tv');
    const [s] = m.stats('yolox_nano_416_coco');
    assert.equal(s.success, 3);
    assert.equal(s.failure, 0); // rejected at admission, never admitted
  } finally {
    await m.close();
  }
});

test('per-request timeout → TL_ERR_TIMEOUT, and the model keeps serving', async () => {
  const m = createModelManager({ sources: [BUNDLED_MODEL], threads: 1, timeoutMs: 1, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    await assert.rejects(m.detect('yolox_nano_416_coco', undefined, jpeg), (e: TearlessError) => e.code === 'TL_ERR_TIMEOUT' && e.status === 504);
  } finally {
    await m.close();
  }
});

test('dynamic batching: concurrent requests to a model with a batch dimension share inferences, results unchanged', async () => {
  const m = createModelManager({ sources: [fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx')], threads: 1, maxBatchSize: 4, maxQueueDelayMs: 20, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    const name = 'deimv2_hgnetv2_atto_320_coco';
    assert.equal(m.get(name).maxBatchSize, 4);
    const single = await m.detect(name, undefined, jpeg, { conf: 0.4 });
    const many = await Promise.all(Array.from({ length: 8 }, () => m.detect(name, undefined, jpeg, { conf: 0.4 })));
    for (const r of many) assert.deepEqual(r.detections, single.detections);
    const [s] = m.stats(name);
    const batched = Object.entries(s.batchSizes).filter(([size]) => Number(size) > 1).reduce((n, [, c]) => n + c, 0);
    assert.ok(batched >= 1, JSON.stringify(s.batchSizes));
    assert.ok(s.executions < s.inferences);
  } finally {
    await m.close();
  }
});

test('dynamic batching: an unreadable image fails alone; the images batched with it are answered', async () => {
  const m = createModelManager({ sources: [fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx')], threads: 1, streams: 1, maxBatchSize: 4, maxQueueDelayMs: 50, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    const name = 'deimv2_hgnetv2_atto_320_coco';
    const single = await m.detect(name, undefined, jpeg, { conf: 0.4 });
    const truncated = jpeg.subarray(0, jpeg.length >> 1);
    const bodies = [jpeg, truncated, jpeg, truncated];
    const settled = await Promise.allSettled(bodies.map((b) => m.detect(name, undefined, b, { conf: 0.4 })));
    settled.forEach((s, i) => {
      if (bodies[i] === jpeg) {
        assert.equal(s.status, 'fulfilled', String((s as PromiseRejectedResult).reason));
        assert.deepEqual((s as PromiseFulfilledResult<{ detections: unknown }>).value.detections, single.detections);
      } else {
        assert.equal(s.status, 'rejected');
        assert.equal(((s as PromiseRejectedResult).reason as TearlessError).code, 'TL_ERR_IMAGE_UNREADABLE');
      }
    });
    const [s] = m.stats(name);
    // The four requests shared one batch (only the two readable images were inferred).
    assert.ok(s.batchSizes[2] >= 1, JSON.stringify(s.batchSizes));
    assert.ok((await m.detect(name, undefined, jpeg, { conf: 0.4 })).detections.length > 0, 'still serving');
  } finally {
    await m.close();
  }
});

test('unload / load through the manager', async () => {
  const m = createModelManager({ sources: [BUNDLED_MODEL, fixtureModel('nanodet_m_320_coco.onnx')], threads: 1, reloadIntervalMs: 0 });
  try {
    await m.whenLoaded();
    await m.unload('nanodet_m_320_coco');
    assert.equal(m.index().find((s) => s.name === 'nanodet_m_320_coco')!.state, 'unavailable');
    await assert.rejects(m.detect('nanodet_m_320_coco', undefined, jpeg), (e: TearlessError) => e.code === 'TL_ERR_MODEL_UNAVAILABLE');
    assert.ok(m.ready(), 'an explicitly unloaded model does not make the server unready');
    await m.load('nanodet_m_320_coco');
    assert.ok((await m.detect('nanodet_m_320_coco', undefined, jpeg)).detections.length > 0);
  } finally {
    await m.close();
  }
});
