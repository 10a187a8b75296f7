/**
 * `npm run bench`: end-to-end throughput of the detection pipeline against the raw model, in
 * one run, on the same model and core budget.
 *
 *  - raw:        `session.run` on a fixed, pre-built tensor, back to back, with all the cores
 *                as intra-op threads (the model's ceiling on this machine);
 *  - end-to-end: encoded JPEG bytes → decode → preprocess → infer → postprocess → detections,
 *                through `Detector.detect` (what `predict` uses), several images in flight;
 *  - ratio:      end-to-end images/s ÷ raw FPS.
 *
 * This machine is shared and its speed drifts by 2× within seconds, so raw and end-to-end are
 * measured in alternating short slices (--slice ms each, both loaded once) and each run's
 * ratio compares totals over the same wall-clock window. The reported ratio is the median of
 * --runs runs.
 *
 *   npm run bench -- [--model m.onnx] [--duration 6] [--runs 3] [--slice 500] [--images dir]
 *                    [--configs 1x2,2x1,1x2-nospin]   (streams x threads per stream)
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
// The built package, as users run it (`npm run bench` builds first).
import { BUNDLED_MODEL_PATH, availableCores } from '../dist/index.js';
import { EndToEndRunner, RawSessionRunner } from '../dist/bench/index.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string' },
    duration: { type: 'string', default: '6' },
    runs: { type: 'string', default: '3' },
    slice: { type: 'string', default: '500' },
    images: { type: 'string' },
    configs: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const modelPath = args.model ?? BUNDLED_MODEL_PATH;
const cores = Number(args.threads ?? availableCores());
const durationMs = Number(args.duration) * 1000;
const sliceMs = Number(args.slice);
const runs = Number(args.runs);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const imagesDir = args.images ?? [path.resolve(root, '../shared/data/coco/val2017'), path.join(root, 'test/fixtures/images')].find(existsSync)!;
const images = readdirSync(imagesDir).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => readFileSync(path.join(imagesDir, f)));

interface Config { label: string; streams: number; threads: number; spinning: boolean }
const configs: Config[] = (args.configs ?? [`1x${cores}`, ...(cores > 1 ? [`${cores}x1`] : [])].join(','))
  .split(',')
  .map((c) => {
    const m = /^(\d+)x(\d+)(-nospin)?$/.exec(c.trim());
    if (!m) throw new Error(`bad config "${c}" (expected e.g. 2x1 or 1x2-nospin)`);
    return { label: c.trim(), streams: Number(m[1]), threads: Number(m[2]), spinning: !m[3] };
  });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`model ${path.basename(modelPath)} | ${cpu} | ${availableCores()} cores available | onnxruntime-node ${ort.env.versions.node ?? '?'} | sharp ${sharp.versions.sharp}`);
console.log(`${images.length} JPEG images from ${imagesDir}; ${runs} runs × ${durationMs / 1000} s, raw and end-to-end alternating in ${sliceMs} ms slices; raw uses ${cores} threads`);

const report: unknown[] = [];
for (const c of configs) {
  const ratios: number[] = [];
  const raws: number[] = [];
  const e2es: number[] = [];
  let last: EndToEndRunner | null = null;
  for (let r = 0; r < runs; r++) {
    const raw = await RawSessionRunner.start(modelPath, cores);
    const e2e = await EndToEndRunner.start(modelPath, { streams: c.streams, threads: c.threads, spinning: c.spinning }, images);
    await e2e.warmup();
    for (let t = 0; t < durationMs / 2; t += sliceMs) {
      await raw.slice(sliceMs);
      await e2e.slice(sliceMs);
    }
    await raw.close();
    await e2e.close();
    const rawFps = (raw.count * 1000) / raw.ms;
    const e2eFps = (e2e.acc.images * 1000) / e2e.acc.ms;
    raws.push(rawFps);
    e2es.push(e2eFps);
    ratios.push(e2eFps / rawFps);
    last = e2e;
  }
  const s = last!.acc.sums;
  const n = last!.acc.images;
  const lat = last!.acc.latencies.sort((a, b) => a - b);
  const ratio = median(ratios);
  report.push({ config: c.label, rawFps: median(raws), endToEndFps: median(e2es), ratio, ratios });
  console.log(
    `${c.label.padEnd(10)} raw ${median(raws).toFixed(1)} FPS | end-to-end ${median(e2es).toFixed(1)} img/s (p50 ${lat[Math.floor(lat.length / 2)].toFixed(1)} ms, p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(1)} ms) | ratio ${ratio.toFixed(3)} (runs ${ratios.map((x) => x.toFixed(3)).join(', ')})`,
  );
  console.log(`${''.padEnd(10)} per image (wall, overlapped): decode ${(s.decodeMs / n).toFixed(2)} ms, preprocess ${(s.preprocessMs / n).toFixed(2)} ms, queue ${(s.queueMs / n).toFixed(2)} ms, infer ${(s.inferMs / n).toFixed(2)} ms, postprocess ${(s.postprocessMs / n).toFixed(2)} ms`);
}
if (args.json) console.log(JSON.stringify({ model: modelPath, cores, results: report }, null, 2));
