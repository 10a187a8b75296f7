/**
 * Optional API keys. When keys are configured every request needs one, as
 * `Authorization: Bearer <key>` or `x-api-key: <key>`, except the open routes: health probes,
 * `/metrics` (unless `metricsAuth`), the demo page and its assets (any file served by
 * @fastify/static), the docs and the OpenAPI document, CORS preflights, and any route declared
 * with `config: { public: true }`.
 * Keys are compared in constant time: both sides are hashed to SHA-256 and compared with
 * `crypto.timingSafeEqual`, against every configured key (no early exit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { sendError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route is reachable without an API key. */
    public?: boolean;
  }
}

export interface AuthPluginOptions {
  /** Accepted keys; empty → authentication is off. */
  apiKeys: readonly string[];
  /** Whether `/metrics` needs a key too (default false: Prometheus scrapes it openly). */
  metricsAuth?: boolean;
  /** Extra open paths: exact paths, or prefixes ending in `/`. */
  publicPaths?: readonly string[];
}

/** Paths open without a key (exact), and open prefixes. */
const OPEN_EXACT = new Set(['/', '/index.html', '/favicon.ico', '/favicon.svg', '/openapi.json', '/v2/health/live', '/v2/health/ready', '/docs']);
const OPEN_PREFIXES = ['/docs/', '/assets/', '/demo/'];

/** `TEARLESS_API_KEYS=a,b` → ['a', 'b'] (blanks dropped). */
export function apiKeysFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.TEARLESS_API_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time membership test of `candidate` in the hashed keys. */
export function keyMatches(candidate: string, hashedKeys: readonly Buffer[]): boolean {
  const d = digest(candidate);
  let ok = false;
  for (const k of hashedKeys) ok = timingSafeEqual(d, k) || ok;
  return ok;
}

/** The key a request presents, if any. */
function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  return undefined;
}

export const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app: FastifyInstance, opts: AuthPluginOptions) => {
  const keys = [...new Set(opts.apiKeys.map((k) => k.trim()).filter(Boolean))];
  if (keys.length === 0) return;
  const hashed = keys.map(digest);
  const exact = new Set(OPEN_EXACT);
  const prefixes = [...OPEN_PREFIXES];
  if (!opts.metricsAuth) exact.add('/metrics');
  for (const p of opts.publicPaths ?? []) {
    if (p.endsWith('/')) prefixes.push(p);
    else exact.add(p);
  }

  const isOpen = (request: FastifyRequest): boolean => {
    if (request.method === 'OPTIONS') return true; // CORS preflights never carry credentials
    const config = request.routeOptions.config as { public?: boolean; file?: unknown } | undefined;
    if (config?.public === true) return true;
    // Files served by @fastify/static (the demo page and its assets, the docs UI's assets).
    if ((request.method === 'GET' || request.method === 'HEAD') && typeof config?.file === 'string') return true;
    const q = request.url.indexOf('?');
    const path = q < 0 ? request.url : request.url.slice(0, q);
    return exact.has(path) || prefixes.some((p) => path.startsWith(p));
  };

  app.addHook('onRequest', async (request, reply) => {
    if (isOpen(request)) return;
    const key = presentedKey(request);
    if (key !== undefined && keyMatches(key, hashed)) return;
    reply.header('www-authenticate', key === undefined ? 'Bearer realm="tearless"' : 'Bearer realm="tearless", error="invalid_token"');
    const error = key === undefined
      ? 'An API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>".'
      : 'The API key is not valid.';
    return sendError(reply, { status: 401, body: { error, code: 'TL_ERR_UNAUTHORIZED' } });
  });
};
