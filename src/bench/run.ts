/**
 * The model benchmark as a library call: plan the configurations, measure each group, and
 * return the report (`tearless bench` and `npm run bench` both print from it).
 */
import { BUNDLED_MODEL_PATH } from '../pipeline/model-source.js';
import { availableCores } from '../runtime/node/onnx-backend.js';
import { machineFingerprint } from './fingerprint.js';
import { loadBenchImages, type BenchImages } from './images.js';
import { groupSlices, measureGroup, slicesPerRun, type GroupConfig } from './measure.js';
import { parallelismPairs, planBench, type Parallelism } from './plan.js';
import type { BenchReport, BenchResult, SkippedConfig } from './types.js';

export interface BenchOptions {
  /** Model paths (default: the bundled YOLOX-nano). */
  models?: string[];
  /** Explicit threads × streams pairs; overrides `threads`/`streams`. */
  pairs?: Parallelism[];
  /** Intra-op threads per stream to sweep. */
  threads?: number[];
  /** Parallel streams to sweep. */
  streams?: number[];
  /** Model-only batch sizes (default [1]). */
  batches?: number[];
  /** Spin-waiting intra-op threads (default true, onnxruntime's and the Detector's default). */
  spinning?: boolean;
  /** Seconds of each measurement per run (default 5). */
  durationS?: number;
  /** Repetitions, medians reported (default 3). */
  runs?: number;
  /** Alternating slice length, ms (default 500). */
  sliceMs?: number;
  /** Image files/folders/globs, or images already loaded. Default: the sample images. */
  images?: string[] | BenchImages;
  /** Progress: total slices once planned, then each completed slice. */
  onPlan?: (totalSlices: number, groups: readonly GroupConfig[]) => void;
  onProgress?: (slices: number, group: GroupConfig) => void;
  /** A group finished (for printing rows as they come). */
  onGroup?: (results: BenchResult[], skipped: SkippedConfig[]) => void;
}

export const BENCH_DEFAULTS = { durationS: 5, runs: 3, sliceMs: 500 } as const;

/** Run the model benchmark. Model load failures surface as the TearlessError of `Detector.load`. */
export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const durationS = opts.durationS ?? BENCH_DEFAULTS.durationS;
  const runs = opts.runs ?? BENCH_DEFAULTS.runs;
  const sliceMs = opts.sliceMs ?? BENCH_DEFAULTS.sliceMs;
  const spinning = opts.spinning ?? true;
  const images = Array.isArray(opts.images) || opts.images === undefined ? await loadBenchImages(opts.images) : opts.images;
  const pairs = opts.pairs ?? parallelismPairs(opts.threads, opts.streams, availableCores());
  const plan = await planBench({ models: opts.models?.length ? opts.models : [BUNDLED_MODEL_PATH], pairs, batches: opts.batches ?? [1], spinning });

  const measure = { durationMs: durationS * 1000, runs, sliceMs, images: images.images.map((i) => i.bytes) };
  opts.onPlan?.(plan.groups.reduce((a, g) => a + groupSlices(g, measure), 0), plan.groups);
  const results: BenchResult[] = [];
  const skipped = [...plan.skipped];
  for (const group of plan.groups) {
    const out = await measureGroup(group, { ...measure, onProgress: (n) => opts.onProgress?.(n, group) });
    results.push(...out.results);
    skipped.push(...out.skipped);
    opts.onGroup?.(out.results, out.skipped);
  }
  const batched = (opts.batches ?? [1]).some((b) => b > 1);
  // What the slices really were: a duration shorter than --slice is one slice of that length.
  const effectiveSliceMs = Math.round(measure.durationMs / slicesPerRun(measure.durationMs, sliceMs));
  return {
    machine: machineFingerprint(),
    results,
    skipped,
    settings: {
      durationS,
      runs,
      sliceMs,
      images: images.images.length,
      imagesFrom: images.from,
      note:
        `model-only and end-to-end alternate in ${effectiveSliceMs} ms slices over the same window; medians of ${runs} run(s)` +
        (batched ? '; end-to-end always runs batch 1 (the batch column is the model-only batch)' : ''),
    },
  };
}
