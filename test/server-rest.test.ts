/**
 * `tearless serve` over real HTTP (127.0.0.1, port 0, fetch) with the real model manager and
 * the bundled model: the image API, its bad inputs (each followed by a request that must still
 * succeed), API keys, CORS, metrics, OpenAPI/docs, request ids, and graceful shutdown of the
 * CLI process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/server/app.js';
import { createModelManager } from '../src/server/model-manager.js';
import { QueueFullError } from '../src/server/scheduler.js';
import type { ModelManager } from '../src/server/types.js';
import { TearlessError } from '../src/core/errors.js';
import { ROOT, fixtureImage } from './helpers.js';

const MODEL = 'yolox_nano_416_coco';
const JPEG = readFileSync(fixtureImage('000000000139.jpg'));
const BODY_LIMIT = 2 * 1024 * 1024;
const ORIGIN = 'https://app.example';
const KEY = 'k3y-for-tests';
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

let manager: ModelManager;
let app: FastifyInstance;
let url: string;
let secured: FastifyInstance;
let securedUrl: string;

before(async () => {
  manager = createModelManager({ sources: [], threads: 1, reloadIntervalMs: 0 });
  ({ app } = await buildServer({ manager, logger: false, bodyLimit: BODY_LIMIT, cors: ORIGIN }));
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  ({ app: secured } = await buildServer({ manager, logger: false, apiKeys: [KEY, 'another-key'], cors: '*' }));
  securedUrl = await secured.listen({ host: '127.0.0.1', port: 0 });
  await manager.whenLoaded();
  assert.ok(manager.ready(), 'the bundled model loads');
});

after(async () => {
  await app?.close();
  await secured?.close();
  await manager?.close();
});

interface PostOptions { type?: string; query?: string; headers?: Record<string, string>; base?: string; path?: string }

type Body = NonNullable<Parameters<typeof fetch>[1]>['body'];

function post(body: Body, o: PostOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(o.type ? { 'content-type': o.type } : {}), ...o.headers };
  return fetch(`${o.base ?? url}${o.path ?? '/v1/detect'}${o.query ? `?${o.query}` : ''}`, { method: 'POST', body, headers });
}

interface DetectJson {
  model: string;
  version: string;
  width: number;
  height: number;
  detections: { label: string; classId: number; score: number; box: number[] }[];
  timings: Record<string, number>;
}

async function detectOk(res: Response): Promise<DetectJson> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text) as DetectJson;
}

async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<{ error: string; code: string }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as { error: string; code: string };
  assert.equal(body.code, code, text);
  assert.equal(typeof body.error, 'string');
  assert.doesNotMatch(body.error, /\n\s+at /, 'no stack in responses');
  if (message) assert.match(body.error, message);
  return body;
}

/** After a bad request the server must still answer a good one. */
async function assertHealthy(base = url): Promise<void> {
  const r = await detectOk(await post(JPEG, { type: 'image/jpeg', base, headers: base === securedUrl ? { authorization: `Bearer ${KEY}` } : {} }));
  assert.ok(r.detections.length > 0);
}

/** A real (8×8) PNG whose IHDR is rewritten, with a valid CRC, to claim width × height. */
/** Send raw bytes on a fresh socket and wrap the server's answer as a Response. */
async function rawHttp(text: string): Promise<Response> {
  const { port } = new URL(url);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
  const [head, body = ''] = raw.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = new Headers(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  return new Response(body, { status: Number(statusLine.split(' ')[1]), headers });
}

async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer());
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29); // CRC of "IHDR" + its 13 data bytes
  return png;
}

describe('image API', () => {
  test('raw bytes: the documented JSON shape, boxes inside the image', async () => {
    const r = await detectOk(await post(JPEG, { type: 'image/jpeg' }));
    assert.deepEqual(Object.keys(r), ['model', 'version', 'width', 'height', 'detections', 'timings']);
    assert.equal(r.model, MODEL);
    assert.equal(r.version, '1');
    assert.deepEqual([r.width, r.height], [640, 426]);
    assert.deepEqual(Object.keys(r.timings), ['decodeMs', 'preprocessMs', 'inferMs', 'postprocessMs', 'queueMs']);
    for (const v of Object.values(r.timings)) assert.ok(Number.isFinite(v) && v >= 0);
    assert.ok(r.timings.inferMs > 0);
    assert.equal(r.detections[0].label, 'tv');
    assert.equal(r.detections[0].classId, 62);
    for (const d of r.detections) {
      assert.deepEqual(Object.keys(d), ['label', 'classId', 'score', 'box']);
      assert.ok(d.score >= 0.25 && d.score <= 1);
      assert.ok(d.box[0] >= 0 && d.box[1] >= 0 && d.box[2] <= 640 && d.box[3] <= 426 && d.box[0] < d.box[2]);
    }
    // application/octet-stream works the same; so does the named-model and named-version route.
    const octet = await detectOk(await post(JPEG, { type: 'application/octet-stream' }));
    assert.deepEqual(octet.detections, r.detections);
    const named = await detectOk(await post(JPEG, { type: 'image/jpeg', path: `/v1/models/${MODEL}/detect` }));
    assert.deepEqual(named.detections, r.detections);
    const versioned = await detectOk(await post(JPEG, { type: 'image/jpeg', path: `/v1/models/${MODEL}/versions/1/detect` }));
    assert.deepEqual(versioned.detections, r.detections);
  });

  test('multipart/form-data with a file field "image" (other fields and files are ignored)', async () => {
    const form = new FormData();
    form.append('note', 'hello');
    form.append('other', new Blob([Buffer.from('not an image')]), 'x.txt');
    form.append('image', new Blob([JPEG], { type: 'image/jpeg' }), '139.jpg');
    const r = await detectOk(await post(form, { query: 'conf=0.5' }));
    assert.deepEqual([r.width, r.height], [640, 426]);
    assert.ok(r.detections.length > 0 && r.detections.every((d) => d.score >= 0.5));
  });

  test('query parameters: conf filters, classes by name and id, max_det', async () => {
    const all = await detectOk(await post(JPEG, { type: 'image/jpeg' }));
    const confident = await detectOk(await post(JPEG, { type: 'image/jpeg', query: 'conf=0.6' }));
    assert.ok(confident.detections.length > 0 && confident.detections.length < all.detections.length);
    assert.ok(confident.detections.every((d) => d.score >= 0.6));
    assert.deepEqual(confident.detections, all.detections.filter((d) => d.score >= 0.6));

    const people = await detectOk(await post(JPEG, { type: 'image/jpeg', query: `classes=${encodeURIComponent('person, Dining Table')}` }));
    assert.ok(people.detections.length > 0);
    assert.deepEqual([...new Set(people.detections.map((d) => d.label))].sort(), ['dining table', 'person']);
    const tv = await detectOk(await post(JPEG, { type: 'image/jpeg', query: 'classes=62' }));
    assert.deepEqual(tv.detections.map((d) => d.label), ['tv']);

    const two = await detectOk(await post(JPEG, { type: 'image/jpeg', query: 'max_det=2&iou=0.5' }));
    assert.deepEqual(two.detections, all.detections.slice(0, 2));
  });

  test('a media type with parameters ("image/jpeg; charset=binary") is accepted', async () => {
    const r = await detectOk(await post(JPEG, { type: 'image/jpeg; charset=binary' }));
    assert.ok(r.detections.length > 0);
  });

  test('format=image returns the annotated JPEG at the original size', async () => {
    const res = await post(JPEG, { type: 'image/jpeg', query: 'format=image' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.ok(Number(res.headers.get('x-tearless-detections')) > 0);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 426]);
  });

  test('GET /v1/models lists the model, its versions, state and profile summary', async () => {
    const res = await fetch(`${url}/v1/models`);
    assert.equal(res.status, 200);
    const body = await res.json() as { default: string; models: Record<string, unknown>[] };
    assert.equal(body.default, MODEL);
    assert.equal(body.models.length, 1);
    assert.deepEqual(body.models[0], {
      name: MODEL,
      default: true,
      state: 'ready',
      version: '1',
      versions: [{ version: '1', state: 'ready' }],
      profile: { family: 'yolox', inputSize: [416, 416], numClasses: 80, maxBatchSize: (body.models[0].profile as { maxBatchSize: number }).maxBatchSize },
    });
    const one = await (await fetch(`${url}/v1/models/${MODEL}`)).json() as { profile: { labels: string[] } };
    assert.equal(one.profile.labels.length, 80);
    assert.equal(one.profile.labels[62], 'tv');
    await expectError(await fetch(`${url}/v1/models/nope`), 404, 'TL_ERR_MODEL_NOT_FOUND');
  });
});

describe('bad inputs: a 4xx JSON error with a TL_ERR_* code, and the server stays healthy', () => {
  const cases: [string, () => Promise<Response>, number, string, RegExp?][] = [
    ['empty body', () => post(new Uint8Array(0), { type: 'image/jpeg' }), 400, 'TL_ERR_IMAGE_EMPTY'],
    ['no body, no content type', () => post(undefined), 400, 'TL_ERR_IMAGE_EMPTY'],
    ['text/plain', () => post('a picture of a cat', { type: 'text/plain' }), 415, 'TL_ERR_UNSUPPORTED_MEDIA_TYPE', /image\/<format>/],
    ['application/json', () => post('{"image": "x"}', { type: 'application/json' }), 415, 'TL_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['corrupt (truncated) JPEG', () => post(JPEG.subarray(0, 4000), { type: 'image/jpeg' }), 400, 'TL_ERR_IMAGE_UNREADABLE'],
    ['garbage bytes', () => post(Buffer.from('definitely not an image'), { type: 'image/jpeg' }), 415, 'TL_ERR_IMAGE_UNSUPPORTED_FORMAT'],
    ['a PNG header claiming 100000×100000', async () => post(await pngClaiming(100_000, 100_000), { type: 'image/png' }), 413, 'TL_ERR_IMAGE_TOO_LARGE'],
    ['multipart without "image"', () => {
      const form = new FormData();
      form.append('file', new Blob([JPEG]), 'photo.jpg');
      return post(form);
    }, 400, 'TL_ERR_BAD_REQUEST', /multipart field "image" is missing/],
    ['malformed multipart', () => post('--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc', { type: 'multipart/form-data; boundary=xyz' }), 400, 'TL_ERR_BAD_REQUEST'],
    ['unknown model', () => post(JPEG, { type: 'image/jpeg', path: '/v1/models/nope/detect' }), 404, 'TL_ERR_MODEL_NOT_FOUND', /nope/],
    ['unknown version', () => post(JPEG, { type: 'image/jpeg', path: `/v1/models/${MODEL}/versions/9/detect` }), 404, 'TL_ERR_MODEL_NOT_FOUND'],
    ['path traversal in the model name', () => post(JPEG, { type: 'image/jpeg', path: '/v1/models/..%2F..%2Fetc/detect' }), 400, 'TL_ERR_BAD_REQUEST'],
    ['conf=-1', () => post(JPEG, { type: 'image/jpeg', query: 'conf=-1' }), 400, 'TL_ERR_BAD_REQUEST', /"conf"/],
    ['conf=NaN', () => post(JPEG, { type: 'image/jpeg', query: 'conf=NaN' }), 400, 'TL_ERR_BAD_REQUEST', /"conf"/],
    ['conf=" " (coercion would read 0)', () => post(JPEG, { type: 'image/jpeg', query: 'conf=%20' }), 400, 'TL_ERR_BAD_REQUEST', /"conf" must be a decimal number/],
    ['conf=0x1', () => post(JPEG, { type: 'image/jpeg', query: 'conf=0x1' }), 400, 'TL_ERR_BAD_REQUEST', /"conf"/],
    ['iou=2', () => post(JPEG, { type: 'image/jpeg', query: 'iou=2' }), 400, 'TL_ERR_BAD_REQUEST', /"iou"/],
    ['max_det=0', () => post(JPEG, { type: 'image/jpeg', query: 'max_det=0' }), 400, 'TL_ERR_BAD_REQUEST', /"max_det"/],
    ['max_det=1.5', () => post(JPEG, { type: 'image/jpeg', query: 'max_det=1.5' }), 400, 'TL_ERR_BAD_REQUEST', /"max_det"/],
    ['format=png', () => post(JPEG, { type: 'image/jpeg', query: 'format=png' }), 400, 'TL_ERR_BAD_REQUEST', /"format"/],
    ['an unknown class name', () => post(JPEG, { type: 'image/jpeg', query: 'classes=person,persn' }), 400, 'TL_ERR_BAD_OPTION', /"persn"/],
    ['a class id out of range', () => post(JPEG, { type: 'image/jpeg', query: 'classes=80' }), 400, 'TL_ERR_BAD_OPTION', /80/],
    ['raw body over the limit', () => post(Buffer.alloc(BODY_LIMIT + 1024, 0xff), { type: 'image/jpeg' }), 413, 'TL_ERR_PAYLOAD_TOO_LARGE'],
    ['multipart file over the limit', () => {
      const form = new FormData();
      form.append('image', new Blob([Buffer.alloc(BODY_LIMIT + 1024, 0xff)]), 'big.jpg');
      return post(form);
    }, 413, 'TL_ERR_PAYLOAD_TOO_LARGE'],
    ['unknown route', () => fetch(`${url}/v1/nothing-here`), 404, 'TL_ERR_NOT_FOUND'],
    ['a badly percent-encoded path', () => fetch(`${url}/v1/models/%zz`), 400, 'TL_ERR_BAD_REQUEST', /percent-encoded/],
    // 128 characters is a valid name (fastify's default limit of 100 per parameter turned it into a 414).
    ['an unknown 128-character model name', () => post(JPEG, { type: 'image/jpeg', path: `/v1/models/${'m'.repeat(128)}/detect` }), 404, 'TL_ERR_MODEL_NOT_FOUND'],
    ['a 300-character path segment', () => post(JPEG, { type: 'image/jpeg', path: `/v1/models/${'m'.repeat(300)}/detect` }), 414, 'TL_ERR_BAD_REQUEST', /at most 128 characters/],
    ['a request that is not HTTP', () => rawHttp('GARBAGE\r\n\r\n'), 400, 'TL_ERR_BAD_REQUEST', /not valid HTTP/],
  ];
  for (const [name, send, status, code, message] of cases) {
    test(name, async () => {
      await expectError(await send(), status, code, message);
      await assertHealthy();
    });
  }

  test('queue full → 503 with an integer Retry-After ≥ 1; unexpected errors → 500 naming the request id, no details', async () => {
    let fail: unknown;
    const fake: ModelManager = {
      ...manager,
      get: (name, version) => manager.get(name, version),
      index: () => manager.index(),
      stats: () => manager.stats(),
      defaultModel: manager.defaultModel,
      detect: async () => {
        throw fail;
      },
    };
    const { app: failing } = await buildServer({ manager: fake, logger: false });
    const base = await failing.listen({ host: '127.0.0.1', port: 0 });
    try {
      fail = new QueueFullError(2.5, MODEL);
      let res = await post(JPEG, { type: 'image/jpeg', base });
      await expectError(res, 503, 'TL_ERR_QUEUE_FULL');
      assert.equal(res.headers.get('retry-after'), '3');
      fail = new TearlessError('TL_ERR_QUEUE_FULL', 'full');
      res = await post(JPEG, { type: 'image/jpeg', base });
      await expectError(res, 503, 'TL_ERR_QUEUE_FULL');
      assert.equal(res.headers.get('retry-after'), '1');
      fail = new TearlessError('TL_ERR_TIMEOUT', 'too slow');
      await expectError(await post(JPEG, { type: 'image/jpeg', base }), 504, 'TL_ERR_TIMEOUT');
      fail = new Error('secret internal detail at /srv/x.ts:12');
      res = await post(JPEG, { type: 'image/jpeg', base, headers: { 'x-request-id': 'req-500-check' } });
      const body = await expectError(res, 500, 'TL_ERR_INTERNAL', /req-500-check/);
      assert.doesNotMatch(JSON.stringify(body), /secret|\/srv\//);
    } finally {
      await failing.close();
    }
  });
});

describe('API keys', () => {
  test('401 without or with a wrong key, with WWW-Authenticate; 200 with Bearer or x-api-key', async () => {
    let res = await post(JPEG, { type: 'image/jpeg', base: securedUrl });
    await expectError(res, 401, 'TL_ERR_UNAUTHORIZED');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    res = await post(JPEG, { type: 'image/jpeg', base: securedUrl, headers: { authorization: 'Bearer wrong-key' } });
    await expectError(res, 401, 'TL_ERR_UNAUTHORIZED', /not valid/);
    res = await post(JPEG, { type: 'image/jpeg', base: securedUrl, headers: { 'x-api-key': `${KEY}x` } });
    await expectError(res, 401, 'TL_ERR_UNAUTHORIZED');
    await expectError(await fetch(`${securedUrl}/v1/models`), 401, 'TL_ERR_UNAUTHORIZED');
    await expectError(await fetch(`${securedUrl}/v2/models/${MODEL}`), 401, 'TL_ERR_UNAUTHORIZED');

    await detectOk(await post(JPEG, { type: 'image/jpeg', base: securedUrl, headers: { authorization: `Bearer ${KEY}` } }));
    await detectOk(await post(JPEG, { type: 'image/jpeg', base: securedUrl, headers: { 'x-api-key': 'another-key' } }));
    assert.equal((await fetch(`${securedUrl}/v1/models`, { headers: { 'x-api-key': KEY } })).status, 200);
  });

  test('health probes, metrics, docs, the OpenAPI document and the demo page stay open', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/metrics', '/docs', '/openapi.json', '/']) {
      const res = await fetch(`${securedUrl}${p}`);
      assert.equal(res.status, 200, `${p}: ${res.status}`);
      await res.arrayBuffer();
    }
    const doc = await (await fetch(`${securedUrl}/openapi.json`)).json() as { components: { securitySchemes: Record<string, unknown> }; security: unknown[] };
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKeyHeader', 'bearerAuth']);
    assert.equal(doc.security.length, 2);
  });

  test('--metrics-auth puts /metrics behind the key', async () => {
    const { app: locked } = await buildServer({ manager, logger: false, apiKeys: [KEY], metricsAuth: true });
    const base = await locked.listen({ host: '127.0.0.1', port: 0 });
    try {
      await expectError(await fetch(`${base}/metrics`), 401, 'TL_ERR_UNAUTHORIZED');
      assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
      assert.equal((await fetch(`${base}/v2/health/live`)).status, 200);
    } finally {
      await locked.close();
    }
  });
});

describe('CORS, request ids, metrics, docs', () => {
  test('CORS headers when enabled, preflight answered without a key, none when disabled', async () => {
    const res = await post(JPEG, { type: 'image/jpeg', headers: { origin: ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    await res.arrayBuffer();

    const pre = await fetch(`${securedUrl}/v1/detect`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
    // A 401 carries the CORS headers too, so a browser can read it.
    const denied = await post(JPEG, { type: 'image/jpeg', base: securedUrl, headers: { origin: 'https://elsewhere.example' } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), '*');
    await denied.arrayBuffer();

    const { app: plain } = await buildServer({ manager, logger: false });
    const base = await plain.listen({ host: '127.0.0.1', port: 0 });
    try {
      const r = await fetch(`${base}/v1/models`, { headers: { origin: ORIGIN } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      await r.arrayBuffer();
    } finally {
      await plain.close();
    }
  });

  test('x-request-id is echoed (a new id when absent or unsafe)', async () => {
    let res = await fetch(`${url}/v1/models`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(res.headers.get('x-request-id'), 'trace-abc.123');
    await res.arrayBuffer();
    res = await fetch(`${url}/v1/models`);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    await res.arrayBuffer();
    res = await fetch(`${url}/nowhere`, { headers: { 'x-request-id': 'bad id <script>' } });
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('/metrics: request counters, stage and latency histograms, model gauges, process metrics', async () => {
    await detectOk(await post(JPEG, { type: 'image/jpeg' }));
    await expectError(await post(JPEG, { type: 'image/jpeg', query: 'conf=7' }), 400, 'TL_ERR_BAD_REQUEST');
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const value = (re: RegExp): number => {
      const m = re.exec(text);
      assert.ok(m, `${re} in /metrics`);
      return Number(m[1]);
    };
    assert.ok(value(new RegExp(`^tearless_http_requests_total\\{route="/v1/detect",method="POST",status="200",model="${MODEL}"\\} (\\d+)$`, 'm')) >= 1);
    assert.ok(value(/^tearless_http_requests_total\{route="\/v1\/detect",method="POST",status="400",model=""\} (\d+)$/m) >= 1);
    assert.match(text, /^# TYPE tearless_http_request_duration_seconds histogram$/m);
    assert.match(text, /^tearless_http_request_duration_seconds_bucket\{le="0\.05",route="\/v1\/detect",method="POST"\} \d+$/m);
    for (const stage of ['decode', 'preprocess', 'queue', 'infer', 'postprocess']) {
      assert.ok(value(new RegExp(`^tearless_stage_duration_seconds_count\\{stage="${stage}",model="${MODEL}"\\} (\\d+)$`, 'm')) >= 1, stage);
    }
    assert.match(text, /^tearless_stage_duration_seconds_bucket\{le="\+Inf",stage="infer",model="yolox_nano_416_coco"\} \d+$/m);
    assert.equal(value(new RegExp(`^tearless_model_state\\{model="${MODEL}",version="1",state="ready"\\} (\\d+)$`, 'm')), 1);
    assert.equal(value(new RegExp(`^tearless_model_state\\{model="${MODEL}",version="1",state="loading"\\} (\\d+)$`, 'm')), 0);
    assert.equal(value(new RegExp(`^tearless_queue_depth\\{model="${MODEL}",version="1"\\} (\\d+)$`, 'm')), 0);
    assert.ok(value(new RegExp(`^tearless_inference_total\\{model="${MODEL}",version="1"\\} (\\d+)$`, 'm')) >= 1);
    assert.match(text, /^# TYPE tearless_batch_size histogram$/m);
    assert.ok(value(new RegExp(`^tearless_batch_size_count\\{model="${MODEL}",version="1"\\} (\\d+)$`, 'm')) >= 1);
    assert.match(text, /^tearless_batch_size_bucket\{model="yolox_nano_416_coco",version="1",le="\+Inf"\} \d+$/m);
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
  });

  test('/openapi.json is an OpenAPI 3 document of the routes; /docs is served locally (no CDN)', async () => {
    const res = await fetch(`${url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = await res.json() as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { summary?: string; responses: Record<string, unknown>; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, unknown> } }>>;
    };
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.deepEqual(doc.info, { ...doc.info, title: 'tearless', version: pkg.version });
    for (const p of ['/v1/detect', '/v1/models/{name}/detect', '/v1/models', '/metrics', '/v2/health/ready']) assert.ok(doc.paths[p], p);
    const detect = doc.paths['/v1/detect'].post;
    assert.ok(detect.summary);
    assert.deepEqual(Object.keys(detect.requestBody?.content ?? {}).sort(), ['application/octet-stream', 'image/jpeg', 'image/png', 'image/webp', 'multipart/form-data']);
    assert.deepEqual((detect.parameters ?? []).filter((q) => q.in === 'query').map((q) => q.name).sort(), ['agnostic', 'classes', 'conf', 'format', 'iou', 'max_det']);
    assert.ok(detect.responses['200'] && detect.responses['400'] && detect.responses['413']);
    // Every path template parameter is declared.
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${p} responses`);
        for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          assert.ok(op.parameters?.some((q) => q.in === 'path' && q.name === name), `${p}: path parameter ${name}`);
        }
      }
    }

    const html = await fetch(`${url}/docs`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const page = await html.text();
    assert.doesNotMatch(page, /https?:\/\//, 'no absolute (CDN) URLs in the docs page');
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 3);
    for (const a of assets) {
      const r = await fetch(new URL(a, `${url}/docs`));
      assert.equal(r.status, 200, a);
      await r.arrayBuffer();
    }
  });
});

interface ServeProcess {
  base: string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  output(): string;
}

/** `tearless serve --port 0` as a child process; resolves once it printed its URL and is ready. */
async function startServe(): Promise<ServeProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tearless.js'), 'serve', '--port', '0', '--threads', '1', '--reload-interval-ms', '0'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', TEARLESS_API_KEYS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    let found: string | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      found ??= /listening on (http:\/\/[\d.]+:\d+)/.exec(stdout)?.[1];
      if (found && /^ready: /m.test(stdout)) resolve(found);
    });
    void exited.then((code) => reject(new Error(`serve exited early (${code}): ${stdout}\n${stderr}`)));
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { base, exited, kill: (signal) => child.kill(signal), output: () => `${stdout}\n${stderr}` };
}

/** POST the JPEG in two parts; `between` runs after the first part is on the wire. */
function slowPost(base: string, between: () => void, pauseMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/v1/detect`, { method: 'POST', headers: { 'content-type': 'image/jpeg', 'content-length': JPEG.length } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(JPEG.subarray(0, 50_000));
    setTimeout(() => {
      between();
      setTimeout(() => req.end(JPEG.subarray(50_000)), pauseMs);
    }, 100);
  });
}

describe('tearless serve (CLI process)', () => {
  test('prints its URL; SIGTERM lets the in-flight request finish with 200, refuses new connections, exits 0', { timeout: 30_000 }, async () => {
    const serve = await startServe();
    assert.match(serve.base, /^http:\/\/127\.0\.0\.1:\d+$/);
    let refused: unknown;
    const r = await slowPost(serve.base, () => {
      serve.kill('SIGTERM');
      setTimeout(() => {
        fetch(`${serve.base}/v1/models`).then((res) => (refused = res.status), (err: Error & { cause?: { code?: string } }) => (refused = err.cause?.code));
      }, 150);
    }, 300);
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as DetectJson).model, MODEL);
    assert.equal(await serve.exited, 0, serve.output());
    assert.equal(refused, 'ECONNREFUSED');
  });

  test('a second signal during shutdown exits 1 at once', { timeout: 30_000 }, async () => {
    const serve = await startServe();
    // A request whose body never completes keeps the graceful shutdown waiting.
    const req = httpRequest(`${serve.base}/v1/detect`, { method: 'POST', headers: { 'content-type': 'image/jpeg', 'content-length': JPEG.length } });
    req.on('error', () => undefined);
    req.write(JPEG.subarray(0, 10_000));
    await new Promise((r) => setTimeout(r, 100));
    serve.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    serve.kill('SIGTERM');
    assert.equal(await serve.exited, 1, serve.output());
    req.destroy();
  });
});
