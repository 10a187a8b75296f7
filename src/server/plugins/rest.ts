/**
 * The image API: image in, boxes out.
 *
 *   POST /v1/detect                                   the default model
 *   POST /v1/models/:name/detect                      a named model (newest ready version)
 *   POST /v1/models/:name/versions/:version/detect    a named version
 *   GET  /v1/models                                   served models, versions, state, profile summary
 *   GET  /v1/models/:name                             one model, with its class names
 *
 * Bodies are raw image bytes (`Content-Type: image/*` or `application/octet-stream`) or
 * `multipart/form-data` with a file field `image`; both bounded by the server's body limit.
 */
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { TearlessError } from '../../core/errors.js';
import type { DetectOptions } from '../../core/types.js';
import { annotateImage } from '../../pipeline/annotate.js';
import { checkModelName } from '../model-repository.js';
import type { ModelManager, ServedDetectResult, ServedModel } from '../types.js';

export interface RestPluginOptions {
  manager: ModelManager;
  /** Largest accepted body / uploaded file, bytes. */
  bodyLimit: number;
}

interface DetectQuery {
  conf?: number;
  iou?: number;
  max_det?: number;
  classes?: string;
  agnostic?: boolean;
  format?: 'json' | 'image';
}

interface ModelParams {
  name?: string;
  version?: string;
}


const errorSchema = {
  type: 'object',
  description: 'An error: a message naming the fix and a stable code.',
  properties: {
    error: { type: 'string' },
    code: { type: 'string', description: 'TL_ERR_* code' },
    requestId: { type: 'string', description: 'Only on 500: the id to look up in the server log.' },
  },
  required: ['error', 'code'],
};

const detectQuerySchema = {
  type: 'object',
  properties: {
    conf: { type: 'number', minimum: 0, maximum: 1, description: 'Minimum score to keep (default 0.25).' },
    iou: { type: 'number', minimum: 0, maximum: 1, description: 'IoU threshold of non-maximum suppression (default 0.45).' },
    max_det: { type: 'integer', minimum: 1, maximum: 100000, description: 'Maximum detections returned (default 300).' },
    classes: { type: 'string', maxLength: 8192, description: 'Keep only these classes: comma-separated names or ids, e.g. `person,car` or `0,2`.' },
    agnostic: { type: 'boolean', description: 'Class-agnostic NMS (default false).' },
    format: { type: 'string', enum: ['json', 'image'], default: 'json', description: '`json`: detections; `image`: the image annotated with boxes, labels and scores, as JPEG.' },
  },
};

const NUMERIC_QUERY = ['conf', 'iou', 'max_det'] as const;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const detectionSchema = {
  type: 'object',
  properties: {
    label: { type: 'string', description: 'Class name' },
    classId: { type: 'integer', description: "The model's class index" },
    score: { type: 'number', description: 'Confidence in [0, 1]' },
    box: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[x1, y1, x2, y2] in original-image pixels (after EXIF orientation)' },
  },
  required: ['label', 'classId', 'score', 'box'],
};

const detectResponseSchema = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    version: { type: 'string' },
    width: { type: 'integer', description: 'Image width (after EXIF orientation)' },
    height: { type: 'integer' },
    detections: { type: 'array', items: detectionSchema },
    timings: {
      type: 'object',
      description: 'Milliseconds per stage',
      properties: {
        decodeMs: { type: 'number' },
        preprocessMs: { type: 'number' },
        inferMs: { type: 'number' },
        postprocessMs: { type: 'number' },
        queueMs: { type: 'number', description: 'Waiting for the model (queue and batching)' },
      },
      required: ['decodeMs', 'preprocessMs', 'inferMs', 'postprocessMs', 'queueMs'],
    },
  },
  required: ['model', 'version', 'width', 'height', 'detections', 'timings'],
};

const binary = { type: 'string', format: 'binary' };

/** The request body as OpenAPI documents it (fastify itself does not validate binary bodies). */
const detectBodyDoc = {
  description: 'The image: raw bytes (JPEG, PNG, WebP, AVIF, TIFF, GIF) or a multipart form with a file field `image`.',
  content: {
    'image/jpeg': { schema: binary },
    'image/png': { schema: binary },
    'image/webp': { schema: binary },
    'application/octet-stream': { schema: binary },
    'multipart/form-data': { schema: { type: 'object', properties: { image: binary }, required: ['image'] } },
  },
};

const errorResponses = {
  400: { ...errorSchema, description: 'Bad request: invalid parameter, empty or unreadable image, missing multipart field' },
  401: { ...errorSchema, description: 'Missing or invalid API key' },
  404: { ...errorSchema, description: 'Unknown model or version' },
  413: { ...errorSchema, description: 'Body over the limit, or image over the pixel limit' },
  415: { ...errorSchema, description: 'Unsupported content type or image format' },
  503: { ...errorSchema, description: 'Queue full or model not ready (see Retry-After)' },
  504: { ...errorSchema, description: 'The request timed out' },
};

function detectSchema(params: Record<string, unknown> | undefined, summary: string, description: string) {
  return {
    summary,
    description,
    tags: ['detect'],
    ...(params ? { params: { type: 'object', properties: params, required: Object.keys(params) } } : {}),
    querystring: detectQuerySchema,
    response: {
      200: {
        description: 'Detections (`format=json`) or the annotated JPEG (`format=image`)',
        content: {
          'application/json': { schema: detectResponseSchema },
          'image/jpeg': { schema: binary },
        },
      },
      ...errorResponses,
    },
  };
}

// Checked by the manager (checkModelName / checkVersion → 400 TL_ERR_BAD_REQUEST).
const nameParam = { type: 'string', maxLength: 128, description: 'Model name: letters, digits, "_", "-", "." (as in GET /v1/models)' };
const versionParam = { type: 'string', maxLength: 16, description: 'Model version: a number (1, 2, …)' };

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** The documented JSON response (rounded: scores 5 digits, boxes 2, milliseconds 3). */
export function detectJson(r: ServedDetectResult) {
  const t = r.timings;
  return {
    model: r.model,
    version: r.version,
    width: r.width,
    height: r.height,
    detections: r.detections.map((d) => ({ label: d.label, classId: d.classId, score: round(d.score, 5), box: d.box.map((v) => round(v, 2)) })),
    timings: {
      decodeMs: round(t.decodeMs, 3),
      preprocessMs: round(t.preprocessMs, 3),
      inferMs: round(t.inferMs, 3),
      postprocessMs: round(t.postprocessMs, 3),
      queueMs: round(t.queueMs, 3),
    },
  };
}

/** `person,car` or `0,2` → class ids, checked against the model's labels. */
export function parseClassList(text: string | undefined, labels: readonly string[]): number[] | undefined {
  if (text === undefined) return undefined;
  const norm = (s: string): string => s.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
  const ids: number[] = [];
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new TearlessError('TL_ERR_BAD_OPTION', 'classes: expected comma-separated class names or ids, e.g. "person,car" or "0,2".');
  for (const raw of items) {
    if (/^\d+$/.test(raw)) {
      const id = Number(raw);
      if (id >= labels.length) throw new TearlessError('TL_ERR_BAD_OPTION', `classes: class id ${id} is out of range; the model has ${labels.length} classes (0–${labels.length - 1}).`);
      ids.push(id);
      continue;
    }
    const id = labels.findIndex((l) => norm(l) === norm(raw));
    if (id < 0) {
      const shown = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
      const close = labels.filter((l) => norm(l).includes(norm(raw)) || norm(raw).includes(norm(l))).slice(0, 5);
      throw new TearlessError('TL_ERR_BAD_OPTION', `classes: the model has no class "${shown}".${close.length ? ` Did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''} GET /v1/models/<name> lists its classes.`);
    }
    ids.push(id);
  }
  return [...new Set(ids)];
}

const discard = (): Writable => new Writable({ write(_chunk, _enc, cb) { cb(); } });

/** The image bytes of a request: the raw body, or the multipart file field `image`. */
async function readImage(request: FastifyRequest): Promise<Uint8Array> {
  if (request.isMultipart()) {
    let image: Buffer | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type === 'file' && part.fieldname === 'image' && image === undefined) {
          image = await part.toBuffer();
        } else if (part.type === 'file') {
          await pipeline(part.file, discard()); // other files are drained, not kept
        }
      }
    } catch (err) {
      if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err;
      throw new TearlessError('TL_ERR_BAD_REQUEST', `Malformed multipart/form-data body: ${(err as Error).message}.`, { cause: err });
    }
    if (image === undefined) throw new TearlessError('TL_ERR_BAD_REQUEST', 'multipart field "image" is missing: send the image as a file field named "image" (curl -F image=@photo.jpg).');
    return image;
  }
  const body = request.body;
  if (body === undefined || body === null) {
    throw new TearlessError('TL_ERR_IMAGE_EMPTY', 'The request has no body: send the image bytes with "Content-Type: image/<format>", or a multipart form with a file field "image".');
  }
  if (!Buffer.isBuffer(body)) throw new TearlessError('TL_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the image bytes with "Content-Type: image/<format>" or "application/octet-stream".');
  return body;
}

export const restPlugin: FastifyPluginAsync<RestPluginOptions> = async (app: FastifyInstance, opts: RestPluginOptions) => {
  const { manager, bodyLimit } = opts;

  // Only binary bodies here: JSON or text/plain to an image endpoint is a 415.
  app.removeAllContentTypeParsers();
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+(?:\s*;.*)?$/i]) { // parameters ("; charset=binary") allowed
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
  }
  // The schema's type coercion reads " " as 0 and "0x1" as 1; numbers must look like numbers.
  app.addHook('preValidation', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    for (const key of NUMERIC_QUERY) {
      const v = query?.[key];
      if (typeof v === 'string' && !DECIMAL.test(v)) {
        throw new TearlessError('TL_ERR_BAD_REQUEST', `querystring "${key}" must be a decimal number, got "${v.slice(0, 32)}".`);
      }
    }
  });
  await app.register(multipart, {
    limits: { fileSize: bodyLimit, files: 4, parts: 64, fields: 32, fieldSize: 64 * 1024, headerPairs: 200 },
    throwFileSizeLimit: true,
  });

  const resolveModel = (params: ModelParams): ServedModel => {
    const name = params.name ?? manager.defaultModel;
    if (name === undefined) throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', 'No model is being served; start the server with a model file or a model repository.');
    return manager.get(name, params.version);
  };

  async function detect(request: FastifyRequest<{ Params: ModelParams; Querystring: DetectQuery }>, reply: FastifyReply) {
    const served = resolveModel(request.params);
    request.tearlessModel = served.name;
    const q = request.query;
    const classes = parseClassList(q.classes, served.profile.labels);
    const image = await readImage(request);
    const opts: DetectOptions = { conf: q.conf, iou: q.iou, maxDet: q.max_det, classes, agnostic: q.agnostic };
    for (const k of Object.keys(opts) as (keyof DetectOptions)[]) if (opts[k] === undefined) delete opts[k];
    // The request body moves to the inference worker unless the annotated picture needs it here.
    const result = await manager.detect(served.name, request.params.version, image, opts, q.format !== 'image');
    app.tearlessMetrics?.observeTimings(result.model, result.timings);
    reply.header('x-tearless-model', result.model).header('x-tearless-version', result.version);
    if (q.format === 'image') {
      const jpeg = await annotateImage(image, result, result.detections, 'jpeg');
      return reply.header('x-tearless-detections', String(result.detections.length)).type('image/jpeg').send(jpeg);
    }
    return reply.type('application/json; charset=utf-8').send(detectJson(result));
  }

  app.post('/v1/detect', {
    schema: detectSchema(undefined, 'Detect objects with the default model', 'Send an image, get boxes: `curl -F image=@photo.jpg "http://127.0.0.1:8080/v1/detect?conf=0.3"`, or the raw bytes with `Content-Type: image/jpeg`.'),
    config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: detectBodyDoc }, url }) },
  }, detect);
  app.post('/v1/models/:name/detect', {
    schema: detectSchema({ name: nameParam }, 'Detect objects with a named model', 'The newest ready version of the model serves the request.'),
    config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: detectBodyDoc }, url }) },
  }, detect);
  app.post('/v1/models/:name/versions/:version/detect', {
    schema: detectSchema({ name: nameParam, version: versionParam }, 'Detect objects with a given model version', 'The named version must be loaded and ready.'),
    config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: detectBodyDoc }, url }) },
  }, detect);

  const modelEntry = (name: string, withLabels: boolean) => {
    const versions = manager.index().filter((v) => v.name === name);
    let served: ServedModel | undefined;
    try {
      served = manager.get(name);
    } catch {
      served = undefined;
    }
    const newest = versions[versions.length - 1];
    return {
      name,
      default: name === manager.defaultModel,
      state: served ? 'ready' : (newest?.state ?? 'unavailable'),
      ...(served ? { version: served.version } : {}),
      versions: versions.map((v) => ({ version: v.version, state: v.state, ...(v.reason ? { reason: v.reason } : {}) })),
      ...(served
        ? {
          profile: {
            family: served.profile.output.family,
            inputSize: [served.profile.input.width, served.profile.input.height],
            numClasses: served.profile.labels.length,
            maxBatchSize: served.maxBatchSize,
            ...(withLabels ? { labels: served.profile.labels } : {}),
          },
        }
        : {}),
    };
  };

  const modelSchema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      default: { type: 'boolean', description: 'Served by POST /v1/detect' },
      state: { type: 'string', enum: ['loading', 'ready', 'unloading', 'unavailable', 'failed'] },
      version: { type: 'string', description: 'The version that serves requests without a version' },
      versions: {
        type: 'array',
        items: {
          type: 'object',
          properties: { version: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string', description: 'Why a version failed to load' } },
          required: ['version', 'state'],
        },
      },
      profile: {
        type: 'object',
        properties: {
          family: { type: 'string', description: 'Output family (yolox, yolov8, detr, …)' },
          inputSize: { type: 'array', items: { type: 'integer' }, description: '[width, height] of the network input' },
          numClasses: { type: 'integer' },
          maxBatchSize: { type: 'integer' },
          labels: { type: 'array', items: { type: 'string' }, description: 'Class names (GET /v1/models/{name} only)' },
        },
      },
    },
    required: ['name', 'default', 'state', 'versions'],
  };

  app.get('/v1/models', {
    schema: {
      summary: 'List the served models',
      description: 'Every model with its versions and their state, and a summary of how it is read (family, input size, number of classes).',
      tags: ['models'],
      response: { 200: { type: 'object', properties: { default: { type: 'string' }, models: { type: 'array', items: modelSchema } }, required: ['models'] }, 401: errorResponses[401] },
    },
  }, async () => {
    const names = [...new Set(manager.index().map((v) => v.name))];
    return { ...(manager.defaultModel ? { default: manager.defaultModel } : {}), models: names.map((n) => modelEntry(n, false)) };
  });

  app.get('/v1/models/:name', {
    schema: {
      summary: 'Describe one model',
      description: 'As in GET /v1/models, plus the class names.',
      tags: ['models'],
      params: { type: 'object', properties: { name: nameParam }, required: ['name'] },
      response: { 200: modelSchema, 401: errorResponses[401], 404: errorResponses[404] },
    },
  }, async (request: FastifyRequest<{ Params: { name: string } }>) => {
    const name = checkModelName(request.params.name);
    if (!manager.index().some((v) => v.name === name)) {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `No model named "${name.slice(0, 128)}" is served; GET /v1/models lists them.`);
    }
    request.tearlessModel = name;
    return modelEntry(name, true);
  });
};
