/**
 * `tearless bench` as a user runs it: a real child process (the CLI from the sources via tsx,
 * so no build is needed), tiny durations, the exact JSON shape, the HTML report, exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLED_MODEL, ROOT, fixtureImage, fixtureModel } from './helpers.js';

const ENTRY = "import { main } from './src/cli/index.ts'; await main(['node', 'tearless', ...process.argv.slice(1)]);";

function tearless(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...args],
      { cwd: ROOT, maxBuffer: 32 << 20, timeout: 60_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: performance.now() - t0 }),
    );
  });
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

function assertLatencies(o: Record<string, unknown>, where: string): void {
  for (const k of ['fps', 'p50Ms', 'p90Ms', 'p99Ms']) assert.ok(positive(o[k]), `${where}.${k} = ${o[k]}`);
  assert.ok((o.p50Ms as number) <= (o.p90Ms as number) && (o.p90Ms as number) <= (o.p99Ms as number), `${where}: p50 ≤ p90 ≤ p99`);
}

test('bench --json: one object with the machine fingerprint and one exact-shaped result per configuration; --html report', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-bench-'));
  const html = path.join(dir, 'report.html');
  const r = await tearless(['bench', '--duration', '0.5', '--runs', '1', '--threads', '1', '--streams', '1,2', '--json', '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
  const out = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(out).slice(0, 2), ['machine', 'results']);

  const m = out.machine;
  assert.ok(typeof m.cpu === 'string' && m.cpu.length > 0);
  assert.ok(Number.isInteger(m.cores) && m.cores >= 1);
  assert.ok(m.cgroupCpuQuota === null || positive(m.cgroupCpuQuota));
  if (m.isa !== null) assert.deepEqual(Object.keys(m.isa).sort(), ['avx2', 'avx512_vnni', 'avx512f', 'avx_vnni', 'fma']);
  assert.ok(positive(m.totalMemoryMb));
  assert.equal(m.node, process.version);
  assert.match(m.onnxruntimeNode, /^\d+\.\d+\.\d+/);
  assert.match(m.sharp, /^\d+\.\d+\.\d+/);

  assert.equal(out.results.length, 2);
  assert.deepEqual(out.results.map((x: { streams: number }) => x.streams), [1, 2]);
  for (const res of out.results) {
    assert.deepEqual(Object.keys(res).slice(0, 9), ['model', 'threads', 'streams', 'batch', 'modelOnly', 'endToEnd', 'ratio', 'coldStartMs', 'rssMb']);
    assert.equal(res.model, BUNDLED_MODEL);
    assert.equal(res.threads, 1);
    assert.equal(res.batch, 1);
    assert.deepEqual(Object.keys(res.modelOnly).slice(0, 4), ['fps', 'p50Ms', 'p90Ms', 'p99Ms']);
    assert.deepEqual(Object.keys(res.endToEnd).slice(0, 5), ['fps', 'p50Ms', 'p90Ms', 'p99Ms', 'maxMs']);
    assertLatencies(res.modelOnly, 'modelOnly');
    assertLatencies(res.endToEnd, 'endToEnd');
    assert.deepEqual(Object.keys(res.endToEnd.stagesMs).slice(0, 4), ['decode', 'preprocess', 'infer', 'postprocess']);
    for (const k of ['decode', 'preprocess', 'infer', 'postprocess']) assert.ok(positive(res.endToEnd.stagesMs[k]), `stage ${k}`);
    assert.ok(Math.abs(res.ratio - res.endToEnd.fps / res.modelOnly.fps) < 1e-3 * res.ratio + 1e-4, `ratio ${res.ratio} = ${res.endToEnd.fps} / ${res.modelOnly.fps}`);
    assert.ok(positive(res.coldStartMs) && positive(res.rssMb));
  }

  assert.ok(existsSync(html), r.stderr);
  const page = readFileSync(html, 'utf8');
  // throughput chart, one latency histogram per configuration, stage breakdown
  assert.equal(page.match(/<svg /g)?.length, 4);
  assert.doesNotMatch(page, /https?:\/\//, 'no external references');
  assert.doesNotMatch(page, /<script|<link|<img|\ssrc=/i);
  assert.match(page, /1 thr × 2 str/);
  assert.ok(r.ms < 20_000, `took ${r.ms.toFixed(0)} ms`);
});

test('bench --batch sweeps model-only batch sizes on a symbolic batch dimension and reports fixed ones as skipped', async () => {
  const deim = fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx');
  const r = await tearless(['bench', '-m', BUNDLED_MODEL, '-m', deim, '--threads', '1', '--streams', '1', '--batch', '1,2', '--duration', '0.3', '--runs', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.results.map((x: { model: string; batch: number }) => [path.basename(x.model), x.batch]), [
    ['yolox_nano_416_coco.onnx', 1],
    ['deimv2_hgnetv2_atto_320_coco.onnx', 1],
    ['deimv2_hgnetv2_atto_320_coco.onnx', 2],
  ]);
  const [, deim1, deim2] = out.results;
  assert.equal(deim2.endToEnd.fps, deim1.endToEnd.fps, 'end-to-end is batch 1, shared by the batch sizes');
  assert.ok(positive(deim2.modelOnly.fps));
  assert.equal(out.skipped.length, 1);
  assert.equal(out.skipped[0].batch, 2);
  assert.match(out.skipped[0].reason, /fixed batch dimension of 1/);
  assert.match(out.settings.note, /end-to-end always runs batch 1/);
});

test('bench: bad values and unloadable models are clear errors with exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [['--threads', '0'], /--threads must be a comma-separated list of integers between 1 and 1024.*"0".*\[TL_ERR_BAD_OPTION\]/],
    [['--streams', 'abc'], /--streams must be a comma-separated list of integers.*"abc".*\[TL_ERR_BAD_OPTION\]/],
    [['--duration', '-1'], /--duration must be a number greater than 0.*"-1".*\[TL_ERR_BAD_OPTION\]/],
    [['--batch', '1,,2'], /--batch must be/],
    [['--concurrency', '2'], /apply to load mode only.*\[TL_ERR_BAD_OPTION\]/],
    [['--url', 'http://127.0.0.1:9/x', '-m', 'a.onnx'], /--model applies only to model benchmarks/],
    [['--url', 'ftp://127.0.0.1/x'], /--url must use http/],
    [['-m', path.join(ROOT, 'missing.onnx')], /Model file ".*missing\.onnx" cannot be read.*\[TL_ERR_MODEL_NOT_FOUND\]/],
    [['-m', path.join(ROOT, 'README.md')], /is not an ONNX file.*\[TL_ERR_MODEL_NOT_ONNX\]/],
  ];
  // All fail before measuring anything, so they run side by side.
  const results = await Promise.all(cases.map(([args]) => tearless(['bench', ...args])));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i][0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i][1]);
    assert.equal(r.stdout, '');
  });
});

test('bench --url --json against a local server: requests/s, latency percentiles, errors by status', async () => {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      if (hits % 4 === 0) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"width":640,"height":426,"detections":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/detect`;
  try {
    const r = await tearless(['bench', '--url', url, '--concurrency', '1,3', '--duration', '0.4', '--images', fixtureImage('000000000139.jpg'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out).slice(0, 3), ['machine', 'url', 'results']);
    assert.equal(out.url, url);
    assert.deepEqual(out.results.map((x: { concurrency: number }) => x.concurrency), [1, 3]);
    for (const x of out.results) {
      assert.deepEqual(Object.keys(x).slice(0, 7), ['concurrency', 'rps', 'p50Ms', 'p90Ms', 'p99Ms', 'maxMs', 'errors']);
      for (const k of ['rps', 'p50Ms', 'p90Ms', 'p99Ms', 'maxMs']) assert.ok(positive(x[k]), k);
      assert.deepEqual(Object.keys(x.errors), ['503']);
    }
    const counted = out.results.reduce((a: number, x: { requests: number; concurrency: number }) => a + x.requests + x.concurrency, 0);
    assert.equal(hits, counted, 'every request the server saw is accounted for (measured + warm-up)');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
