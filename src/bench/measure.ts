/**
 * One configuration group (model × threads × streams, all its batch sizes), measured the way
 * bench/pipeline.bench.ts established on this shared VM, whose speed drifts by 2× within
 * seconds: model-only and end-to-end are both loaded, then measured in alternating short
 * slices, so each run compares them over the same wall-clock window. The whole thing is
 * repeated `runs` times with fresh sessions and the medians are reported.
 */
import { EndToEndRunner } from './end-to-end.js';
import { ModelOnlyRunner } from './model-only.js';
import { histogram, max, median, round, summarizeLatencies, type LatencySummary } from './stats.js';
import type { BenchResult, SkippedConfig, StageMeansMs } from './types.js';

/** One group: the sessions are shared by its batch sizes (end-to-end is batch 1 throughout). */
export interface GroupConfig {
  model: string;
  threads: number;
  streams: number;
  spinning: boolean;
  /** Model-only batch sizes, all supported by the model's input shape. */
  batches: number[];
}

export interface MeasureOptions {
  /** Measured time of each measurement (model-only per batch, end-to-end) per run, ms. */
  durationMs: number;
  runs: number;
  /** Length of one alternating slice, ms. */
  sliceMs: number;
  images: readonly Uint8Array[];
  /** Called after each slice (and with the slices a dropped batch size will not run). */
  onProgress?: (slices: number) => void;
}

export interface GroupOutcome {
  results: BenchResult[];
  skipped: SkippedConfig[];
}

/** Slices per run for one measurement: the duration split evenly, no slice longer than sliceMs. */
export function slicesPerRun(durationMs: number, sliceMs: number): number {
  return Math.max(1, Math.ceil(durationMs / sliceMs - 1e-9));
}

/** Total slices a group takes (for the progress bar). */
export function groupSlices(g: GroupConfig, o: Pick<MeasureOptions, 'durationMs' | 'sliceMs' | 'runs'>): number {
  return o.runs * slicesPerRun(o.durationMs, o.sliceMs) * (g.batches.length + 1);
}

interface RunSample {
  moFps: Map<number, number>;
  moLatency: Map<number, LatencySummary>;
  moCalls: Map<number, number>;
  e2eFps: number;
  e2eLatency: LatencySummary;
  e2eLatencies: number[];
  e2eImages: number;
  stages: StageMeansMs;
  coldStartMs: number;
}

/** Peak `process.memoryUsage.rss()` while started; sampled every 50 ms and on demand. */
class RssPeak {
  peak = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), 50).unref();
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Measure one group; returns one result per batch size that ran, and the ones that could not. */
export async function measureGroup(g: GroupConfig, o: MeasureOptions): Promise<GroupOutcome> {
  const rounds = slicesPerRun(o.durationMs, o.sliceMs);
  const sliceMs = o.durationMs / rounds;
  let batches = [...g.batches];
  const skipped: SkippedConfig[] = [];
  const samples: RunSample[] = [];
  const rss = new RssPeak();
  try {
    for (let run = 0; run < o.runs; run++) {
      // End-to-end first, alone: its cold start must not compete with the model-only sessions loading.
      const e2e = await EndToEndRunner.start(g.model, g, o.images);
      let mo: ModelOnlyRunner | null = null;
      try {
        mo = await ModelOnlyRunner.start(g.model, { threads: g.threads, spinning: g.spinning }, g.streams);
        for (const batch of [...batches]) {
          try {
            await mo.prepare(batch, o.images[0], e2e.detector.profile);
          } catch (err) {
            // A symbolic batch dimension does not promise the graph works at that size.
            if (batch === 1) throw err;
            batches = batches.filter((b) => b !== batch);
            skipped.push({ model: g.model, threads: g.threads, streams: g.streams, batch, reason: `onnxruntime cannot run batch ${batch}: ${(err as Error).message}` });
            o.onProgress?.((o.runs - run) * rounds);
          }
        }
        await e2e.warmup();
        for (let r = 0; r < rounds; r++) {
          for (const batch of batches) {
            await mo.slice(sliceMs, batch);
            rss.sample();
            o.onProgress?.(1);
          }
          await e2e.slice(sliceMs);
          rss.sample();
          o.onProgress?.(1);
        }
        samples.push(sample(mo, e2e, batches));
      } finally {
        await mo?.close();
        await e2e.close();
      }
    }
  } finally {
    rss.stop();
  }
  const rssMb = rss.peak / 2 ** 20;
  return { results: batches.map((batch) => summarize(g, batch, samples, rssMb)), skipped };
}

function sample(mo: ModelOnlyRunner, e2e: EndToEndRunner, batches: number[]): RunSample {
  const s: RunSample = {
    moFps: new Map(),
    moLatency: new Map(),
    moCalls: new Map(),
    e2eFps: (e2e.acc.images * 1000) / e2e.acc.ms,
    e2eLatency: summarizeLatencies(e2e.acc.latencies),
    e2eLatencies: e2e.acc.latencies,
    e2eImages: e2e.acc.images,
    stages: stageMeans(e2e),
    coldStartMs: e2e.coldStartMs,
  };
  for (const batch of batches) {
    const a = mo.acc.get(batch)!;
    s.moFps.set(batch, (a.calls * batch * 1000) / a.ms);
    s.moLatency.set(batch, summarizeLatencies(a.latencies));
    s.moCalls.set(batch, a.calls);
  }
  return s;
}

function stageMeans(e2e: EndToEndRunner): StageMeansMs {
  const { sums, images } = e2e.acc;
  const n = Math.max(1, images);
  return { decode: sums.decodeMs / n, preprocess: sums.preprocessMs / n, infer: sums.inferMs / n, postprocess: sums.postprocessMs / n, queue: sums.queueMs / n };
}

const r2 = (v: number): number => round(v, 2) ?? NaN;
const r3 = (v: number): number => round(v, 3) ?? NaN;

/** Medians over runs; max latency is the worst of any run. */
function summarize(g: GroupConfig, batch: number, samples: RunSample[], rssMb: number): BenchResult {
  const moFps = samples.map((s) => s.moFps.get(batch)!);
  const moLat = samples.map((s) => s.moLatency.get(batch)!);
  const e2eFps = samples.map((s) => s.e2eFps);
  const e2eLat = samples.map((s) => s.e2eLatency);
  const stage = (k: keyof StageMeansMs): number => r3(median(samples.map((s) => s.stages[k])));
  const moMedian = median(moFps);
  const e2eMedian = median(e2eFps);
  return {
    model: g.model,
    threads: g.threads,
    streams: g.streams,
    batch,
    modelOnly: {
      fps: r2(moMedian),
      p50Ms: r3(median(moLat.map((l) => l.p50Ms))),
      p90Ms: r3(median(moLat.map((l) => l.p90Ms))),
      p99Ms: r3(median(moLat.map((l) => l.p99Ms))),
      maxMs: r3(max(moLat.map((l) => l.maxMs))),
      fpsRuns: moFps.map(r2),
    },
    endToEnd: {
      fps: r2(e2eMedian),
      p50Ms: r3(median(e2eLat.map((l) => l.p50Ms))),
      p90Ms: r3(median(e2eLat.map((l) => l.p90Ms))),
      p99Ms: r3(median(e2eLat.map((l) => l.p99Ms))),
      maxMs: r3(max(e2eLat.map((l) => l.maxMs))),
      stagesMs: { decode: stage('decode'), preprocess: stage('preprocess'), infer: stage('infer'), postprocess: stage('postprocess'), queue: stage('queue') },
      fpsRuns: e2eFps.map(r2),
      histogram: histogram(samples.flatMap((s) => s.e2eLatencies)),
    },
    ratio: round(e2eMedian / moMedian, 4) ?? NaN,
    coldStartMs: r2(median(samples.map((s) => s.coldStartMs))),
    rssMb: r2(rssMb),
    spinning: g.spinning,
    ratioRuns: samples.map((s, i) => round(e2eFps[i] / moFps[i], 4) ?? NaN),
    coldStartRunsMs: samples.map((s) => r2(s.coldStartMs)),
    endToEndImages: samples.reduce((a, s) => a + s.e2eImages, 0),
    modelOnlyCalls: samples.reduce((a, s) => a + s.moCalls.get(batch)!, 0),
  };
}
