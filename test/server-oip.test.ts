/**
 * Open Inference Protocol v2 over real HTTP (server on port 0, fetch) against the real model
 * manager: health, metadata, raw tensors (checked against onnxruntime run directly), image mode
 * (checked against Detector.detect), the binary tensor data extension in both directions,
 * requested outputs, repository index/unload/load, statistics, and the bad inputs (each a 4xx
 * JSON error with a code, the server still ready afterwards).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/server/app.js';
import type { ModelManager } from '../src/server/types.js';
import { Detector } from '../src/pipeline/detector.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import type { CoreTensor } from '../src/core/types.js';
import { BUNDLED_MODEL, ROOT, fixtureImage, fixtureModel, maxAbsDiff } from './helpers.js';

const YOLOX = 'yolox_nano_416_coco';
const DEIM = 'deimv2_hgnetv2_atto_320_coco';
const DEIM_PATH = fixtureModel(`${DEIM}.onnx`);
const jpeg = readFileSync(fixtureImage('000000000139.jpg'));
const pkgVersion = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string }).version;
const BODY_LIMIT = 16 * 1024 * 1024;

let app: FastifyInstance;
let manager: ModelManager;
let base = '';
let detector: Detector;

// Tensors fed to the raw-mode tests (the preprocessed image 139) and the reference outputs.
let yoloxInput: CoreTensor;
let yoloxRef: Float32Array;
let deimFeeds: Record<string, CoreTensor>;
let deimRef: Record<string, ort.Tensor>;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const isRaw = typeof body === 'string' || Buffer.isBuffer(body);
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: isRaw ? (body as string | Buffer) : JSON.stringify(body),
  });
}

/** A binary-tensor-data request: JSON header, then the chunks. */
function binaryRequest(path: string, header: unknown, chunks: Buffer[], extra: Record<string, string> = {}): Promise<Response> {
  const json = Buffer.from(JSON.stringify(header));
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length), ...extra },
    body: Buffer.concat([json, ...chunks]),
  });
}

/** One BYTES element in binary form: 4-byte little-endian length, then the bytes. */
function bytesElement(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([len, b]);
}

/** A binary (or JSON) inference response: the JSON header and each binary output's bytes. */
async function readInferResponse(res: Response): Promise<{ header: Json; binary: Map<string, Buffer> }> {
  const body = Buffer.from(await res.arrayBuffer());
  const lengthHeader = res.headers.get('inference-header-content-length');
  const n = lengthHeader === null ? body.length : Number(lengthHeader);
  assert.ok(n <= body.length, 'header length within the body');
  const header = JSON.parse(body.subarray(0, n).toString('utf8')) as Json;
  const binary = new Map<string, Buffer>();
  let at = n;
  for (const o of header.outputs as Json[]) {
    const size = o.parameters?.binary_data_size as number | undefined;
    if (size === undefined) continue;
    binary.set(o.name as string, body.subarray(at, at + size));
    at += size;
  }
  assert.equal(at, body.length, 'binary sizes add up to the body');
  return { header, binary };
}

function float32s(b: Buffer): Float32Array {
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

function bytesElements(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    const len = b.readUInt32LE(at);
    out.push(b.subarray(at + 4, at + 4 + len).toString('utf8'));
    at += 4 + len;
  }
  return out;
}

async function expectError(res: Response, status: number, code?: string | RegExp, message?: RegExp): Promise<Json> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as Json;
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
  assert.match(body.code, /^TL_ERR_/);
  if (typeof code === 'string') assert.equal(body.code, code, body.error);
  else if (code) assert.match(body.code, code, body.error);
  if (message) assert.match(body.error, message);
  return body;
}

async function assertReady(): Promise<void> {
  const res = await fetch(`${base}/v2/health/ready`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ready: true });
}


/** Nest a flat array into `shape` (row-major). */
function nest(flat: ArrayLike<number>, shape: readonly number[]): unknown[] {
  const build = (dim: number, offset: number): unknown[] => {
    const n = shape[dim];
    if (dim === shape.length - 1) return Array.from({ length: n }, (_, i) => flat[offset + i]);
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

const imageRequest = (extra: Json = {}): Json => ({
  inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [jpeg.toString('base64')] }],
  ...extra,
});

before(async () => {
  ({ app, manager } = await buildServer({
    sources: [BUNDLED_MODEL, DEIM_PATH],
    logger: false,
    docs: false,
    reloadIntervalMs: 0,
    threads: 2,
    bodyLimit: BODY_LIMIT,
  }));
  await manager.whenLoaded();
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  detector = await Detector.load(BUNDLED_MODEL, { threads: 1 });

  const pixels = await decodeImage(jpeg);
  yoloxInput = prepareFeeds(pixels, manager.get(YOLOX).profile).feeds.images;
  const ys = await ort.InferenceSession.create(BUNDLED_MODEL);
  const yout = await ys.run({ images: new ort.Tensor('float32', yoloxInput.data as Float32Array, yoloxInput.dims) });
  yoloxRef = yout.output.data as Float32Array;
  await ys.release();

  deimFeeds = prepareFeeds(pixels, manager.get(DEIM).profile).feeds;
  assert.deepEqual(Object.keys(deimFeeds).sort(), ['images', 'orig_target_sizes']);
  const ds = await ort.InferenceSession.create(DEIM_PATH);
  deimRef = await ds.run(Object.fromEntries(Object.entries(deimFeeds).map(([k, t]) => [k, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])));
  await ds.release();
});

after(async () => {
  await detector?.close();
  await app?.close();
});

describe('health and metadata', () => {
  test('live and ready', async () => {
    const live = await fetch(`${base}/v2/health/live`);
    assert.equal(live.status, 200);
    // KServe's OIP schema: {"live": bool} (its Python client parses it; Triton's reads the status).
    assert.deepEqual(await live.json(), { live: true });
    await assertReady();
  });

  test('server metadata: name, package version, the implemented extensions', async () => {
    const res = await fetch(`${base}/v2`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Json;
    assert.equal(body.name, 'tearless');
    assert.equal(body.version, pkgVersion);
    assert.deepEqual(body.extensions, ['binary_tensor_data', 'model_repository', 'statistics']);
  });

  test('model metadata: datatypes, shapes (-1 = dynamic), versions, platform, image mode described', async () => {
    const y = (await (await fetch(`${base}/v2/models/${YOLOX}`)).json()) as Json;
    assert.equal(y.name, YOLOX);
    assert.deepEqual(y.versions, ['1']);
    assert.equal(y.platform, 'onnxruntime_onnx');
    assert.deepEqual(y.inputs, [{ name: 'images', datatype: 'FP32', shape: [1, 3, 416, 416] }]);
    assert.deepEqual(y.outputs, [{ name: 'output', datatype: 'FP32', shape: [1, 3549, 85] }]);
    assert.match(y.parameters.image_mode, /BYTES/);
    assert.equal(y.parameters.max_batch_size, 1);

    const res = await fetch(`${base}/v2/models/${DEIM}/versions/1`);
    assert.equal(res.status, 200);
    const d = (await res.json()) as Json;
    assert.deepEqual(d.inputs, [
      { name: 'images', datatype: 'FP32', shape: [-1, 3, 320, 320] },
      { name: 'orig_target_sizes', datatype: 'INT64', shape: [-1, 2] },
    ]);
    assert.deepEqual(d.outputs.map((o: Json) => [o.name, o.datatype, o.shape.length]), [['labels', 'INT64', 2], ['boxes', 'FP32', 3], ['scores', 'FP32', 2]]);
    assert.equal(d.parameters.family, 'detr');
  });

  test('model ready: 200 when ready (with and without version), 404 for unknown models and versions', async () => {
    const modelReady = await fetch(`${base}/v2/models/${YOLOX}/ready`);
    assert.equal(modelReady.status, 200);
    assert.deepEqual(await modelReady.json(), { name: YOLOX, ready: true });
    assert.equal((await fetch(`${base}/v2/models/${DEIM}/versions/1/ready`)).status, 200);
    await expectError(await fetch(`${base}/v2/models/nope/ready`), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await fetch(`${base}/v2/models/${YOLOX}/versions/7/ready`), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await fetch(`${base}/v2/models/nope`), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await fetch(`${base}/v2/models/${YOLOX}/versions/3`), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await fetch(`${base}/v2/models/${YOLOX}/versions/abc`), 400, 'TL_ERR_BAD_REQUEST');
  });
});

describe('raw tensors', () => {
  test('YOLOX FP32, flat data: output [1,3549,85] matches onnxruntime within 1e-4; id echoed', async () => {
    const res = await post(`/v2/models/${YOLOX}/infer`, {
      id: 'raw-flat-1',
      inputs: [{ name: 'images', shape: [1, 3, 416, 416], datatype: 'FP32', data: Array.from(yoloxInput.data as Float32Array) }],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.id, 'raw-flat-1');
    assert.equal(body.model_name, YOLOX);
    assert.equal(body.model_version, '1');
    assert.equal(body.outputs.length, 1);
    const out = body.outputs[0];
    assert.equal(out.name, 'output');
    assert.equal(out.datatype, 'FP32');
    assert.deepEqual(out.shape, [1, 3549, 85]);
    assert.ok(maxAbsDiff(out.data, yoloxRef) <= 1e-4);
  });

  test('YOLOX FP32, nested data gives the same output', async () => {
    const res = await post(`/v2/models/${YOLOX}/versions/1/infer`, {
      inputs: [{ name: 'images', shape: [1, 3, 416, 416], datatype: 'FP32', data: nest(yoloxInput.data as Float32Array, [1, 3, 416, 416]) }],
      outputs: [{ name: 'output' }],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.id, undefined);
    assert.ok(maxAbsDiff(body.outputs[0].data, yoloxRef) <= 1e-4);
  });

  test('YOLOX FP32 as binary input and binary output', async () => {
    const data = yoloxInput.data as Float32Array;
    const res = await binaryRequest(
      `/v2/models/${YOLOX}/infer`,
      { inputs: [{ name: 'images', shape: [1, 3, 416, 416], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }], outputs: [{ name: 'output', parameters: { binary_data: true } }] },
      [Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const { header, binary } = await readInferResponse(res);
    assert.deepEqual(header.outputs[0].shape, [1, 3549, 85]);
    assert.equal(header.outputs[0].data, undefined);
    assert.equal(header.outputs[0].parameters.binary_data_size, 3549 * 85 * 4);
    assert.ok(maxAbsDiff(float32s(binary.get('output')!), yoloxRef) <= 1e-4);
  });

  test('DEIM: FP32 images + INT64 orig_target_sizes; outputs match onnxruntime; requested subset only', async () => {
    const images = deimFeeds.images;
    const sizes = Array.from(deimFeeds.orig_target_sizes.data as BigInt64Array, Number);
    const res = await post(`/v2/models/${DEIM}/infer`, {
      id: 'deim',
      inputs: [
        { name: 'images', shape: [...images.dims], datatype: 'FP32', data: Array.from(images.data as Float32Array) },
        { name: 'orig_target_sizes', shape: [1, 2], datatype: 'INT64', data: [sizes] },
      ],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.id, 'deim');
    const byName = Object.fromEntries((body.outputs as Json[]).map((o) => [o.name, o]));
    assert.deepEqual(Object.keys(byName), ['labels', 'boxes', 'scores']);
    assert.equal(byName.labels.datatype, 'INT64');
    assert.deepEqual(byName.labels.data, Array.from(deimRef.labels.data as BigInt64Array, Number));
    assert.deepEqual(byName.boxes.shape, [...deimRef.boxes.dims]);
    assert.ok(maxAbsDiff(byName.boxes.data, deimRef.boxes.data as Float32Array) <= 1e-3); // pixels of a 640-wide image
    assert.ok(maxAbsDiff(byName.scores.data, deimRef.scores.data as Float32Array) <= 1e-4);

    // Only the requested outputs, in the requested order; the INT64 input as binary data.
    const int64 = Buffer.from((deimFeeds.orig_target_sizes.data as BigInt64Array).buffer);
    const sub = await binaryRequest(`/v2/models/${DEIM}/infer`, {
      inputs: [
        { name: 'images', shape: [...images.dims], datatype: 'FP32', parameters: { binary_data_size: (images.data as Float32Array).byteLength } },
        { name: 'orig_target_sizes', shape: [1, 2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
      ],
      outputs: [{ name: 'scores' }, { name: 'labels', parameters: { binary_data: true } }],
    }, [Buffer.from((images.data as Float32Array).buffer), int64]);
    assert.equal(sub.status, 200);
    const { header, binary } = await readInferResponse(sub);
    assert.deepEqual(header.outputs.map((o: Json) => o.name), ['scores', 'labels']);
    const labels = binary.get('labels')!;
    assert.equal(labels.length, (deimRef.labels.data as BigInt64Array).length * 8);
    assert.deepEqual(Array.from(new BigInt64Array(new Uint8Array(labels).buffer)), Array.from(deimRef.labels.data as BigInt64Array));
  });
});

describe('image mode', () => {
  test('JSON (base64): boxes/scores/classes/labels equal Detector.detect', async () => {
    const expected = await detector.detect(jpeg, { conf: 0.3, iou: 0.5, maxDet: 50 });
    const res = await post(`/v2/models/${YOLOX}/infer`, imageRequest({ id: 'img-1', parameters: { conf: 0.3, iou: 0.5, max_det: 50 } }));
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.id, 'img-1');
    assert.deepEqual(body.parameters, { width: 640, height: 426 });
    const out = Object.fromEntries((body.outputs as Json[]).map((o) => [o.name, o]));
    assert.deepEqual(Object.keys(out), ['boxes', 'scores', 'classes', 'labels']);
    const n = expected.detections.length;
    assert.ok(n >= 3);
    assert.deepEqual(out.boxes.shape, [n, 4]);
    assert.equal(out.boxes.datatype, 'FP32');
    assert.deepEqual(out.scores.shape, [n]);
    assert.equal(out.classes.datatype, 'INT32');
    assert.equal(out.labels.datatype, 'BYTES');
    assert.deepEqual(out.labels.data, expected.detections.map((d) => d.label));
    assert.deepEqual(out.classes.data, expected.detections.map((d) => d.classId));
    assert.ok(maxAbsDiff(out.scores.data, expected.detections.map((d) => d.score)) <= 1e-6);
    assert.ok(maxAbsDiff(out.boxes.data, expected.detections.flatMap((d) => d.box)) <= 1e-3);
  });

  test('binary: raw JPEG bytes with binary_data_size, binary outputs decode to the same detections', async () => {
    const expected = await detector.detect(jpeg);
    const res = await binaryRequest(
      `/v2/models/${YOLOX}/infer`,
      { id: 'bin', inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: jpeg.length + 4 } }], parameters: { binary_data_output: true } },
      [bytesElement(jpeg)],
      { 'content-type': 'application/vnd.sagemaker-triton.binary+json' },
    );
    assert.equal(res.status, 200, res.status === 200 ? '' : await res.clone().text());
    const { header, binary } = await readInferResponse(res);
    assert.equal(header.id, 'bin');
    assert.deepEqual([...binary.keys()], ['boxes', 'scores', 'classes', 'labels']);
    const boxes = float32s(binary.get('boxes')!);
    assert.equal(boxes.length, expected.detections.length * 4);
    assert.ok(maxAbsDiff(boxes, expected.detections.flatMap((d) => d.box)) <= 1e-3);
    assert.deepEqual(bytesElements(binary.get('labels')!), expected.detections.map((d) => d.label));
    const classes = binary.get('classes')!;
    assert.deepEqual(Array.from({ length: classes.length / 4 }, (_, i) => classes.readInt32LE(i * 4)), expected.detections.map((d) => d.classId));

    // A single element sent without its length prefix (a raw image) is accepted too.
    const plain = await binaryRequest(`/v2/models/${YOLOX}/infer`, { inputs: [{ name: 'img', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: jpeg.length } }] }, [jpeg]);
    assert.equal(plain.status, 200);
    const pj = (await plain.json()) as Json;
    assert.deepEqual(pj.outputs[3].data, expected.detections.map((d) => d.label));
  });

  test('requested outputs subset, mixed JSON/binary; DEIM image mode works too', async () => {
    const res = await post(`/v2/models/${YOLOX}/infer`, imageRequest({ outputs: [{ name: 'labels' }, { name: 'boxes', parameters: { binary_data: true } }] }));
    assert.equal(res.status, 200);
    const { header, binary } = await readInferResponse(res);
    assert.deepEqual(header.outputs.map((o: Json) => o.name), ['labels', 'boxes']);
    assert.ok(Array.isArray(header.outputs[0].data));
    assert.equal(binary.get('boxes')!.length, header.outputs[0].data.length * 16);

    const deim = await post(`/v2/models/${DEIM}/infer`, imageRequest({ outputs: [{ name: 'labels' }] }));
    assert.equal(deim.status, 200);
    const dj = (await deim.json()) as Json;
    assert.ok(dj.outputs[0].data.includes('tv'), JSON.stringify(dj.outputs[0].data));
  });

  test('gzip-compressed request body (Content-Encoding: gzip), binary data inside', async () => {
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: jpeg.length + 4 } }], outputs: [{ name: 'labels' }] }));
    const res = await fetch(`${base}/v2/models/${YOLOX}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'inference-header-content-length': String(json.length) },
      body: gzipSync(Buffer.concat([json, bytesElement(jpeg)])),
    });
    assert.equal(res.status, 200, res.status === 200 ? '' : await res.clone().text());
    assert.equal(((await res.json()) as Json).outputs[0].data[0], 'tv');
  });

  test('classes and agnostic parameters filter detections', async () => {
    const res = await post(`/v2/models/${YOLOX}/infer`, imageRequest({ parameters: { classes: 'person', agnostic: true }, outputs: [{ name: 'labels' }] }));
    assert.equal(res.status, 200);
    const labels = ((await res.json()) as Json).outputs[0].data as string[];
    assert.ok(labels.length > 0 && labels.every((l) => l === 'person'));
  });
});

describe('repository and statistics', () => {
  test('stats counts increase with inferences', async () => {
    const before = (await (await fetch(`${base}/v2/models/${YOLOX}/stats`)).json()) as Json;
    assert.equal(before.model_stats.length, 1);
    const s0 = before.model_stats[0];
    assert.equal(s0.name, YOLOX);
    assert.equal(s0.version, '1');
    for (const key of ['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output']) {
      assert.equal(typeof s0.inference_stats[key].count, 'number', key);
      assert.equal(typeof s0.inference_stats[key].ns, 'number', key);
    }
    assert.ok(Array.isArray(s0.batch_stats));
    assert.equal((await post(`/v2/models/${YOLOX}/infer`, imageRequest())).status, 200);
    assert.equal((await post(`/v2/models/${YOLOX}/infer`, imageRequest())).status, 200);
    const after = (await (await fetch(`${base}/v2/models/${YOLOX}/versions/1/stats`)).json()) as Json;
    const s1 = after.model_stats[0];
    assert.equal(s1.inference_count, s0.inference_count + 2);
    assert.equal(s1.inference_stats.success.count, s0.inference_stats.success.count + 2);
    assert.ok(s1.execution_count >= s0.execution_count + 1);
    assert.ok(s1.inference_stats.compute_infer.ns > s0.inference_stats.compute_infer.ns);
    assert.ok(s1.last_inference >= s0.last_inference && s1.last_inference > Date.now() - 60_000);

    const all = (await (await fetch(`${base}/v2/models/stats`)).json()) as Json;
    assert.deepEqual(all.model_stats.map((s: Json) => s.name).sort(), [DEIM, YOLOX]);
    await expectError(await fetch(`${base}/v2/models/nope/stats`), 404, 'TL_ERR_MODEL_NOT_FOUND');
  });

  test('index, unload, load', async () => {
    const index = async (body?: unknown): Promise<Json[]> => (await (await post('/v2/repository/index', body ?? '')).json()) as Json[];
    assert.deepEqual(await index(), [
      { name: DEIM, version: '1', state: 'READY', reason: '' },
      { name: YOLOX, version: '1', state: 'READY', reason: '' },
    ]);
    const unload = await post(`/v2/repository/models/${DEIM}/unload`, '');
    assert.equal(unload.status, 200);
    const entry = (await index()).find((e) => e.name === DEIM)!;
    assert.equal(entry.state, 'UNAVAILABLE');
    assert.match(entry.reason, /unload/);
    assert.deepEqual((await index({ ready: true })).map((e) => e.name), [YOLOX]);
    const notReady = await expectError(await fetch(`${base}/v2/models/${DEIM}/ready`), 503, 'TL_ERR_MODEL_UNAVAILABLE');
    assert.equal(notReady.ready, false);
    const refused = await post(`/v2/models/${DEIM}/infer`, imageRequest());
    await expectError(refused, 503, 'TL_ERR_MODEL_UNAVAILABLE');
    assert.ok(refused.headers.get('retry-after'));
    // Statistics of an unloaded model are still reported.
    assert.equal((await fetch(`${base}/v2/models/${DEIM}/stats`)).status, 200);

    const load = await fetch(`${base}/v2/repository/models/${DEIM}/load`, { method: 'POST' });
    assert.equal(load.status, 200);
    assert.equal((await fetch(`${base}/v2/models/${DEIM}/ready`)).status, 200);
    assert.equal((await post(`/v2/models/${DEIM}/infer`, imageRequest())).status, 200);
    await assertReady();

    await expectError(await post('/v2/repository/models/nope/load', ''), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await post('/v2/repository/models/nope/unload', ''), 404, 'TL_ERR_MODEL_NOT_FOUND');
    await expectError(await post(`/v2/repository/models/${DEIM}/load`, { parameters: { config: '{}' } }), 501, 'TL_ERR_NOT_IMPLEMENTED');
    await expectError(await post('/v2/repository/index', '{"ready": '), 400, 'TL_ERR_BAD_REQUEST');
  });
});

describe('bad inputs: 4xx JSON with a code, server still ready', () => {
  const infer = `/v2/models/${YOLOX}/infer`;
  const raw = (input: Json, extra: Json = {}): Json => ({ inputs: [{ name: 'images', shape: [1, 3, 416, 416], datatype: 'FP32', ...input }], ...extra });
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);

  const cases: [string, () => Promise<Response>, number, string | RegExp, RegExp?][] = [
    ['malformed JSON', () => post(infer, '{"inputs": [{"name": "image",'), 400, 'TL_ERR_BAD_REQUEST', /Malformed/],
    ['JSON that is not an object', () => post(infer, '[1, 2, 3]'), 400, 'TL_ERR_BAD_REQUEST'],
    ['empty body', () => post(infer, ''), 400, 'TL_ERR_BAD_REQUEST', /empty/],
    ['no inputs', () => post(infer, { inputs: [] }), 400, 'TL_ERR_BAD_REQUEST', /inputs/],
    ['unknown model', () => post('/v2/models/nope/infer', imageRequest()), 404, 'TL_ERR_MODEL_NOT_FOUND'],
    ['unknown version', () => post(`/v2/models/${YOLOX}/versions/9/infer`, imageRequest()), 404, 'TL_ERR_MODEL_NOT_FOUND'],
    ['invalid model name', () => post('/v2/models/bad$name/infer', imageRequest()), 400, 'TL_ERR_BAD_REQUEST'],
    ['unknown input name', () => post(infer, { inputs: [{ name: 'pixels', shape: [2], datatype: 'FP32', data: [1, 2] }] }), 400, 'TL_ERR_BAD_REQUEST', /no input "pixels"/],
    ['wrong datatype', () => post(infer, raw({ datatype: 'FP64', data: zeros(519168) })), 400, 'TL_ERR_BAD_REQUEST', /FP64 does not match the model's FP32/],
    ['unsupported datatype', () => post(infer, raw({ datatype: 'BF16', data: [0] })), 400, 'TL_ERR_BAD_REQUEST', /not supported/],
    ['wrong shape', () => post(infer, raw({ shape: [1, 3, 320, 320], data: zeros(307200) })), 400, 'TL_ERR_BAD_REQUEST', /dimension 2 must be 416/],
    ['wrong rank', () => post(infer, raw({ shape: [3, 416, 416], data: zeros(519168) })), 400, 'TL_ERR_BAD_REQUEST', /dimension/],
    ['data length ≠ shape', () => post(infer, raw({ data: zeros(10) })), 400, 'TL_ERR_BAD_REQUEST', /519168 element/],
    ['non-number element', () => post(infer, raw({ data: ['x', ...zeros(519167)] })), 400, 'TL_ERR_BAD_REQUEST', /data\[0\]/],
    ['negative shape', () => post(infer, raw({ shape: [1, -3, 416, 416], data: [] })), 400, 'TL_ERR_BAD_REQUEST', /non-negative/],
    ['INT64 out of range', () => post(`/v2/models/${DEIM}/infer`, { inputs: [
      { name: 'images', shape: [1, 3, 320, 320], datatype: 'FP32', data: zeros(307200) },
      { name: 'orig_target_sizes', shape: [1, 2], datatype: 'INT64', data: [1.5, 2] },
    ] }), 400, 'TL_ERR_BAD_REQUEST', /integer/],
    ['DEIM missing input', () => post(`/v2/models/${DEIM}/infer`, { inputs: [{ name: 'images', shape: [1, 3, 320, 320], datatype: 'FP32', data: zeros(307200) }] }), 400, 'TL_ERR_BAD_REQUEST', /orig_target_sizes/],
    ['DEIM batch sizes disagree', () => post(`/v2/models/${DEIM}/infer`, { inputs: [
      { name: 'images', shape: [1, 3, 320, 320], datatype: 'FP32', data: zeros(307200) },
      { name: 'orig_target_sizes', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] },
    ] }), 400, 'TL_ERR_BAD_REQUEST', /batch size/],
    ['unknown output (raw)', () => post(infer, raw({ data: zeros(519168) }, { outputs: [{ name: 'nope' }] })), 400, 'TL_ERR_BAD_REQUEST', /Unknown output/],
    ['unknown output (image)', () => post(infer, imageRequest({ outputs: [{ name: 'masks' }] })), 400, 'TL_ERR_BAD_REQUEST', /Unknown output/],
    ['id not a string', () => post(infer, imageRequest({ id: 5 })), 400, 'TL_ERR_BAD_REQUEST', /id/],
    ['conf NaN', () => post(infer, imageRequest({ parameters: { conf: 'NaN' } })), 400, 'TL_ERR_BAD_OPTION', /conf/],
    ['conf negative', () => post(infer, imageRequest({ parameters: { conf: -0.5 } })), 400, 'TL_ERR_BAD_OPTION', /conf/],
    ['conf Infinity (1e999)', () => post(infer, `{"parameters": {"conf": 1e999}, "inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["${jpeg.toString('base64')}"]}]}`), 400, 'TL_ERR_BAD_OPTION'],
    ['iou above 1', () => post(infer, imageRequest({ parameters: { iou: 2 } })), 400, 'TL_ERR_BAD_OPTION', /iou/],
    ['max_det negative', () => post(infer, imageRequest({ parameters: { max_det: -1 } })), 400, 'TL_ERR_BAD_OPTION', /max_det/],
    ['max_det fractional', () => post(infer, imageRequest({ parameters: { max_det: 2.5 } })), 400, 'TL_ERR_BAD_OPTION', /max_det/],
    ['unknown class name', () => post(infer, imageRequest({ parameters: { classes: 'unicorn' } })), 400, 'TL_ERR_BAD_OPTION', /unicorn/],
    ['binary_data_output not a bool', () => post(infer, imageRequest({ parameters: { binary_data_output: 'yes' } })), 400, 'TL_ERR_BAD_REQUEST'],
    ['two images in image mode', () => post(infer, { inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: ['a', 'b'] }] }), 400, 'TL_ERR_BAD_REQUEST', /one encoded image/],
    ['image not base64', () => post(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: ['not base64 at all!'] }] }), 400, 'TL_ERR_BAD_REQUEST', /base64/],
    ['image not an image', () => post(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [Buffer.from('hello world, not a picture').toString('base64')] }] }), 415, 'TL_ERR_IMAGE_UNSUPPORTED_FORMAT'],
    ['truncated JPEG', () => post(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [jpeg.subarray(0, 5000).toString('base64')] }] }), 400, 'TL_ERR_IMAGE_UNREADABLE'],
    ['empty image', () => post(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [''] }] }), 400, 'TL_ERR_IMAGE_EMPTY'],
    ['shared memory', () => post(infer, raw({ parameters: { shared_memory_region: 'r0', shared_memory_byte_size: 4 } })), 501, 'TL_ERR_NOT_IMPLEMENTED'],
    ['classification', () => post(infer, raw({ data: zeros(519168) }, { outputs: [{ name: 'output', parameters: { classification: 3 } }] })), 501, 'TL_ERR_NOT_IMPLEMENTED'],
    ['Inference-Header-Content-Length larger than the body', () => fetch(base + infer, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '100000' }, body: JSON.stringify(imageRequest()).slice(0, 500),
    }), 400, 'TL_ERR_BAD_REQUEST', /larger than the request body/],
    ['Inference-Header-Content-Length not a number', () => fetch(base + infer, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '-5' }, body: '{}',
    }), 400, 'TL_ERR_BAD_REQUEST'],
    ['binary size larger than the data sent', () => binaryRequest(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: jpeg.length + 100 } }] }, [bytesElement(jpeg)]), 400, 'TL_ERR_BAD_REQUEST', /do not add up/],
    ['binary data left over', () => binaryRequest(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: jpeg.length + 4 } }] }, [bytesElement(jpeg), Buffer.alloc(7)]), 400, 'TL_ERR_BAD_REQUEST', /add up/],
    ['binary size ≠ shape × element size', () => binaryRequest(infer, { inputs: [{ name: 'images', shape: [1, 3, 416, 416], datatype: 'FP32', parameters: { binary_data_size: 1000 } }] }, [Buffer.alloc(1000)]), 400, 'TL_ERR_BAD_REQUEST', /binary_data_size/],
    ['binary_data_size and data both', () => post(infer, raw({ data: [0], parameters: { binary_data_size: 4 } })), 400, 'TL_ERR_BAD_REQUEST'],
    ['binary_data_size negative', () => binaryRequest(infer, { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: -4 } }] }, []), 400, 'TL_ERR_BAD_REQUEST'],
    ['oversized body', () => post(infer, Buffer.alloc(BODY_LIMIT + 1024, 0x20)), 413, 'TL_ERR_PAYLOAD_TOO_LARGE'],
    ['gzip bomb (inflates past the body limit)', () => post(infer, gzipSync(Buffer.alloc(BODY_LIMIT + 1024, 0x20)), { 'content-encoding': 'gzip' }), 413, 'TL_ERR_PAYLOAD_TOO_LARGE', /inflates/],
    ['corrupt gzip', () => post(infer, Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' }), 400, 'TL_ERR_BAD_REQUEST', /gzip/],
    ['unsupported Content-Encoding', () => post(infer, gzipSync('{}'), { 'content-encoding': 'br' }), 415, 'TL_ERR_UNSUPPORTED_MEDIA_TYPE'],
  ];

  for (const [name, send, status, code, message] of cases) {
    test(name, async () => {
      await expectError(await send(), status, code, message);
    });
  }

  test('the server is still ready and serving afterwards', async () => {
    await assertReady();
    const res = await post(`/v2/models/${YOLOX}/infer`, imageRequest({ outputs: [{ name: 'labels' }] }));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Json).outputs[0].data[0], 'tv');
  });
});
