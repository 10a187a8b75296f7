/**
 * The model manager on real models: repository layout and versions, hot reload (new version
 * warmed before it serves; a broken file leaves the old one serving), bounded queue with
 * Retry-After, timeouts, dynamic batching, unload/load, and name validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A repository folder holding `files` (relative path → source file, or text for a broken one). */
function repoOf(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'tearless-repo-'));
  for (const [rel, src] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    if (src.endsWith('.onnx')) copyFileSync(src, path.join(root, rel));
    else writeFileSync(path.join(root, rel), src);
  }
  return root;
}

test('a broken or removed model: the default is the first one serving; readiness counts only models still in the repository', async () => {
  // "a-broken" sorts first: it used to become the default and leave /v1/detect at 503 for good.
  const root = repoOf({ 'a-broken/1/model.onnx': 'not a model', 'b-good/1/model.onnx': BUNDLED_MODEL, 'c-extra/1/model.onnx': BUNDLED_MODEL });
  const m = createModelManager({ sources: [root], threads: 1, reloadIntervalMs: 100 });
  try {
    await m.whenLoaded();
    assert.equal(m.defaultModel, 'b-good');
    assert.equal(m.ready(), false, 'a model that failed to load keeps the server unready');
    rmSync(path.join(root, 'a-broken'), { recursive: true });
    await until(() => m.ready());
    assert.equal(m.index().find((s) => s.name === 'a-broken')?.state, 'unavailable');
    await assert.rejects(m.load('a-broken'), (e: TearlessError) => e.code === 'TL_ERR_MODEL_NOT_FOUND' && /removed/.test(e.message));

    rmSync(path.join(root, 'c-extra'), { recursive: true });
    await until(() => m.index().find((s) => s.name === 'c-extra')?.state === 'unavailable');
    assert.ok(m.ready(), 'removing a model does not make the server unready');
    assert.equal((await m.detect(m.defaultModel!, undefined, jpeg)).model, 'b-good');
  } finally {
    await m.close();
  }
});

test('--default-model picks the default; names up to 128 characters are served', async () => {
  const long = 'm'.repeat(128);
  const root = repoOf({ [`${long}/1/model.onnx`]: BUNDLED_MODEL, 'zeta.onnx': BUNDLED_MODEL });
  const m = createModelManager({ sources: [root], threads: 1, reloadIntervalMs: 0, defaultModel: 'zeta' });
  try {
    await m.whenLoaded();
    assert.equal(m.defaultModel, 'zeta');
    assert.ok((await m.detect(long, undefined, jpeg)).detections.length > 0);
  } finally {
    await m.close();
  }
  assert.throws(() => createModelManager({ sources: [root], defaultModel: '../x' }), (e: TearlessError) => e.code === 'TL_ERR_BAD_REQUEST');
});

test('entries that cannot be served are skipped: a name collision keeps the serving model and does not stop hot reload of others', async () => {
  const root = repoOf({
    'det/1/model.onnx': BUNDLED_MODEL,
    'bad name/1/model.onnx': BUNDLED_MODEL, // not a valid model name
    'ok/abc/model.onnx': BUNDLED_MODEL, // not a version
    'twin.onnx': BUNDLED_MODEL,
    'twin/1/model.onnx': BUNDLED_MODEL, // two files for twin v1 at startup
  });
  const errors: string[] = [];
  const logger = { info: () => {}, warn: () => {}, error: (_o: object | string, msg?: string) => void errors.push(msg ?? '') };
  const m = createModelManager({ sources: [root], threads: 1, reloadIntervalMs: 100, logger });
  try {
    await m.whenLoaded();
    assert.deepEqual(m.index().filter((s) => s.state === 'ready').map((s) => s.name), ['det']);
    const twin = m.index().find((s) => s.name === 'twin')!;
    assert.equal(twin.state, 'failed');
    assert.match(twin.reason!, /two models are named "twin"/);
    assert.ok(errors.some((e) => /"bad name" is not a valid model name/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /"abc" is not a version/.test(e)), errors.join('\n'));
    const logged = errors.length;

    // A collision appears for the serving "det": det keeps serving, and a new model still loads.
    copyFileSync(BUNDLED_MODEL, path.join(root, 'det.onnx'));
    mkdirSync(path.join(root, 'other', '1'), { recursive: true });
    copyFileSync(BUNDLED_MODEL, path.join(root, 'other', '1', 'model.onnx'));
    await until(() => m.index().some((s) => s.name === 'other' && s.state === 'ready'));
    const det = m.index().find((s) => s.name === 'det')!;
    assert.equal(det.state, 'ready');
    assert.match(det.reason!, /two models are named "det"/);
    assert.equal((await m.detect('det', undefined, jpeg)).model, 'det');
    await new Promise((r) => setTimeout(r, 300)); // a few rescans: each problem is logged once
    assert.equal(errors.filter((e) => /named "det"/.test(e)).length, 1);
    assert.ok(errors.length >= logged + 1);

    // Resolving both collisions: det's reason clears, twin loads.
    rmSync(path.join(root, 'det.onnx'));
    rmSync(path.join(root, 'twin.onnx'));
    await until(() => m.index().some((s) => s.name === 'twin' && s.state === 'ready'));
    await until(() => m.index().find((s) => s.name === 'det')!.reason === undefined);
  } finally {
    await m.close();
  }
});
