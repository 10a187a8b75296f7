/**
 * The demo page in a real browser: Debian's Chromium (/usr/bin/chromium, `apt-get install
 * chromium` in .ci/run) driven by playwright-core against a real server (buildServer, port 0).
 * Upload image 139, see the boxes and per-class counts, move the confidence slider (counts drop,
 * no new request), latency shown; error and API-key flows; desktop and phone screenshots saved
 * under test-results/ (CI artifacts). Without Chromium the test is skipped, except under CI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/server/app.js';
import type { ModelManager } from '../src/server/types.js';
import { classColour } from '../src/pipeline/annotate.js';
import { PALETTE, classColour as webClassColour } from '../web/src/palette.js';
import { BUNDLED_MODEL, ROOT, fixtureImage } from './helpers.js';

// Debian's Chromium (CI: `apt-get install -y chromium`); TEARLESS_CHROMIUM points elsewhere.
const CHROMIUM = process.env.TEARLESS_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];
const RESULTS = path.join(ROOT, 'test-results');
const WEB_OUT = path.join(ROOT, 'dist', 'web');
const IMAGE = fixtureImage('000000000139.jpg');
const MODEL = 'yolox_nano_416_coco';
const KEY = 'demo-test-key';

const haveChromium = existsSync(CHROMIUM);
const missing = `${CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium) to run the demo page test`;

/** Newest modification time of the files under `dir` (recursive). */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Build the page unless dist/web is newer than its sources (npm test builds it beforehand). */
async function ensureWebBuild(): Promise<void> {
  const index = path.join(WEB_OUT, 'index.html');
  const sources = Math.max(newest(path.join(ROOT, 'web')), newest(path.join(ROOT, 'src', 'client')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
}

test('demo palette matches the server annotations', () => {
  for (let id = 0; id < 3 * PALETTE.length; id++) assert.equal(webClassColour(id).toUpperCase(), classColour(id).toUpperCase(), `class ${id}`);
});

// Skipped without Chromium on a developer machine; under CI a missing browser is a failure.
test('Chromium is installed', { skip: haveChromium || process.env.CI ? false : missing }, () => {
  assert.ok(haveChromium, `CI is set but ${missing}: .ci/run must install it`);
});

describe('demo page in Chromium', { skip: haveChromium ? false : missing }, () => {
  let app: FastifyInstance;
  let securedApp: FastifyInstance;
  let manager: ModelManager;
  let base = '';
  let securedBase = '';
  let browser: Browser;

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    await ensureWebBuild();
    ({ app, manager } = await buildServer({ sources: [BUNDLED_MODEL], logger: false, docs: false, reloadIntervalMs: 0, threads: 2 }));
    await manager.whenLoaded();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    ({ app: securedApp } = await buildServer({ manager, apiKeys: [KEY], logger: false, docs: false }));
    securedBase = await securedApp.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await securedApp?.close();
    await app?.close();
  });

  interface Watched {
    context: BrowserContext;
    page: Page;
    /** Every request the page made (URL), to prove it stays on the server (offline) and to count API calls. */
    requests: string[];
    /** Console errors and uncaught exceptions. */
    problems: string[];
  }

  async function open(url: string, viewport: { width: number; height: number }, mobile = false): Promise<Watched> {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: mobile ? 2 : 1,
      isMobile: mobile,
      hasTouch: mobile,
      colorScheme: 'light',
    });
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    return { context, page, requests, problems };
  }

  const apiCalls = (w: Watched): string[] => w.requests.filter((u) => new URL(u).pathname.startsWith('/v1/'));

  /** Per-class counts as shown: label → number. */
  async function counts(page: Page): Promise<Record<string, number>> {
    return page.evaluate<Record<string, number>>(`Object.fromEntries([...document.querySelectorAll('[data-testid="counts"] li[data-label]')]
      .map((li) => [li.dataset.label, Number(li.querySelector('.count').textContent)]))`);
  }
  const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);

  async function waitForModels(page: Page): Promise<void> {
    await page.waitForFunction(`(() => {
      const s = document.querySelector('[data-testid="model-select"]');
      return s !== null && !s.disabled && s.value !== '';
    })()`);
  }

  async function uploadAndWait(page: Page): Promise<void> {
    await page.getByTestId('file-input').setInputFiles(IMAGE);
    await page.getByTestId('counts').locator('li[data-label="tv"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('latency').getByText(/Round trip \d+ ms/).waitFor();
  }

  test('upload, boxes and counts, slider re-filters locally, latency; desktop screenshot', async () => {
    const w = await open(`${base}/`, { width: 1280, height: 860 });
    const { page } = w;
    try {
      assert.equal(await page.title(), 'tearless · object detection demo');
      await waitForModels(page);
      assert.equal(await page.getByTestId('model-select').inputValue(), MODEL);
      assert.match(await page.getByTestId('model-info').innerText(), /yolox · 416×416 · 80 classes/);
      // Accessible names for the controls.
      assert.equal(await page.getByLabel('Model').getAttribute('data-testid'), 'model-select');
      assert.equal(await page.getByLabel('Confidence threshold').getAttribute('data-testid'), 'conf-slider');
      assert.equal(await page.getByLabel('Choose image').getAttribute('data-testid'), 'file-input');

      const before = apiCalls(w).length;
      await uploadAndWait(page);
      const detectCalls = apiCalls(w).slice(before);
      assert.deepEqual(detectCalls.map((u) => { const x = new URL(u); return `${x.pathname}${x.search}`; }), [`/v1/models/${MODEL}/detect?conf=0.01`]);

      // Default threshold 0.25: the 8 objects `tearless predict` reports for this image.
      await page.getByTestId('canvas').waitFor({ state: 'visible' });
      const atDefault = await counts(page);
      assert.deepEqual(atDefault, { chair: 2, person: 2, clock: 1, 'dining table': 1, tv: 1, vase: 1 }, JSON.stringify(atDefault));
      const canvas = await page.evaluate<{ w: number; h: number; label: string | null }>(`(() => {
        const c = document.querySelector('[data-testid="canvas"]');
        return { w: c.width, h: c.height, label: c.getAttribute('aria-label') };
      })()`);
      assert.ok(Math.abs(canvas.w / canvas.h - 640 / 426) < 0.01, JSON.stringify(canvas));
      assert.match(canvas.label ?? '', /8 detections/);
      // The tv box is drawn in its class colour (class 62 → the same colour as the server's annotations):
      // some pixel on its left edge (x1 ≈ 5.9 of 640, at mid-height of the box) has that colour exactly.
      const s = canvas.w / 640;
      const x0 = Math.max(0, Math.round(5.9 * s) - 4);
      const row = await page.evaluate<number[]>(`[...document.querySelector('[data-testid="canvas"]')
        .getContext('2d').getImageData(${x0}, ${Math.round(215 * s)}, 8, 1).data]`);
      const pixels = Array.from({ length: 8 }, (_, i) => row.slice(4 * i, 4 * i + 3).join(','));
      const hex = classColour(62);
      const tv = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',');
      assert.ok(pixels.includes(tv), `${tv} not in ${pixels.join(' | ')}`);

      // Lower the threshold: more boxes, still no request.
      await page.getByTestId('conf-slider').fill('0.05');
      const low = await counts(page);
      assert.ok(total(low) > total(atDefault), JSON.stringify(low));
      // Raise it: only the confident tv stays.
      await page.getByTestId('conf-slider').fill('0.8');
      assert.equal(await page.getByTestId('conf-value').innerText(), '0.80');
      const high = await counts(page);
      assert.deepEqual(high, { tv: 1 });
      assert.match(await page.getByTestId('summary').innerText(), /^1 of \d+$/);
      await page.waitForTimeout(300);
      assert.equal(apiCalls(w).length, before + 1, `slider made requests: ${apiCalls(w).slice(before + 1).join(', ')}`);

      const latency = await page.getByTestId('latency').innerText();
      assert.match(latency, /Round trip \d+ ms/);
      assert.match(latency, /server\s+\d+\.\d ms/);
      assert.match(latency, /inference\s+\d+\.\d ms/);
      assert.equal(await page.getByTestId('error').isVisible(), false);

      // Everything the page loaded came from the tearless server itself (works offline, no CDN).
      const foreign = w.requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:'));
      assert.deepEqual(foreign, []);
      assert.deepEqual(w.problems, []);

      await page.getByTestId('conf-slider').fill('0.3');
      await page.getByTestId('conf-slider').blur();
      await page.screenshot({ path: path.join(RESULTS, 'demo.png'), fullPage: true });
    } finally {
      await w.context.close();
    }
  });

  test('phone viewport: stacked layout, no horizontal scrolling; phone screenshot', async () => {
    const w = await open(`${base}/`, { width: 390, height: 844 }, true);
    const { page } = w;
    try {
      await waitForModels(page);
      await uploadAndWait(page);
      await page.getByTestId('conf-slider').fill('0.3');
      await page.getByTestId('conf-slider').blur();
      const layout = await page.evaluate<{ stacked: boolean; scrollWidth: number; innerWidth: number; canvasWidth: number; stageWidth: number }>(`(() => {
        const stage = document.querySelector('.stage').getBoundingClientRect();
        const panel = document.querySelector('.panel').getBoundingClientRect();
        const canvas = document.querySelector('canvas').getBoundingClientRect();
        return {
          stacked: panel.top >= stage.bottom - 1,
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          canvasWidth: canvas.width,
          stageWidth: stage.width,
        };
      })()`);
      assert.ok(layout.stacked, JSON.stringify(layout));
      assert.ok(layout.scrollWidth <= layout.innerWidth, JSON.stringify(layout));
      assert.ok(layout.canvasWidth <= layout.stageWidth && layout.canvasWidth > 300, JSON.stringify(layout));
      assert.deepEqual(w.problems, []);
      await page.screenshot({ path: path.join(RESULTS, 'demo-phone.png'), fullPage: true });
    } finally {
      await w.context.close();
    }
  });

  test('a file that is not an image shows the server error message and code', async () => {
    const w = await open(`${base}/`, { width: 1024, height: 768 });
    const { page } = w;
    try {
      await waitForModels(page);
      await page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not a picture') });
      const error = page.getByTestId('error');
      await error.waitFor({ state: 'visible' });
      const text = await error.innerText();
      assert.match(text, /TL_ERR_IMAGE_UNSUPPORTED_FORMAT/);
      assert.match(text, /HTTP 415/);
      assert.equal(await error.getAttribute('role'), 'alert');
      // The next good image clears it.
      await uploadAndWait(page);
      assert.equal(await error.isVisible(), false);
    } finally {
      await w.context.close();
    }
  });

  test('a server with API keys: the key field appears on 401, the key is stored and used', async () => {
    const w = await open(`${securedBase}/`, { width: 1024, height: 768 });
    const { page } = w;
    try {
      const key = page.getByTestId('api-key');
      await key.waitFor({ state: 'visible' });
      assert.equal(await page.getByLabel('API key').getAttribute('data-testid'), 'api-key');
      await key.fill('wrong');
      await key.press('Enter');
      await page.getByText('The stored API key was refused').waitFor();
      await key.fill(KEY);
      await key.press('Enter');
      await waitForModels(page);
      assert.equal(await page.evaluate<string | null>(`localStorage.getItem('tearless.apiKey')`), KEY);
      await uploadAndWait(page);
      // A reload keeps the key: no prompt.
      await page.reload();
      await waitForModels(page);
      assert.equal(await key.isVisible(), false);
    } finally {
      await w.context.close();
    }
  });
});
