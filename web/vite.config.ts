// Build of the demo page (web/ → dist/web), served at `/` by `tearless serve`.
// Dev server with hot reload: `npx vite --config web/vite.config.ts`, proxying the API to
// `npx tearless serve` on 127.0.0.1:8080 (or TEARLESS_URL).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const api = process.env.TEARLESS_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/v1': api, '/v2': api, '/docs': api, '/openapi.json': api },
  },
});
