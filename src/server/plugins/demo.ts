/**
 * The demo page at `/`: the Vite build of `web/` (in `dist/web`), served by @fastify/static.
 * Hashed assets (`/assets/*`) are cached for a year (immutable); `index.html` is revalidated on
 * every load so a new build shows up at once. When `dist/web` has not been built (running from
 * sources), `/` answers with a short page that says how to build it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifySchema } from 'fastify';

export interface DemoPluginOptions {
  /** Folder with the built demo (default: `<package>/dist/web`). */
  root?: string;
}

/** `<package root>/dist/web`: three levels up from both src/server/plugins and dist/server/plugins. */
export const DEFAULT_DEMO_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const NOT_BUILT_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>tearless</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}code{background:#eef1f4;padding:.1em .3em;border-radius:4px}</style>
</head>
<body>
<h1>tearless</h1>
<p>The demo page has not been built. Run <code>npm run build</code> (or <code>npm run build:web</code>) in the tearless folder and reload.</p>
<p>The API works without it: <code>POST /v1/detect</code>, <code>GET /v1/models</code>, <code>/v2/health/ready</code>.</p>
</body>
</html>
`;

// Vite names bundled files `name-<hash>.ext` under assets/.
const HASHED_ASSET = /(^|\/)assets\/[^/]+-[\w-]{8,}\.[a-z0-9]+$/i;

export const demoPlugin: FastifyPluginAsync<DemoPluginOptions> = async (app, opts) => {
  const root = path.resolve(opts.root ?? DEFAULT_DEMO_ROOT);
  if (!existsSync(path.join(root, 'index.html'))) {
    app.log.warn({ root }, 'demo page not built (run `npm run build`); serving a placeholder at /');
    app.get('/', { schema: { hide: true } as FastifySchema }, async (_request, reply) =>
      reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_HTML));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Routes for the files present now (no catch-all `/*`, so unknown API paths keep their JSON 404s).
    wildcard: false,
    index: 'index.html',
    // swagger-ui registers @fastify/static too: do not fight over reply.sendFile.
    decorateReply: false,
    cacheControl: false,
    setHeaders(reply, filePath) {
      const rel = path.relative(root, filePath).split(path.sep).join('/');
      reply.header('cache-control', HASHED_ASSET.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};

export default demoPlugin;
