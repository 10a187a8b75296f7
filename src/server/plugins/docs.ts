/**
 * API documentation generated from the route schemas: OpenAPI 3 at `/openapi.json` and a
 * Swagger UI at `/docs`, served from the bundled assets of @fastify/swagger-ui (no CDN).
 * Must be registered before the routes it documents, on the root instance.
 */
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export interface DocsPluginOptions {
  /** Whether API keys are required: adds the security schemes and a global requirement. */
  secured: boolean;
}

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  description?: string;
  license?: string;
};

export const docsPlugin: FastifyPluginAsync<DocsPluginOptions> = async (app: FastifyInstance, opts: DocsPluginOptions) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: pkg.name,
        version: pkg.version,
        description: `${pkg.description ?? ''}\n\nImage API (\`/v1\`), Open Inference Protocol v2 (\`/v2\`), Prometheus metrics (\`/metrics\`). Errors are \`{"error": "…", "code": "TL_ERR_…"}\`.`,
        ...(pkg.license ? { license: { name: pkg.license } } : {}),
      },
      tags: [
        { name: 'detect', description: 'Image in, boxes out' },
        { name: 'models', description: 'Served models' },
        { name: 'oip-v2', description: 'Open Inference Protocol v2 (KServe / Triton REST)' },
        { name: 'metrics', description: 'Prometheus' },
      ],
      ...(opts.secured
        ? {
          components: {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <api key>' },
              apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
            },
          },
          security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
        }
        : {}),
    },
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true, docExpansion: 'list' },
    theme: { title: `${pkg.name} API` },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
