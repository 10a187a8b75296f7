/**
 * `npm run bench:serve`: the HTTP server under load against the model's own ceiling, in one run,
 * on the same model and core budget.
 *
 *  - load:    the server (`tearless serve`, its own process) on 127.0.0.1, port 0; autocannon POSTs
 *             real COCO JPEGs (raw bytes, `Content-Type: image/jpeg`, rotating through the
 *             images) to `/v1/detect` at concurrency 1, 4 and 16: requests/s, p50/p99 latency
 *             (client side, every 2xx response), errors (non-2xx, socket errors, timeouts);
 *  - raw:     back-to-back `session.run` on a fixed tensor in one in-process onnxruntime-node
 *             session using every core as intra-op threads, measured in two halves just before
 *             and just after the concurrency-16 level (this machine's speed drifts);
 *  - single:  `Detector.detect` on one image at a time (what `tearless predict photo.jpg` does:
 *             one stream with all streams × threads cores), once over the same images the load
 *             rotates through, in two halves around the concurrency-1 level: median and p99;
 *  - ratios:  throughput@16 ÷ raw FPS (goal ≥ 0.85) and p99@1 ÷ single median latency (goal
 *             ≤ 1.5), the median of the per-run ratios over --runs runs. For context, the
 *             reference's own tail (single p99 ÷ single median: what the same ratio would be for
 *             `predict` itself, with no HTTP and no other request) and p99@1 ÷ single p99;
 *  - soak:    --soak seconds at concurrency 4, sampling the server process's RSS (/proc) every
 *             second: first/last/max and the slope.
 *
 *   npm run bench:serve -- [--model m.onnx] [--streams 2] [--threads 1] [--duration 8] [--runs 3]
 *                          [--soak 60] [--concurrency 1,4,16] [--images dir] [--max-batch-size 8]
 *                          [--json]
 *
 * Everything targets 127.0.0.1 and every phase is bounded in time. Defaults take about 3 minutes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
// The built package, as users run it (`npm run bench:serve` builds first).
import { BUNDLED_MODEL_PATH, Detector, availableCores } from '../dist/index.js';
import { RawSessionRunner } from '../dist/bench/index.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    streams: { type: 'string' },
    threads: { type: 'string' },
    duration: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    soak: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '1,4,16' },
    images: { type: 'string' },
    'max-batch-size': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

const cores = availableCores();
const modelPath = path.resolve(args.model ?? BUNDLED_MODEL_PATH);
// Default: one single-threaded stream per core. On the 2-core development machine (shared, busy)
// `--streams 2 --threads 1` gave 1.4-2.7x the throughput of `--streams 1 --threads 2` at
// concurrency 16 and a third of its latency at concurrency 1 (docs/serving.md). Given one of the
// flags, the other fills the cores.
const threadsArg = args.threads === undefined ? undefined : positiveInt('threads', args.threads);
const streams = args.streams !== undefined ? positiveInt('streams', args.streams) : threadsArg === undefined ? cores : Math.max(1, Math.floor(cores / threadsArg));
const threads = threadsArg ?? Math.max(1, Math.floor(cores / streams));
const budget = streams * threads;
const durationS = positiveInt('duration', args.duration);
const runs = positiveInt('runs', args.runs);
const soakS = positiveInt('soak', args.soak, 0);
const levels = args.concurrency.split(',').map((c) => positiveInt('concurrency', c.trim()));
const maxBatchSize = args['max-batch-size'] === undefined ? undefined : positiveInt('max-batch-size', args['max-batch-size']);
const top = Math.max(...levels);

// A hard stop in case anything hangs: the planned phases plus generous slack.
const plannedS = 1 + runs * (levels.length + 1) * durationS + soakS;
const watchdog = setTimeout(() => {
  console.error(`bench:serve: still running after ${Math.round(plannedS * 2 + 180)} s; stopping.`);
  process.exit(2);
}, (plannedS * 2 + 180) * 1000);
watchdog.unref();

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const imagesDir = args.images ?? [path.resolve(root, '../shared/data/coco/val2017'), path.join(root, 'test/fixtures/images')].find((d) => existsSync(d));
if (!imagesDir) throw new Error('no image folder: pass --images <dir> with JPEG files');
const images = readdirSync(imagesDir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => readFileSync(path.join(imagesDir, f)));
if (!images.length) throw new Error(`no JPEG files in ${imagesDir}`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (sorted: number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] : NaN);
const mb = (bytes: number): number => bytes / 2 ** 20;
const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

// ---------------------------------------------------------------------------------------------
// Server and load generator

// The server runs in its own process, as in production: the load generator must not share its
// event loop (it still shares the two cores, which a same-box benchmark cannot avoid).
const serverArgs = [
  fileURLToPath(new URL('../bin/tearless.js', import.meta.url)), 'serve', modelPath,
  '--host', '127.0.0.1', '--port', '0', '--threads', String(threads), '--streams', String(streams),
  // A full queue would turn load into 503s; the bench measures capacity, not admission control.
  '--max-queue', String(Math.max(64, top * 4)), '--log-level', 'error', '--reload-interval-ms', '0',
  ...(maxBatchSize !== undefined ? ['--max-batch-size', String(maxBatchSize)] : []),
];
const server = spawn(process.execPath, serverArgs, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`the server did not start: ${out}`)), 60_000);
  server.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const m = /listening on (http:\/\/[^\s]+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  server.once('exit', (code) => reject(new Error(`the server exited with code ${code}: ${out}`)));
});
for (let i = 0; i < 600; i++) {
  if ((await fetch(`${url}/v2/health/ready`).catch(() => null))?.ok) break;
  await new Promise((r) => setTimeout(r, 100));
}

/** Resident memory of the server process (Linux /proc), bytes. */
function serverRss(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface LoadResult {
  connections: number;
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Responses by status class, e.g. { '2xx': 200, '5xx': 1 }. */
  statuses: Record<string, number>;
  /** Server side (model statistics over the level): mean queue wait per request, inference time per run, images per run. */
  queueMs: number;
  inferMs: number;
  batch: number;
}

/** The served model's cumulative counters (OIP statistics extension, summed over versions). */
async function counters(): Promise<{ success: number; failure: number; executions: number; inferences: number; queueNs: number; inferNs: number }> {
  type Stat = { count: number; ns: number };
  type ModelStat = { execution_count: number; inference_count: number; inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_infer', Stat> };
  const body = (await (await fetch(`${url}/v2/models/stats`)).json()) as { model_stats: ModelStat[] };
  const all = body.model_stats;
  const sum = (f: (s: ModelStat) => number): number => all.reduce((a, s) => a + f(s), 0);
  return {
    success: sum((s) => s.inference_stats.success.count),
    failure: sum((s) => s.inference_stats.fail.count),
    executions: sum((s) => s.execution_count),
    inferences: sum((s) => s.inference_count),
    queueNs: sum((s) => s.inference_stats.queue.ns),
    inferNs: sum((s) => s.inference_stats.compute_infer.ns),
  };
}

/**
 * POST the images to /v1/detect with `connections` requests in flight for `seconds`. One shared
 * rotation over the images (each request takes the next one), so memory holds one copy of them.
 */
async function load(connections: number, seconds: number): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const before = await counters();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: '/v1/detect',
            headers: { 'content-type': 'image/jpeg' },
            setupRequest: (req) => ({ ...req, body: images[next++ % images.length] }),
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  await serverIdle(); // the server's counters settle once its queue has drained
  const sorted = latencies.sort((a, b) => a - b);
  const ok = result['2xx'];
  const after = await counters();
  const runsDone = after.executions - before.executions;
  // result.duration is the wall time of the run in seconds.
  return {
    connections,
    requests: ok,
    seconds: result.duration,
    rps: ok / result.duration,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    errors: result.non2xx + result.errors + result.timeouts,
    statuses: Object.fromEntries((['1xx', '2xx', '3xx', '4xx', '5xx'] as const).filter((k) => result[k] > 0).map((k) => [k, result[k]])),
    queueMs: (after.queueNs - before.queueNs) / 1e6 / Math.max(1, after.inferences - before.inferences),
    inferMs: (after.inferNs - before.inferNs) / 1e6 / Math.max(1, runsDone),
    batch: (after.inferences - before.inferences) / Math.max(1, runsDone),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw session.run and single-image latency, same model and core budget

// The baseline is one in-process session with the whole core budget as intra-op threads (the
// model's own ceiling, as `npm run bench` defines it).
const rawRunner = await RawSessionRunner.start(modelPath, budget);
const raw = (ms: number): Promise<{ count: number; ms: number }> => rawRunner.slice(ms);

const single = await Detector.load(modelPath, { streams: 1, threads: budget });
for (const b of images.slice(0, 3)) await single.detect(b);
// The same images the load rotates through: a median over a subset would compare other images.
const singleImages = images;

/** Wall latencies of Detector.detect, one image at a time. */
async function singleLatencies(list: Buffer[]): Promise<number[]> {
  const ms: number[] = [];
  for (const b of list) {
    const t0 = performance.now();
    await single.detect(b);
    ms.push(performance.now() - t0);
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Runs

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const log = (line: string): void => {
  if (!args.json) console.log(line);
};
log(`model ${path.basename(modelPath)} | ${cpu} | ${cores} cores available | onnxruntime-node ${ort.env.versions.node ?? '?'} | node ${process.version}`);
log(`server ${url} with ${streams} stream(s) × ${threads} thread(s); raw session.run: 1 session × ${budget} thread(s); single-image Detector: 1 stream × ${budget} thread(s)`);
log(`${images.length} JPEG images from ${imagesDir}; ${runs} run(s) × concurrency ${levels.join('/')} × ${durationS} s; soak ${soakS} s at concurrency 4`);

// Warm the HTTP path (JIT, connection setup, first allocations) before measuring.
await load(Math.min(4, top), 1);

interface RunResult {
  single: number;
  singleP99: number;
  rawFps: number;
  levels: LoadResult[];
  throughputRatio: number;
  latencyRatio: number;
}
/**
 * Wait until the server has finished every request of the previous level (at concurrency 16
 * its queue holds ~0.3 s of work after the load generator stops): a reference measured while
 * the server still computes would be wrong.
 */
async function serverIdle(): Promise<void> {
  let last = -1;
  for (let i = 0; i < 200; i++) {
    const c = await counters();
    const now = c.success + c.failure;
    if (now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 200));
}

const results: RunResult[] = [];
const bottom = Math.min(...levels);
const half = Math.ceil(singleImages.length / 2);
for (let r = 0; r < runs; r++) {
  const byLevel: LoadResult[] = [];
  let rawCount = 0;
  let rawMs = 0;
  let singleMs = NaN;
  let singleP99 = NaN;
  for (const c of levels) {
    // Each reference is measured around the level it is compared with (the machine's speed
    // drifts): single-image latency in two halves around the lowest level, the raw ceiling in
    // two halves around the highest.
    await serverIdle();
    const singleA = c === bottom ? await singleLatencies(singleImages.slice(0, half)) : [];
    const rawA = c === top ? await raw((durationS * 1000) / 2) : { count: 0, ms: 0 };
    byLevel.push(await load(c, durationS));
    await serverIdle();
    const rawB = c === top ? await raw((durationS * 1000) / 2) : { count: 0, ms: 0 };
    const singleB = c === bottom ? await singleLatencies(singleImages.slice(half)) : [];
    if (c === bottom) {
      const all = [...singleA, ...singleB].sort((a, b) => a - b);
      singleMs = median(all);
      singleP99 = quantile(all, 0.99);
    }
    if (c === top) {
      rawCount = rawA.count + rawB.count;
      rawMs = rawA.ms + rawB.ms;
    }
  }
  const rawFps = (rawCount * 1000) / rawMs;
  const at = (c: number): LoadResult | undefined => byLevel.find((l) => l.connections === c);
  const res: RunResult = {
    single: singleMs,
    singleP99,
    rawFps,
    levels: byLevel,
    throughputRatio: (at(top)?.rps ?? NaN) / rawFps,
    latencyRatio: (at(bottom)?.p99 ?? NaN) / singleMs,
  };
  results.push(res);
  log(
    `run ${r + 1}/${runs}: raw ${fmt(rawFps)} FPS, single ${fmt(singleMs)} ms (p99 ${fmt(singleP99)}) | ` +
      byLevel.map((l) => `c${l.connections} ${fmt(l.rps)} req/s p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} ms${l.errors ? ` ERR ${l.errors}` : ''}`).join(' | '),
  );
}
await single.close();
await rawRunner.close();

// ---------------------------------------------------------------------------------------------
// Soak: RSS over time at concurrency 4

interface Soak {
  seconds: number;
  rps: number;
  errors: number;
  firstMb: number;
  lastMb: number;
  maxMb: number;
  /** Least-squares slope over the whole soak, and over its second half (after warm-up growth). */
  slopeMbPerMin: number;
  secondHalfSlopeMbPerMin: number;
  samples: number[];
}

/** Least-squares slope of RSS over time, MB per minute. */
function slope(points: { t: number; rss: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mr = points.reduce((a, p) => a + p.rss, 0) / n;
  const cov = points.reduce((a, p) => a + (p.t - mt) * (p.rss - mr), 0);
  const vt = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return vt > 0 ? mb(cov / vt) * 60 : NaN;
}
let soak: Soak | null = null;
if (soakS > 0) {
  const samples: { t: number; rss: number }[] = [];
  const t0 = performance.now();
  const sample = (): void => void samples.push({ t: (performance.now() - t0) / 1000, rss: serverRss() });
  sample();
  const timer = setInterval(sample, 1000);
  const result = await load(4, soakS);
  clearInterval(timer);
  sample();
  const n = samples.length;
  soak = {
    seconds: result.seconds,
    rps: result.rps,
    errors: result.errors,
    firstMb: mb(samples[0].rss),
    lastMb: mb(samples[n - 1].rss),
    maxMb: mb(Math.max(...samples.map((p) => p.rss))),
    slopeMbPerMin: slope(samples),
    secondHalfSlopeMbPerMin: slope(samples.slice(Math.floor(n / 2))),
    samples: samples.map((p) => Math.round(mb(p.rss))),
  };
}

server.kill('SIGTERM'); // graceful: finishes in-flight requests, then exits
await new Promise((r) => server.once('exit', r));

// ---------------------------------------------------------------------------------------------
// Report (medians over runs)

const med = (f: (r: RunResult) => number): number => median(results.map(f));
const summary = {
  model: modelPath,
  cpu,
  cores,
  streams,
  threads,
  images: images.length,
  runs,
  durationS,
  rawFps: med((r) => r.rawFps),
  singleMs: med((r) => r.single),
  singleP99Ms: med((r) => r.singleP99),
  levels: levels.map((c) => {
    const per = results.map((r) => r.levels.find((l) => l.connections === c)!);
    return {
      connections: c,
      rps: median(per.map((l) => l.rps)),
      p50: median(per.map((l) => l.p50)),
      p99: median(per.map((l) => l.p99)),
      errors: per.reduce((s, l) => s + l.errors, 0),
      statuses: per.map((l) => l.statuses),
      queueMs: median(per.map((l) => l.queueMs)),
      inferMs: median(per.map((l) => l.inferMs)),
      batch: median(per.map((l) => l.batch)),
    };
  }),
  throughputRatio: med((r) => r.throughputRatio),
  throughputRatios: results.map((r) => r.throughputRatio),
  latencyRatio: med((r) => r.latencyRatio),
  latencyRatios: results.map((r) => r.latencyRatio),
  /** The reference's own p99 ÷ median: the ratio `predict` itself scores, one image at a time. */
  singleTailRatio: med((r) => r.singleP99 / r.single),
  /** p99@lowest concurrency ÷ the reference's own p99. */
  tailToTailRatio: med((r) => (r.levels.find((l) => l.connections === bottom)?.p99 ?? NaN) / r.singleP99),
  soak,
};

if (args.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
  console.log(`\nmedians of ${runs} run(s):`);
  console.log(`  raw session.run        ${fmt(summary.rawFps)} FPS (1 session × ${budget} thread(s))`);
  console.log(`  single-image detect    ${fmt(summary.singleMs)} ms median, p99 ${fmt(summary.singleP99Ms)} ms (${singleImages.length} images, one at a time, 1 stream × ${budget} thread(s))`);
  console.log('  concurrency   req/s   p50 ms   p99 ms   errors | server: queue ms  infer ms/run  images/run');
  for (const l of summary.levels) {
    console.log(
      `  ${String(l.connections).padStart(11)} ${fmt(l.rps).padStart(7)} ${fmt(l.p50).padStart(8)} ${fmt(l.p99).padStart(8)} ${String(l.errors).padStart(8)} |` +
        ` ${fmt(l.queueMs).padStart(16)} ${fmt(l.inferMs).padStart(13)} ${fmt(l.batch, 2).padStart(11)}`,
    );
  }
  console.log(`  throughput@${top} ÷ raw FPS       = ${fmt(summary.throughputRatio, 3)} (goal ≥ 0.85: ${mark(summary.throughputRatio >= 0.85)}; runs ${summary.throughputRatios.map((x) => fmt(x, 3)).join(', ')})`);
  console.log(`  p99@${bottom} ÷ single-image latency = ${fmt(summary.latencyRatio, 3)} (goal ≤ 1.5: ${mark(summary.latencyRatio <= 1.5)}; runs ${summary.latencyRatios.map((x) => fmt(x, 3)).join(', ')})`);
  console.log(`    context: single p99 ÷ single median = ${fmt(summary.singleTailRatio, 3)} (predict's own tail on this machine); p99@${bottom} ÷ single p99 = ${fmt(summary.tailToTailRatio, 3)}`);
  const errors = summary.levels.reduce((s, l) => s + l.errors, 0);
  console.log(`  errors (non-2xx, socket errors, timeouts) = ${errors} (goal 0: ${mark(errors === 0)})`);
  if (soak) {
    console.log(
      `  soak ${fmt(soak.seconds, 0)} s at concurrency 4: ${fmt(soak.rps)} req/s, ${soak.errors} errors; RSS first ${fmt(soak.firstMb)} MB, last ${fmt(soak.lastMb)} MB, max ${fmt(soak.maxMb)} MB, slope ${fmt(soak.slopeMbPerMin, 2)} MB/min (second half ${fmt(soak.secondHalfSlopeMbPerMin, 2)} MB/min)`,
    );
  }
}
