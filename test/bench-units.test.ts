/**
 * The benchmark's arithmetic and parsers on known inputs, the HTML report on a hand-made
 * report, and `--url` load mode against small local servers (bounded in time and requests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { histogram, median, niceStep, percentile, summarizeLatencies } from '../src/bench/stats.js';
import { parseCpuMax, parseIsaFlags } from '../src/bench/fingerprint.js';
import { parallelismPairs } from '../src/bench/plan.js';
import { checkUrl, runLoad } from '../src/bench/load.js';
import { benchReportHtml } from '../src/bench/report-html.js';
import { stripVTControlCharacters } from 'node:util';
import { formatBenchReport } from '../src/bench/report-text.js';
import type { BenchReport, BenchResult } from '../src/bench/types.js';
import { fixtureImage } from './helpers.js';

test('percentile: linear interpolation between closest ranks (NumPy default) on known arrays', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([15, 20, 35, 40, 50], 40), 29); // numpy.percentile(..., 40) == 29.0
  assert.equal(percentile([15, 20, 35, 40, 50], 0), 15);
  assert.equal(percentile([15, 20, 35, 40, 50], 100), 50);
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose: 100..1
  assert.equal(percentile(hundred, 50), 50.5);
  assert.ok(Math.abs(percentile(hundred, 90) - 90.1) < 1e-9);
  assert.ok(Math.abs(percentile(hundred, 99) - 99.01) < 1e-9);
  assert.equal(hundred[0], 100, 'input left unsorted');
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), RangeError);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('summarizeLatencies and histogram agree with the samples', () => {
  const xs = [5, 1, 4, 2, 3, 100];
  const s = summarizeLatencies(xs);
  assert.equal(s.p50Ms, 3.5);
  assert.equal(s.maxMs, 100);
  assert.equal(s.count, 6);
  assert.ok(s.p50Ms <= s.p90Ms && s.p90Ms <= s.p99Ms && s.p99Ms <= s.maxMs);
  const h = histogram(xs, 10);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), xs.length, 'every sample is counted once');
  assert.ok(h.startMs <= 1);
  assert.equal(niceStep(0.7), 1);
  assert.equal(niceStep(3), 5);
  assert.equal(niceStep(2.2), 2.5);
  assert.equal(niceStep(12), 20);
  assert.deepEqual(histogram([]).counts, []);
  // A lone stall is clipped into the last bar instead of stretching the axis.
  const stall = histogram([...Array.from({ length: 2000 }, (_, i) => 10 + (i % 10)), 5000], 20);
  assert.equal(stall.clippedAbove, 1);
  assert.ok(stall.startMs + stall.binMs * stall.counts.length < 100);
});

test('fingerprint parsers: cgroup cpu.max and /proc/cpuinfo flags', () => {
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCpuMax('150000 100000\n'), 1.5);
  assert.equal(parseCpuMax(null), null);
  const isa = parseIsaFlags('processor\t: 0\nflags\t\t: fpu sse avx2 fma avx512f avx512_vnni\n');
  assert.deepEqual(isa, { avx2: true, fma: true, avx512f: true, avx512_vnni: true, avx_vnni: false });
  assert.equal(parseIsaFlags('no flags here'), null);
});

test('threads × streams pairs from the flags', () => {
  assert.deepEqual(parallelismPairs(undefined, undefined, 2), [{ threads: 2, streams: 1 }, { threads: 1, streams: 2 }]);
  assert.deepEqual(parallelismPairs(undefined, undefined, 1), [{ threads: 1, streams: 1 }]);
  assert.deepEqual(parallelismPairs(undefined, [1, 2, 4], 4), [{ threads: 4, streams: 1 }, { threads: 2, streams: 2 }, { threads: 1, streams: 4 }]);
  assert.deepEqual(parallelismPairs([1, 2], undefined, 8), [{ threads: 1, streams: 1 }, { threads: 2, streams: 1 }]);
  assert.equal(parallelismPairs([1, 2], [1, 2], 2).length, 4);
});

function fakeResult(model: string, threads: number, streams: number, batch: number): BenchResult {
  return {
    model,
    threads,
    streams,
    batch,
    modelOnly: { fps: 100, p50Ms: 10, p90Ms: 11, p99Ms: 12, maxMs: 13, fpsRuns: [100] },
    endToEnd: {
      fps: 80,
      p50Ms: 30,
      p90Ms: 40,
      p99Ms: 50,
      maxMs: 60,
      stagesMs: { decode: 3, preprocess: 1, infer: 10, postprocess: 0.5, queue: 2 },
      fpsRuns: [80],
      histogram: { startMs: 20, binMs: 5, counts: [1, 4, 9, 3, 1, 1], clippedAbove: 0 },
    },
    ratio: 0.8,
    coldStartMs: 250,
    rssMb: 300,
    spinning: true,
    ratioRuns: [0.8],
    coldStartRunsMs: [250],
    endToEndImages: 19,
    modelOnlyCalls: 50,
  };
}

test('HTML report: self-contained, escaped, one chart per section, every configuration', () => {
  const report: BenchReport = {
    machine: { cpu: 'Test <CPU>', cores: 2, logicalCpus: 2, cgroupCpuQuota: null, isa: null, totalMemoryMb: 2048, platform: 'linux', arch: 'x64', node: 'v20', onnxruntimeNode: '1.30.0', sharp: '0.35.5', libvips: '8.18' },
    results: [fakeResult('/m/a<b>.onnx', 2, 1, 1), fakeResult('/m/a<b>.onnx', 1, 2, 1), fakeResult('/m/c.onnx', 1, 2, 4)],
    skipped: [{ model: '/m/a<b>.onnx', threads: 2, streams: 1, batch: 4, reason: 'fixed batch dimension of 1' }],
    settings: { durationS: 1, runs: 1, sliceMs: 500, images: 2, imagesFrom: 'x', note: 'n' },
  };
  const html = benchReportHtml(report);
  assert.match(html, /^<!doctype html>/);
  assert.ok(!html.includes('a<b>') && html.includes('a&lt;b&gt;'), 'model names are escaped');
  assert.ok(!html.includes('<CPU>'));
  assert.doesNotMatch(html, /https?:\/\/|<script|\ssrc=|\shref=|@import|url\(/i);
  // throughput + 3 histograms (c.onnx batch 4 has its own end-to-end) + stage bars
  assert.equal(html.match(/<svg /g)?.length, 5);
  assert.match(html, /fixed batch dimension of 1/);
  const text = stripVTControlCharacters(formatBenchReport(report)); // colours are on under CI=true
  assert.match(text, /0\.800/);
  assert.match(text, /skipped a<b>\.onnx batch 4/);
});

/** A local server on 127.0.0.1:0 that answers detection JSON; every `failEvery`-th request gets 503. */
async function startServer(failEvery = 0): Promise<{ url: string; hits: () => number; types: Set<string>; sizes: Set<number>; close: () => Promise<void> }> {
  let hits = 0;
  const types = new Set<string>();
  const sizes = new Set<number>();
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      hits++;
      types.add(String(req.headers['content-type']));
      sizes.add(size);
      if (failEvery && hits % failEvery === 0) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"TL_ERR_CLOSED"}}');
        return;
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ width: 640, height: 426, detections: [{ label: 'tv', classId: 62, score: 0.9, box: [5.9, 165.8, 155.8, 264.6] }] }));
      }, 2);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/detect`,
    hits: () => hits,
    types,
    sizes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const jpg = fixtureImage('000000000139.jpg');
const png = fixtureImage('plate_rgba_1280x720.png');
const images = [jpg, png].map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(f)) }));

test('load mode: bounded concurrency and time, content types by extension, errors by status', async () => {
  const ok = await startServer();
  const flaky = await startServer(3);
  try {
    const t0 = performance.now();
    const r = await runLoad({ url: ok.url, concurrency: 3, durationS: 0.4, images });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 3000, `stopped by itself (${elapsed.toFixed(0)} ms)`);
    assert.equal(r.concurrency, 3);
    assert.ok(r.rps > 0 && r.ok > 0);
    assert.deepEqual(r.errors, {});
    assert.equal(r.requests, r.ok);
    assert.equal(ok.hits(), r.requests + 3, 'measured requests + one warm-up request per loop, nothing else');
    assert.ok(r.p50Ms! > 0 && r.p50Ms! <= r.p90Ms! && r.p90Ms! <= r.p99Ms! && r.p99Ms! <= r.maxMs!);
    assert.deepEqual([...ok.types].sort(), ['image/jpeg', 'image/png']);
    assert.deepEqual([...ok.sizes].sort((a, b) => a - b), images.map((i) => i.bytes.length).sort((a, b) => a - b));

    const f = await runLoad({ url: flaky.url, concurrency: 2, durationS: 0.4, images });
    assert.ok(f.errors['503'] > 0, JSON.stringify(f.errors));
    assert.deepEqual(Object.keys(f.errors), ['503']);
    assert.equal(f.ok + f.errors['503'], f.requests);
    assert.ok(f.rps > 0);
  } finally {
    await ok.close();
    await flaky.close();
  }
});

test('load mode only targets the given URL: redirects are reported, not followed; bad URLs are refused', async () => {
  const elsewhere = await startServer();
  const redirect = http.createServer((_req, res) => res.writeHead(302, { location: elsewhere.url }).end());
  await new Promise<void>((resolve) => redirect.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}/v1/detect`;
    const r = await runLoad({ url, concurrency: 1, durationS: 0.2, images });
    assert.ok(r.errors['302'] > 0);
    assert.equal(r.ok, 0);
    assert.equal(r.p50Ms, null);
    assert.equal(elsewhere.hits(), 0, 'the redirect target was never contacted');
  } finally {
    redirect.closeAllConnections();
    await new Promise<void>((resolve) => redirect.close(() => resolve()));
    await elsewhere.close();
  }
  assert.throws(() => checkUrl('file:///etc/passwd'), /http:\/\/ or https:\/\//);
  assert.throws(() => checkUrl('localhost:8080'), /must use http/);
  assert.throws(() => checkUrl('not a url'), /absolute http/);
});
