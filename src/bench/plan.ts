/**
 * Which configurations to measure: threads × streams pairs from the flags, and per model the
 * batch sizes its input shape allows. Each model is loaded once up front, so a model that
 * cannot load fails in seconds with its TearlessError, not after minutes of measuring others.
 */
import { Detector } from '../pipeline/detector.js';
import type { GroupConfig } from './measure.js';
import { batchUnsupportedReason } from './model-only.js';
import type { SkippedConfig } from './types.js';

/** A threads × streams pair (threads are intra-op threads per stream). */
export interface Parallelism {
  threads: number;
  streams: number;
}

/**
 * Pairs to measure. Neither list: one stream on all cores (lowest latency) and one
 * single-threaded stream per core (what `predict` picks for throughput). Only streams: the
 * cores split between them, as `Detector.load` does. Only threads: one stream. Both: every pair.
 */
export function parallelismPairs(threads: readonly number[] | undefined, streams: readonly number[] | undefined, cores: number): Parallelism[] {
  let pairs: Parallelism[];
  if (!threads && !streams) pairs = cores > 1 ? [{ threads: cores, streams: 1 }, { threads: 1, streams: cores }] : [{ threads: 1, streams: 1 }];
  else if (!threads) pairs = streams!.map((s) => ({ threads: Math.max(1, Math.floor(cores / s)), streams: s }));
  else if (!streams) pairs = threads.map((t) => ({ threads: t, streams: 1 }));
  else pairs = threads.flatMap((t) => streams.map((s) => ({ threads: t, streams: s })));
  const seen = new Set<string>();
  return pairs.filter((p) => {
    const key = `${p.threads}x${p.streams}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface PlanInput {
  models: readonly string[];
  pairs: readonly Parallelism[];
  batches: readonly number[];
  spinning: boolean;
}

export interface BenchPlan {
  groups: GroupConfig[];
  skipped: SkippedConfig[];
}

/** Load each model once (1 stream, 1 thread, no warm-up) to validate it and read its input shape. */
export async function planBench(input: PlanInput): Promise<BenchPlan> {
  const groups: GroupConfig[] = [];
  const skipped: SkippedConfig[] = [];
  for (const model of input.models) {
    const probe = await Detector.load(model, { streams: 1, threads: 1, warmup: false });
    const reason = batchUnsupportedReason(probe.info, probe.profile);
    await probe.close();
    const batches = input.batches.filter((b) => b === 1 || reason === null);
    for (const pair of input.pairs) {
      for (const b of input.batches) if (!batches.includes(b)) skipped.push({ model, ...pair, batch: b, reason: reason! });
      if (batches.length) groups.push({ model, ...pair, spinning: input.spinning, batches });
    }
  }
  return { groups, skipped };
}
