/**
 * `buildServer`: the fastify application of `tearless serve`, one plugin per concern, in this
 * order: cors, auth, docs (before any route, so every route is documented), metrics, rest,
 * oip-v2, demo. One error handler (./errors.ts) answers every failure as
 * `{"error", "code"}` JSON. Request ids honour an incoming `x-request-id` and are echoed back.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import { createModelManager } from './model-manager.js';
import type { ModelManager, ModelManagerOptions } from './types.js';
import { clientErrorHandler, errorCodeOf, frameworkErrorHandler, installErrorHandlers } from './errors.js';
import { authPlugin } from './plugins/auth.js';
import { metricsPlugin } from './plugins/metrics.js';
import { docsPlugin } from './plugins/docs.js';
import { restPlugin } from './plugins/rest.js';
import { oipV2Plugin } from './plugins/oip-v2.js';
import { demoPlugin } from './plugins/demo.js';

/** Default body limit: 32 MiB. */
export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

export interface ServerOptions extends Partial<Omit<ModelManagerOptions, 'logger'>> {
  /** Use this manager instead of creating one from the options (it is then not closed with the app). */
  manager?: ModelManager;
  /** Accepted API keys; empty or absent → no authentication. */
  apiKeys?: readonly string[];
  /** Whether `/metrics` needs an API key too (default false). */
  metricsAuth?: boolean;
  /** CORS: allowed origins, `'*'` for any, absent / empty → CORS off. */
  cors?: string | readonly string[];
  /** Largest request body / uploaded file in bytes (default 32 MiB). */
  bodyLimit?: number;
  /**
   * Logging: `true` (default) JSON lines on stdout, pretty when stdout is a TTY; `'json'` /
   * `'pretty'` to choose; `false` for none (tests).
   */
  logger?: boolean | 'json' | 'pretty';
  /** pino level (default `info`, or env TEARLESS_LOG_LEVEL). */
  logLevel?: string;
  /** Serve the API docs at /docs and /openapi.json (default true). */
  docs?: boolean;
}

/**
 * Plugins that must act on the whole server (hooks, decorators, the swagger route collector)
 * are registered without encapsulation — what `fastify-plugin` does, via fastify's documented
 * `skip-override` symbol.
 */
function unencapsulated<T extends FastifyPluginAsync<never>>(plugin: T, name: string): T {
  const p = plugin as unknown as Record<symbol, unknown>;
  p[Symbol.for('skip-override')] = true;
  p[Symbol.for('fastify.display-name')] = name;
  return plugin;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Request id: the caller's `x-request-id` when it is sane, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function loggerOptions(opts: ServerOptions): FastifyServerOptions['logger'] {
  if (opts.logger === false) return false;
  const level = opts.logLevel ?? process.env.TEARLESS_LOG_LEVEL ?? 'info';
  const pretty = opts.logger === 'pretty' || ((opts.logger === true || opts.logger === undefined) && process.stdout.isTTY === true);
  const base = {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]'], censor: '[redacted]' },
  };
  if (!pretty) return base;
  return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } } };
}

function corsOrigins(value: ServerOptions['cors']): string[] {
  const list = typeof value === 'string' ? value.split(',') : [...(value ?? [])];
  return list.map((s) => s.trim()).filter(Boolean);
}

export async function buildServer(opts: ServerOptions = {}): Promise<{ app: FastifyInstance; manager: ModelManager }> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) throw new RangeError(`bodyLimit must be a positive integer, got ${bodyLimit}`);

  const app = Fastify({
    logger: loggerOptions(opts),
    genReqId: requestId,
    requestIdHeader: false,
    // One line per request is logged by the onResponse hook below instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit,
    // A slow client cannot hold a request open forever; inference has its own timeout.
    requestTimeout: 120_000,
    return503OnClosing: true,
    // Model names may have 128 characters (fastify's default allows 100 per route parameter).
    maxParamLength: 256,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  const owned = opts.manager === undefined;
  const manager = opts.manager ?? createModelManager({
    sources: opts.sources ?? [],
    threads: opts.threads,
    streams: opts.streams,
    maxBatchSize: opts.maxBatchSize,
    maxQueueDelayMs: opts.maxQueueDelayMs,
    maxQueue: opts.maxQueue,
    timeoutMs: opts.timeoutMs,
    maxPixels: opts.maxPixels,
    reloadIntervalMs: opts.reloadIntervalMs,
    defaultModel: opts.defaultModel,
    logger: app.log.child({ component: 'models' }),
  });
  // onClose hooks run after in-flight requests finished: then the models can go.
  if (owned) app.addHook('onClose', async () => manager.close());

  installErrorHandlers(app);

  // Graceful shutdown: once close() began, responses (of the requests still in flight) end their
  // keep-alive connection, so the server stops as soon as they are done instead of waiting for
  // idle keep-alive timeouts.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // One log line per request (health probes and scrapes at debug level).
  app.addHook('onResponse', async (request, reply) => {
    const url = request.url;
    const quiet = url.startsWith('/v2/health') || url.startsWith('/metrics');
    const code = errorCodeOf(request);
    const line = {
      method: request.method,
      url: url.length > 256 ? `${url.slice(0, 256)}…` : url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(code ? { code } : {}),
      ...(request.tearlessModel ? { model: request.tearlessModel } : {}),
    };
    if (quiet) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
  });

  try {
    await registerPlugins(app, manager, opts, bodyLimit);
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return { app, manager };
}

async function registerPlugins(app: FastifyInstance, manager: ModelManager, opts: ServerOptions, bodyLimit: number): Promise<void> {
  const secured = (opts.apiKeys ?? []).some((k) => k.trim() !== '');
  const origins = corsOrigins(opts.cors);
  // CORS first: its headers must also be on 401s, and preflights must not need a key.
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id', 'inference-header-content-length'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate', 'inference-header-content-length', 'x-tearless-model', 'x-tearless-version', 'x-tearless-detections'],
      maxAge: 600,
    });
  }
  await app.register(unencapsulated(authPlugin, 'tearless-auth'), { apiKeys: opts.apiKeys ?? [], metricsAuth: opts.metricsAuth });
  // Swagger collects routes as they are added: before every route (including /metrics).
  if (opts.docs !== false) await app.register(unencapsulated(docsPlugin, 'tearless-docs'), { secured });
  await app.register(unencapsulated(metricsPlugin, 'tearless-metrics'), { manager });
  await app.register(restPlugin, { manager, bodyLimit });
  await app.register(oipV2Plugin, { manager });
  await app.register(demoPlugin, {});
}
