/**
 * tearless/client against a real server (buildServer on 127.0.0.1, port 0, the bundled model):
 * every method, JSON and binary tensor encodings (raw FP32 checked against onnxruntime run
 * directly, image mode against the REST answer), and the mapping of failures to typed errors
 * (404, 400, 401 with and without a key, 503 with Retry-After from a full queue, timeouts,
 * unreachable servers). Plus the pure encoding helpers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/server/app.js';
import type { ModelManager } from '../src/server/types.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import {
  BadRequestError, ConnectionError, NotFoundError, TearlessClient, TearlessHttpError, TimeoutError, UnauthorizedError,
  UnavailableError, decodeBinary, decodeInferResponse, encodeBinary, encodeJson, errorFromResponse, float16ToFloat32,
  float32ToFloat16Bits, parseRetryAfter, sniffImageType,
} from '../src/client/index.js';
import type { DetectResponse } from '../src/client/index.js';
import { BUNDLED_MODEL, fixtureImage, maxAbsDiff } from './helpers.js';

const MODEL = 'yolox_nano_416_coco';
const KEY = 'client-test-key-0123456789';
const jpeg = readFileSync(fixtureImage('000000000139.jpg'));
const png = readFileSync(fixtureImage('plate_2.png'));

let app: FastifyInstance;
let securedApp: FastifyInstance;
let manager: ModelManager;
let base = '';
let securedBase = '';
let client: TearlessClient;

/** The preprocessed image 139 (1×3×416×416 FP32) and onnxruntime's own output for it. */
let inputTensor: Float32Array;
let reference: Float32Array;

before(async () => {
  ({ app, manager } = await buildServer({ sources: [BUNDLED_MODEL], logger: false, docs: false, reloadIntervalMs: 0, threads: 2 }));
  await manager.whenLoaded();
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  // Same models, but every non-public route needs a key.
  ({ app: securedApp } = await buildServer({ manager, apiKeys: [KEY], logger: false, docs: false }));
  securedBase = await securedApp.listen({ port: 0, host: '127.0.0.1' });
  client = new TearlessClient({ baseUrl: base });

  const feeds = prepareFeeds(await decodeImage(jpeg), manager.get(MODEL).profile).feeds;
  inputTensor = feeds.images.data as Float32Array;
  const session = await ort.InferenceSession.create(BUNDLED_MODEL);
  const out = await session.run({ images: new ort.Tensor('float32', inputTensor, feeds.images.dims) });
  reference = out.output.data as Float32Array;
  await session.release();
});

after(async () => {
  await securedApp?.close();
  await app?.close();
});

function assertDetectResponse(r: DetectResponse): void {
  assert.equal(r.model, MODEL);
  assert.equal(r.version, '1');
  assert.equal(r.width, 640);
  assert.equal(r.height, 426);
  for (const k of ['decodeMs', 'preprocessMs', 'inferMs', 'postprocessMs', 'queueMs'] as const) {
    assert.equal(typeof r.timings[k], 'number', k);
  }
  for (const d of r.detections) {
    assert.deepEqual(Object.keys(d).sort(), ['box', 'classId', 'label', 'score']);
    assert.equal(d.box.length, 4);
  }
}


describe('health and metadata', () => {
  test('live() and ready() are true; serverMetadata() lists the binary extension', async () => {
    assert.equal(await client.live(), true);
    assert.equal(await client.ready(), true);
    assert.equal(await client.modelReady(MODEL), true);
    assert.equal(await client.modelReady(MODEL, '1'), true);
    const meta = await client.serverMetadata();
    assert.equal(meta.name, 'tearless');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
  });

  test('models() lists the bundled model with versions, state and profile; model() adds labels', async () => {
    const models = await client.models();
    const m = models.find((x) => x.name === MODEL);
    assert.ok(m, JSON.stringify(models));
    assert.equal(m.state, 'ready');
    assert.equal(m.default, true);
    assert.deepEqual(m.versions.map((v) => v.version), ['1']);
    assert.equal(m.profile?.family, 'yolox');
    assert.deepEqual(m.profile?.inputSize, [416, 416]);
    assert.equal(m.profile?.numClasses, 80);
    const one = await client.model(MODEL);
    assert.equal(one.profile?.labels?.length, 80);
    assert.equal(one.profile?.labels?.[62], 'tv');
  });

  test('modelMetadata() describes the ONNX inputs and outputs', async () => {
    for (const meta of [await client.modelMetadata(MODEL), await client.modelMetadata(MODEL, '1')]) {
      assert.equal(meta.name, MODEL);
      assert.equal(meta.platform, 'onnxruntime_onnx');
      assert.deepEqual(meta.inputs, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416] }]);
      assert.deepEqual(meta.outputs, [{ name: 'output', datatype: 'FP32', shape: [1, 3549, 85] }]);
    }
  });
});

describe('detect', () => {
  test('Uint8Array, ArrayBuffer and Blob bodies give the same answer; default model and named model agree', async () => {
    const fromBytes = await client.detect(new Uint8Array(jpeg));
    assertDetectResponse(fromBytes);
    const tv = fromBytes.detections.find((d) => d.label === 'tv');
    assert.ok(tv && tv.score > 0.85 && tv.classId === 62, JSON.stringify(fromBytes.detections));
    const fromBuffer = await client.detect(jpeg.buffer.slice(jpeg.byteOffset, jpeg.byteOffset + jpeg.byteLength) as ArrayBuffer, { model: MODEL });
    const fromBlob = await client.detect(new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), { model: MODEL, version: '1' });
    const untyped = await client.detect(new Blob([new Uint8Array(jpeg)]), { model: MODEL });
    for (const r of [fromBuffer, fromBlob, untyped]) {
      assertDetectResponse(r);
      assert.deepEqual(r.detections, fromBytes.detections);
    }
  });

  test('conf, iou, maxDet, classes and agnostic reach the server', async () => {
    const low = await client.detect(jpeg, { model: MODEL, conf: 0.01 });
    const high = await client.detect(jpeg, { model: MODEL, conf: 0.6 });
    assert.ok(low.detections.length > high.detections.length);
    assert.ok(low.detections.every((d) => d.score >= 0.01) && high.detections.every((d) => d.score >= 0.6));
    const two = await client.detect(jpeg, { model: MODEL, conf: 0.01, maxDet: 2 });
    assert.equal(two.detections.length, 2);
    const people = await client.detect(jpeg, { model: MODEL, classes: ['person'] });
    assert.ok(people.detections.length > 0 && people.detections.every((d) => d.label === 'person'));
    const byId = await client.detect(jpeg, { model: MODEL, classes: [62] });
    assert.deepEqual(byId.detections.map((d) => d.label), ['tv']);
    const strictIou = await client.detect(jpeg, { model: MODEL, conf: 0.01, iou: 0.1 });
    assert.ok(strictIou.detections.length < low.detections.length);
    const agnostic = await client.detect(jpeg, { model: MODEL, conf: 0.01, agnostic: true });
    assert.ok(agnostic.detections.length < low.detections.length, `${agnostic.detections.length} vs ${low.detections.length}`);
  });

  test('detect() reads PNG too', async () => {
    const r = await client.detect(png);
    assert.equal(typeof r.width, 'number');
    assert.ok(Array.isArray(r.detections));
  });

  test('detectImage() returns the annotated JPEG at the original size', async () => {
    const bytes = await client.detectImage(jpeg, { model: MODEL, conf: 0.3 });
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    const meta = await sharp(bytes).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 640);
    assert.equal(meta.height, 426);
    const typed = await client.detectImageWithType(jpeg);
    assert.equal(typed.contentType, 'image/jpeg');
  });
});

describe('infer (Open Inference Protocol v2)', () => {
  test('binary: a raw FP32 tensor in, a Float32Array out equal to onnxruntime run directly', async () => {
    const r = await client.infer(MODEL, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416], data: inputTensor }], { binary: true, id: 'raw-1' });
    assert.equal(r.model_name, MODEL);
    assert.equal(r.id, 'raw-1');
    const out = r.output('output');
    assert.ok(out);
    assert.equal(out.datatype, 'FP32');
    assert.deepEqual(out.shape, [1, 3549, 85]);
    assert.ok(out.data instanceof Float32Array);
    assert.ok(maxAbsDiff(out.data, reference) < 1e-4, `max |diff| ${maxAbsDiff(out.data, reference)}`);
  });

  test('JSON: the same tensor as numbers gives the same output, as a Float32Array; requested outputs honoured', async () => {
    const r = await client.infer(MODEL, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416], data: inputTensor }], { outputs: ['output'] });
    assert.deepEqual(r.outputs.map((o) => o.name), ['output']);
    const out = r.outputs[0];
    assert.ok(out.data instanceof Float32Array);
    assert.ok(maxAbsDiff(out.data, reference) < 1e-4);
    // binary with named outputs: per-output binary_data
    const b = await client.infer(MODEL, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416], data: inputTensor }], { binary: true, outputs: ['output'] });
    assert.ok(maxAbsDiff(b.outputs[0].data as Float32Array, reference) < 1e-4);
  });

  test('image mode: one BYTES input with the JPEG, binary and JSON (base64), detections as typed tensors', async () => {
    const rest = await client.detect(jpeg, { model: MODEL, conf: 0.3 });
    for (const binary of [true, false]) {
      const r = await client.infer(MODEL, [{ name: 'image', datatype: 'BYTES', shape: [1], data: [new Uint8Array(jpeg)] }], { binary, parameters: { conf: 0.3 } });
      const boxes = r.output('boxes');
      const scores = r.output('scores');
      const classes = r.output('classes');
      const labels = r.output('labels');
      assert.ok(boxes && scores && classes && labels, r.outputs.map((o) => o.name).join());
      const n = rest.detections.length;
      assert.deepEqual(boxes.shape, [n, 4]);
      assert.ok(boxes.data instanceof Float32Array);
      assert.ok(scores.data instanceof Float32Array);
      assert.ok(classes.data instanceof Int32Array);
      assert.deepEqual(labels.data, rest.detections.map((d) => d.label));
      assert.deepEqual([...classes.data], rest.detections.map((d) => d.classId));
      assert.ok(maxAbsDiff(scores.data, rest.detections.map((d) => d.score)) < 1e-3);
      assert.ok(maxAbsDiff(boxes.data, rest.detections.flatMap((d) => d.box)) < 0.05);
    }
  });
});

describe('errors', () => {
  test('unknown model → NotFoundError (404, TL code, request id)', async () => {
    await assert.rejects(client.detect(jpeg, { model: 'no_such_model' }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.ok(err instanceof TearlessHttpError);
      assert.equal(err.name, 'NotFoundError');
      assert.equal(err.status, 404);
      assert.equal(err.code, 'TL_ERR_MODEL_NOT_FOUND');
      assert.match(err.message, /no_such_model/);
      assert.ok(typeof err.requestId === 'string' && err.requestId.length > 0);
      return true;
    });
    await assert.rejects(client.modelMetadata('no_such_model'), NotFoundError);
    await assert.rejects(client.detect(jpeg, { model: MODEL, version: '99' }), NotFoundError);
    await assert.rejects(client.infer('no_such_model', [{ name: 'x', datatype: 'FP32', shape: [1], data: [0] }]), NotFoundError);
    assert.equal(await client.modelReady('no_such_model'), false);
  });

  test('bad images and options → BadRequestError with the server code', async () => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => client.detect(new Uint8Array(0)), /^TL_ERR_IMAGE_EMPTY$/],
      [() => client.detect(jpeg.subarray(0, 600)), /^TL_ERR_IMAGE_UNREADABLE$/],
      [() => client.detect(new TextEncoder().encode('not an image at all')), /^TL_ERR_IMAGE_UNSUPPORTED_FORMAT$/],
      [() => client.detect(jpeg, { conf: 2 }), /^TL_ERR_BAD_(OPTION|REQUEST)$/],
      [() => client.detect(jpeg, { classes: ['unicorn'] }), /^TL_ERR_BAD_OPTION$/],
    ];
    for (const [call, code] of cases) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof BadRequestError, String(err));
        assert.ok([400, 413, 415, 422].includes(err.status));
        assert.match(err.code, code);
        assert.ok(err.message.length > 0);
        return true;
      });
    }
    // Wrong tensor shape for the raw input.
    await assert.rejects(
      client.infer(MODEL, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 8, 8], data: new Float32Array(192) }], { binary: true }),
      BadRequestError,
    );
    assert.equal(await client.ready(), true);
  });

  test('API keys: none or a wrong one → UnauthorizedError; the right one works; health stays open', async () => {
    const anonymous = new TearlessClient({ baseUrl: securedBase });
    await assert.rejects(anonymous.models(), (err: unknown) => {
      assert.ok(err instanceof UnauthorizedError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'TL_ERR_UNAUTHORIZED');
      return true;
    });
    assert.equal(await anonymous.ready(), true);
    assert.equal(await anonymous.live(), true);
    const wrong = new TearlessClient({ baseUrl: securedBase, apiKey: 'wrong-key' });
    await assert.rejects(wrong.detect(jpeg), UnauthorizedError);
    await assert.rejects(wrong.infer(MODEL, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416], data: inputTensor }], { binary: true }), UnauthorizedError);
    const right = new TearlessClient({ baseUrl: securedBase, apiKey: KEY });
    assert.ok((await right.detect(jpeg)).detections.length > 0);
    assert.ok((await right.models()).length > 0);
    wrong.setApiKey(KEY);
    assert.ok((await wrong.models()).length > 0);
  });

  test('a full queue → UnavailableError (503) with retryAfter seconds', async () => {
    const { app: busy, manager: busyManager } = await buildServer({ sources: [BUNDLED_MODEL], logger: false, docs: false, reloadIntervalMs: 0, threads: 1, maxQueue: 1 });
    try {
      await busyManager.whenLoaded();
      const busyClient = new TearlessClient({ baseUrl: await busy.listen({ port: 0, host: '127.0.0.1' }) });
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => busyClient.detect(jpeg)));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      assert.ok(results.some((r) => r.status === 'fulfilled'));
      assert.ok(rejected.length > 0, 'expected some requests to be refused by the full queue');
      for (const err of rejected) {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.equal(err.status, 503);
        assert.equal(err.code, 'TL_ERR_QUEUE_FULL');
        assert.ok(typeof err.retryAfter === 'number' && err.retryAfter >= 0, `retryAfter ${err.retryAfter}`);
      }
    } finally {
      await busy.close();
    }
  });

  test('client timeout → TimeoutError (status 0); unreachable server → ConnectionError; caller aborts pass through', async () => {
    const impatient = new TearlessClient({ baseUrl: base, timeoutMs: 1 });
    await assert.rejects(impatient.detect(jpeg), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.status, 0);
      assert.equal(err.code, 'TL_ERR_TIMEOUT');
      return true;
    });
    const { app: gone } = await buildServer({ manager, logger: false, docs: false });
    const goneBase = await gone.listen({ port: 0, host: '127.0.0.1' });
    await gone.close();
    await assert.rejects(new TearlessClient({ baseUrl: goneBase }).live(), ConnectionError);
    const controller = new AbortController();
    const pending = client.detect(jpeg, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (err: unknown) => err instanceof Error && err.name === 'AbortError');
  });

  test('a custom fetch is used, and its failures are mapped', async () => {
    const seen: string[] = [];
    const custom = new TearlessClient({
      baseUrl: `${base}/`,
      apiKey: 'k',
      fetch: async (url, init) => {
        seen.push(`${init?.method} ${url} ${new Headers(init?.headers).get('authorization')}`);
        return fetch(url, init);
      },
    });
    assert.equal(await custom.ready(), true);
    await custom.detect(jpeg, { model: MODEL, conf: 0.5, classes: ['tv', 'person'] });
    assert.deepEqual(seen, [
      `GET ${base}/v2/health/ready Bearer k`,
      `POST ${base}/v1/models/${MODEL}/detect?conf=0.5&classes=tv%2Cperson Bearer k`,
    ]);
  });
});

describe('encoding helpers', () => {
  test('errorFromResponse maps statuses; Retry-After as seconds or a date', () => {
    const h = (o: Record<string, string> = {}): Headers => new Headers(o);
    assert.ok(errorFromResponse(400, h(), { error: 'x', code: 'TL_ERR_BAD_OPTION' }) instanceof BadRequestError);
    for (const s of [413, 415, 422]) assert.ok(errorFromResponse(s, h(), {}) instanceof BadRequestError);
    assert.ok(errorFromResponse(401, h(), {}) instanceof UnauthorizedError);
    assert.ok(errorFromResponse(404, h(), { error: 'gone' }) instanceof NotFoundError);
    assert.ok(errorFromResponse(504, h(), {}) instanceof TimeoutError);
    const e500 = errorFromResponse(500, h({ 'x-request-id': 'abc' }), 'boom');
    assert.equal(e500.constructor, TearlessHttpError);
    assert.equal(e500.message, 'boom');
    assert.equal(e500.code, 'HTTP_500');
    assert.equal(e500.requestId, 'abc');
    const e503 = errorFromResponse(503, h({ 'retry-after': '7' }), { error: 'busy', code: 'TL_ERR_QUEUE_FULL' });
    assert.ok(e503 instanceof UnavailableError);
    assert.equal(e503.retryAfter, 7);
    assert.equal(e503.message, 'busy');
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1)), 30);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  test('FP16 round trip, BYTES framing, typed decoding of unaligned chunks', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 1e-7, 6.1e-5, 0.1]) {
      const back = float16ToFloat32(Uint16Array.of(float32ToFloat16Bits(v)))[0];
      assert.ok(Math.abs(back - v) <= Math.abs(v) * 1e-3 + 6e-8, `${v} → ${back}`);
    }
    assert.equal(float32ToFloat16Bits(1e6), 0x7c00);
    assert.ok(Number.isNaN(float16ToFloat32(Uint16Array.of(float32ToFloat16Bits(NaN)))[0]));

    const bytes = encodeBinary('BYTES', ['ab', 'ü', new Uint8Array([1, 2, 3])]);
    assert.deepEqual([...bytes], [2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0xc3, 0xbc, 3, 0, 0, 0, 1, 2, 3]);
    assert.deepEqual(decodeBinary('BYTES', encodeBinary('BYTES', ['tv', 'person'])), ['tv', 'person']);
    assert.deepEqual(encodeJson('BYTES', [new Uint8Array([0xff, 0xd8])]), ['/9g=']);
    assert.deepEqual(encodeJson('INT64', [[1, 2], [3, 4]]), [1, 2, 3, 4]);
    assert.deepEqual(encodeJson('BOOL', new Uint8Array([0, 1])), [false, true]);
    assert.deepEqual([...encodeBinary('INT64', [1, -1])], [1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);

    // A binary answer whose second tensor starts at an odd offset.
    const header = new TextEncoder().encode(JSON.stringify({
      model_name: 'm',
      outputs: [
        { name: 'a', datatype: 'UINT8', shape: [3], parameters: { binary_data_size: 3 } },
        { name: 'b', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'c', datatype: 'INT32', shape: [2], data: [5, 6] },
      ],
    }));
    const body = new Uint8Array(header.length + 11);
    body.set(header);
    body.set([7, 8, 9], header.length);
    body.set(new Uint8Array(Float32Array.of(1.5, -2).buffer), header.length + 3);
    const r = decodeInferResponse(new Headers({ 'inference-header-content-length': String(header.length) }), body);
    assert.deepEqual([...(r.output('a')?.data as Uint8Array)], [7, 8, 9]);
    assert.deepEqual([...(r.output('b')?.data as Float32Array)], [1.5, -2]);
    assert.ok(r.output('c')?.data instanceof Int32Array);
    assert.deepEqual(Object.keys(r), ['model_name', 'outputs']);
  });

  test('image types are sniffed for the Content-Type', () => {
    assert.equal(sniffImageType(jpeg), 'image/jpeg');
    assert.equal(sniffImageType(png), 'image/png');
    assert.equal(sniffImageType(new Uint8Array([1, 2, 3])), 'application/octet-stream');
  });
});
