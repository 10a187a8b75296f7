/**
 * Result shapes of `tearless bench`. These are the `--json` output: the documented fields come
 * first; the extra fields (per-run values, histograms, settings) are there for charts and for
 * anyone who wants to check the medians.
 */
import type { MachineFingerprint } from './fingerprint.js';
import type { Histogram } from './stats.js';

/** `session.run` on a fixed tensor, in worker threads like the Detector's streams. */
export interface ModelOnlyResult {
  /** Images per second (batch × runs per second), median over runs. */
  fps: number;
  /** Latency of one `run` call (the whole batch), median over runs of each run's percentile. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Worst single call seen in any run. */
  maxMs: number;
  /** Images per second of each run. */
  fpsRuns: number[];
}

/** Mean wall time per image in each Detector stage (stages overlap across images in flight). */
export interface StageMeansMs {
  decode: number;
  preprocess: number;
  infer: number;
  postprocess: number;
  /** Waiting for a free inference stream. */
  queue: number;
}

/** Encoded bytes → detections through `Detector.detect`, `streams + 2` images in flight, batch 1. */
export interface EndToEndResult {
  fps: number;
  /** Latency of one `detect` call, including the wait for a stream (what a caller sees under load). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  stagesMs: StageMeansMs;
  fpsRuns: number[];
  /** Latencies of all runs pooled. */
  histogram: Histogram & { clippedAbove: number };
}

/** One configuration (model × threads × streams × batch). */
export interface BenchResult {
  model: string;
  threads: number;
  streams: number;
  /** Model-only batch size; end-to-end always runs batch 1. */
  batch: number;
  modelOnly: ModelOnlyResult;
  endToEnd: EndToEndResult;
  /** endToEnd.fps ÷ modelOnly.fps (of the medians). */
  ratio: number;
  /** `Detector.load` + first `detect`, median over runs (ms). */
  coldStartMs: number;
  /** Peak resident memory of the bench process during the configuration (MB). */
  rssMb: number;
  spinning: boolean;
  /** The same-window ratio of each run (robust to the machine's speed drifting between runs). */
  ratioRuns: number[];
  coldStartRunsMs: number[];
  /** Images the end-to-end measurement completed, all runs together. */
  endToEndImages: number;
  /** `session.run` calls the model-only measurement completed, all runs together. */
  modelOnlyCalls: number;
}

/** A requested configuration that was not measured, and why. */
export interface SkippedConfig {
  model: string;
  threads: number;
  streams: number;
  batch: number;
  reason: string;
}

/** How the numbers were taken. */
export interface BenchSettings {
  durationS: number;
  runs: number;
  sliceMs: number;
  images: number;
  imagesFrom: string;
  note: string;
}

/** The `--json` object of the model benchmark. */
export interface BenchReport {
  machine: MachineFingerprint;
  results: BenchResult[];
  skipped: SkippedConfig[];
  settings: BenchSettings;
}

/** One concurrency level of `--url` load mode. */
export interface LoadResult {
  concurrency: number;
  /** Successful (2xx) responses per second. */
  rps: number;
  /** Latency of successful requests, request start → body read (ms); null when none succeeded. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Failed requests by HTTP status ("503"), or "timeout" / "network". */
  errors: Record<string, number>;
  requests: number;
  ok: number;
  durationS: number;
  histogram: Histogram & { clippedAbove: number };
}

/** The `--json` object of load mode. */
export interface LoadReport {
  machine: MachineFingerprint;
  url: string;
  results: LoadResult[];
  settings: { durationS: number; images: number; imagesFrom: string; timeoutS: number };
}
