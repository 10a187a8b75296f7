/**
 * `npm run bench`: end-to-end throughput of the detection pipeline against the raw model, in
 * one run, on the same model and thread budget.
 *
 *  - raw:        `session.run` on a fixed, pre-built tensor, back to back (the model's ceiling);
 *  - end-to-end: encoded JPEG bytes → decode → preprocess → infer → postprocess → detections,
 *                through `Detector.detect` (what `predict` and the server use), with several
 *                images in flight;
 *  - ratio:      end-to-end images/s ÷ raw FPS. Each figure is the median of --runs runs.
 *
 *   npm run bench -- [--model m.onnx] [--threads 2] [--duration 5] [--runs 3] [--images dir]
 *                    [--configs 1x2,2x1]   (streams x threads per stream)
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { Detector } from '../src/pipeline/detector.js';
import type { StageTimings } from '../src/pipeline/detector.js';
import { BUNDLED_MODEL_PATH } from '../src/pipeline/model-source.js';
import { availableCores } from '../src/runtime/node/onnx-backend.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string' },
    duration: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    images: { type: 'string' },
    configs: { type: 'string' },
    inflight: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const modelPath = args.model ?? BUNDLED_MODEL_PATH;
const threads = Number(args.threads ?? availableCores());
const durationMs = Number(args.duration) * 1000;
const runs = Number(args.runs);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const imagesDir = args.images ?? [path.resolve(root, '../shared/data/coco/val2017'), path.join(root, 'test/fixtures/images')].find(existsSync)!;
const images = readdirSync(imagesDir).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => readFileSync(path.join(imagesDir, f)));
// streams × threads-per-stream splits of the same core budget.
const configs = (args.configs ?? [`1x${threads}`, ...(threads > 1 ? [`${threads}x1`] : [])].join(','))
  .split(',')
  .map((c) => c.split('x').map(Number) as [number, number]);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rawFps(): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const meta = session.inputMetadata[0] as unknown as { name: string; shape: (number | string)[] };
  const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const feeds = { [meta.name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(114), dims) };
  for (let i = 0; i < 10; i++) await session.run(feeds);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < durationMs) {
    await session.run(feeds);
    n++;
  }
  const fps = (n * 1000) / (performance.now() - t0);
  await session.release();
  return fps;
}

interface E2E { fps: number; stages: StageTimings; p50: number; p99: number }

async function endToEnd(streams: number, threadsPerStream: number): Promise<E2E> {
  const det = await Detector.load(modelPath, { streams, threads: threadsPerStream });
  const inflight = Number(args.inflight ?? streams + 2);
  const sums: StageTimings = { decodeMs: 0, preprocessMs: 0, queueMs: 0, inferMs: 0, postprocessMs: 0 };
  const latencies: number[] = [];
  let done = 0;
  let next = 0;
  // Warm up every stream and the JIT on real images first.
  await Promise.all(images.slice(0, 8).map((b) => det.detect(b)));
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const bytes = images[next++ % images.length];
      const s = performance.now();
      const r = await det.detect(bytes);
      latencies.push(performance.now() - s);
      for (const k of Object.keys(sums) as (keyof StageTimings)[]) sums[k] += r.timings[k];
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const elapsed = performance.now() - t0;
  await det.close();
  for (const k of Object.keys(sums) as (keyof StageTimings)[]) sums[k] /= done;
  latencies.sort((a, b) => a - b);
  return { fps: (done * 1000) / elapsed, stages: sums, p50: latencies[Math.floor(done * 0.5)], p99: latencies[Math.floor(done * 0.99)] };
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`model ${path.basename(modelPath)} | ${cpu} | ${availableCores()} cores available | onnxruntime-node ${ort.env.versions.node ?? ''} | sharp ${sharp.versions.sharp}`);
console.log(`${images.length} JPEG images from ${imagesDir}; ${runs} runs × ${durationMs / 1000} s; thread budget ${threads}`);

const results: { config: string; raw: number; e2e: E2E; ratio: number }[] = [];
for (const [streams, tps] of configs) {
  const raws: number[] = [];
  const e2es: E2E[] = [];
  // Interleave raw and end-to-end runs so both see the same machine conditions.
  for (let r = 0; r < runs; r++) {
    raws.push(await rawFps());
    e2es.push(await endToEnd(streams, tps));
  }
  const raw = median(raws);
  const e2e = [...e2es].sort((a, b) => a.fps - b.fps)[Math.floor(e2es.length / 2)];
  const ratio = median(e2es.map((e, i) => e.fps / raws[i]));
  results.push({ config: `${streams}x${tps}`, raw, e2e, ratio });
  const s = e2e.stages;
  console.log(
    `streams×threads ${streams}×${tps}: raw ${raw.toFixed(1)} FPS (${threads} threads) | end-to-end ${e2e.fps.toFixed(1)} img/s, p50 ${e2e.p50.toFixed(1)} ms, p99 ${e2e.p99.toFixed(1)} ms | ratio ${ratio.toFixed(3)} (runs: ${e2es.map((e, i) => (e.fps / raws[i]).toFixed(3)).join(', ')})`,
  );
  console.log(`   per image: decode ${s.decodeMs.toFixed(2)} ms, preprocess ${s.preprocessMs.toFixed(2)} ms, queue ${s.queueMs.toFixed(2)} ms, infer ${s.inferMs.toFixed(2)} ms, postprocess ${s.postprocessMs.toFixed(2)} ms`);
}
if (args.json) console.log(JSON.stringify({ model: modelPath, threads, results }, null, 2));
