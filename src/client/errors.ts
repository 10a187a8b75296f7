/**
 * Typed exceptions for everything a tearless server (or the network) can answer with.
 * The server sends errors as `{"error": "<message>", "code": "TL_ERR_…"}`; OIP v2 routes may
 * omit `code`, in which case it is derived from the HTTP status (`HTTP_<status>`).
 */

export interface HttpErrorDetails {
  status: number;
  code: string;
  message: string;
  requestId?: string;
  /** The parsed response body (JSON) or its text, when there was one. */
  body?: unknown;
}

/** Any non-2xx answer, or a failure to get an answer at all (`status` 0). */
export class TearlessHttpError extends Error {
  /** HTTP status; 0 when no response arrived (network failure or client-side timeout). */
  readonly status: number;
  /** Stable error code from the server (`TL_ERR_…`), or `HTTP_<status>` / `TL_ERR_NETWORK` / `TL_ERR_TIMEOUT`. */
  readonly code: string;
  /** The server's request id (`x-request-id` header), for correlating with its logs. */
  readonly requestId: string | undefined;
  readonly body: unknown;

  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details.message, options);
    this.name = 'TearlessHttpError';
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.body = details.body;
  }
}

/** 400, 413, 415, 422: the request (image, option, tensor) is wrong; retrying will not help. */
export class BadRequestError extends TearlessHttpError {
  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'BadRequestError';
  }
}

/** 401: missing or wrong API key. */
export class UnauthorizedError extends TearlessHttpError {
  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'UnauthorizedError';
  }
}

/** 404: unknown model, version or route. */
export class NotFoundError extends TearlessHttpError {
  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'NotFoundError';
  }
}

/** 503: queue full, model loading/unavailable, shutting down. Retry after `retryAfter` seconds when given. */
export class UnavailableError extends TearlessHttpError {
  /** Seconds to wait, from the `Retry-After` header (undefined when absent). */
  readonly retryAfter: number | undefined;

  constructor(details: HttpErrorDetails & { retryAfter?: number }, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'UnavailableError';
    this.retryAfter = details.retryAfter;
  }
}

/** The request took too long: the client's `timeoutMs` elapsed (`status` 0) or the server answered 504. */
export class TimeoutError extends TearlessHttpError {
  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'TimeoutError';
  }
}

/**
 * No HTTP answer: connection refused, DNS failure, CORS rejection. (A caller's own abort
 * rejects with its signal's reason, as `fetch` does, so `err.name === 'AbortError'` still works.)
 */
export class ConnectionError extends TearlessHttpError {
  constructor(details: HttpErrorDetails, options?: { cause?: unknown }) {
    super(details, options);
    this.name = 'ConnectionError';
  }
}

/** `Retry-After`: delay-seconds or an HTTP date → seconds from now (≥ 0), undefined when absent/invalid. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Build the typed exception for a non-2xx response whose body has already been read. */
export function errorFromResponse(status: number, headers: Headers, body: unknown): TearlessHttpError {
  let message = `HTTP ${status}`;
  let code = `HTTP_${status}`;
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.error === 'string' && b.error !== '') message = b.error;
    else if (typeof b.message === 'string' && b.message !== '') message = b.message;
    if (typeof b.code === 'string' && b.code !== '') code = b.code;
  } else if (typeof body === 'string' && body.trim() !== '') {
    message = body.trim().slice(0, 500);
  }
  const requestId = headers.get('x-request-id') ?? headers.get('request-id') ?? undefined;
  const details: HttpErrorDetails = { status, code, message, requestId, body };
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return new BadRequestError(details);
    case 401:
      return new UnauthorizedError(details);
    case 404:
      return new NotFoundError(details);
    case 503:
      return new UnavailableError({ ...details, retryAfter: parseRetryAfter(headers.get('retry-after')) });
    case 504:
      return new TimeoutError(details);
    default:
      return new TearlessHttpError(details);
  }
}
