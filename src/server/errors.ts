/**
 * The server's one error handler: every failure becomes `{"error": message, "code": "TL_ERR_…"}`
 * with the status of the error registry. Expected errors (TearlessError, fastify's own 4xx:
 * validation, body limits, content types) keep their message; anything else is a 500 naming the
 * request id, with the details only in the log (never a stack in a response).
 */
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, isTearlessError, type ErrorCode } from '../core/errors.js';

/**
 * Codes the HTTP layer uses besides the registry's: an unknown route and an unexpected failure.
 * (Candidates for `ERROR_CODES` in src/core/errors.ts.)
 */
export type ServerErrorCode = ErrorCode | 'TL_ERR_NOT_FOUND' | 'TL_ERR_INTERNAL';

export interface ErrorBody {
  error: string;
  code: ServerErrorCode;
  /** Only on 500s: the id to look up in the server log. */
  requestId?: string;
}

/** A resolved error response. */
export interface HttpError {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

/** Seconds a client should wait before retrying a 503 (integer ≥ 1). */
function retryAfterSeconds(err: unknown): number {
  const { retryAfterSeconds: s, retryAfterMs: ms } = err as { retryAfterSeconds?: unknown; retryAfterMs?: unknown };
  const seconds = typeof s === 'number' && Number.isFinite(s) ? s : typeof ms === 'number' && Number.isFinite(ms) ? ms / 1000 : 1;
  return Math.min(3600, Math.max(1, Math.ceil(seconds)));
}

const QUERY_CONTEXTS: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
}

/** `Invalid query parameter "conf": must be <= 1`. */
function validationMessage(err: FastifyError): string {
  const first = (err.validation?.[0] ?? {}) as AjvError;
  const where = QUERY_CONTEXTS[err.validationContext ?? ''] ?? err.validationContext ?? 'request';
  const field = first.params?.missingProperty ?? first.params?.additionalProperty ?? (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  let what = first.message ?? 'is invalid';
  if (first.params?.missingProperty) what = 'is required';
  if (Array.isArray(first.params?.allowedValues)) what = `must be one of ${first.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return field ? `Invalid ${where} "${field}": ${what}.` : `Invalid ${where}: ${what}.`;
}

/** The code a fastify / plugin 4xx status maps to. */
function codeForStatus(status: number): ServerErrorCode {
  switch (status) {
    case 401: return 'TL_ERR_UNAUTHORIZED';
    case 404: return 'TL_ERR_NOT_FOUND';
    case 413: return 'TL_ERR_PAYLOAD_TOO_LARGE';
    case 415: return 'TL_ERR_UNSUPPORTED_MEDIA_TYPE';
    case 501: return 'TL_ERR_NOT_IMPLEMENTED';
    default: return 'TL_ERR_BAD_REQUEST';
  }
}

/** Messages for fastify's and @fastify/multipart's own errors, in the project's voice. */
const FRAMEWORK_MESSAGES: Record<string, (err: FastifyError) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'The request body is larger than the server accepts (see --max-body-mb).',
  FST_REQ_FILE_TOO_LARGE: () => 'The uploaded file is larger than the server accepts (see --max-body-mb).',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (err) =>
    `${err.message.replace(/\.$/, '')}. Send the image bytes with "Content-Type: image/<format>" or "application/octet-stream", or a multipart/form-data body with a file field "image".`,
  FST_INVALID_MULTIPART_CONTENT_TYPE: () => 'The request is not multipart/form-data.',
  FST_ERR_BAD_URL: () => 'The URL is not valid: a path segment is badly percent-encoded.',
  FST_ERR_MAX_PARAM_LENGTH: () => 'A path segment is too long: model names have at most 128 characters, versions 9 digits.',
};

/**
 * fastify's `frameworkErrors`: router errors (a badly encoded URL, an over-long path segment)
 * answered in the same `{error, code}` form as every other error, without echoing the URL.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, toHttpError(err, String(request.id)));
}

/**
 * Node's `clientError` (before any route runs: a body that did not arrive within the request
 * timeout, oversized headers, a malformed request): the same JSON form, then the socket closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body]: [number, string, ErrorBody] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', { error: 'The request did not arrive in full within the request timeout (120 s). Send the body without pauses.', code: 'TL_ERR_TIMEOUT' }]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', { error: 'The request headers are larger than the server accepts (16 KiB).', code: 'TL_ERR_BAD_REQUEST' }]
        : [400, 'Bad Request', { error: 'The request is not valid HTTP/1.1.', code: 'TL_ERR_BAD_REQUEST' }];
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy(err);
}

/** Map any thrown value to the response the client gets. */
export function toHttpError(err: unknown, requestId: string): HttpError {
  if (isTearlessError(err)) {
    const headers = err.status === 503 ? { 'retry-after': String(retryAfterSeconds(err)) } : undefined;
    return { status: err.status, body: { error: err.message, code: err.code }, headers };
  }
  const fe = err as FastifyError;
  if (fe && typeof fe === 'object' && Array.isArray(fe.validation)) {
    return { status: 400, body: { error: validationMessage(fe), code: 'TL_ERR_BAD_REQUEST' } };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // fastify's own client errors (FST_*) and plugin errors with a 4xx status: safe to show.
    const fixed = FRAMEWORK_MESSAGES[fe.code ?? ''];
    const message = fixed ? fixed(fe) : (fe.message || 'Bad request.');
    return { status, body: { error: message, code: codeForStatus(status) } };
  }
  return {
    status: 500,
    body: { error: `Internal server error (request id ${requestId}); the details are in the server log.`, code: 'TL_ERR_INTERNAL', requestId },
  };
}

const errorCodes = new WeakMap<FastifyRequest, string>();

/** The error code a request was answered with (for the request log line), if any. */
export function errorCodeOf(request: FastifyRequest): string | undefined {
  return errorCodes.get(request);
}

/** Send an error body (also used by the auth plugin and route handlers that answer early). */
export function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  errorCodes.set(reply.request, e.body.code);
  if (e.headers) reply.headers(e.headers);
  return reply.code(e.status).type('application/json; charset=utf-8').send(e.body);
}

/** Install the error and not-found handlers on the root instance (children inherit them). */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = toHttpError(err, String(request.id));
    if (e.status >= 500 && !isTearlessError(err)) {
      request.log.error({ err }, 'request failed');
    } else if (e.status >= 500) {
      request.log.warn({ code: e.body.code }, e.body.error);
    } else {
      request.log.debug({ code: e.body.code, status: e.status }, e.body.error); // the request line has the code
    }
    // A client error while the body was still streaming: do not keep the connection.
    if (e.status === 413) reply.header('connection', 'close');
    return sendError(reply, e);
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0].slice(0, 200);
    return sendError(reply, {
      status: 404,
      body: { error: `Route ${request.method} ${path} not found. See /docs for the API.`, code: 'TL_ERR_NOT_FOUND' },
    });
  });
}

/** Whether a code is one of the registry's (for tests and metrics). */
export function isRegisteredCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}
