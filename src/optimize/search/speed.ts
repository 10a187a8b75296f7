/**
 * Speed of a candidate against the original, measured with the engines `tearless bench` uses
 * (ModelOnlyRunner: `session.run` on a real pre-processed image in the Detector's worker
 * sessions; EndToEndRunner: image bytes → boxes through the Detector), in alternating short
 * slices so both see the same machine: this VM's speed drifts by 2× within seconds, so only
 * ratios measured side by side mean anything. Median over runs.
 */
import type { ModelProfile } from '../../core/types.js';
import { EndToEndRunner } from '../../bench/end-to-end.js';
import { ModelOnlyRunner } from '../../bench/model-only.js';
import { median, summarizeLatencies } from '../../bench/stats.js';

export interface SpeedOptions {
  runs: number;
  /** Measured time per model per run, ms. */
  durationMs: number;
  sliceMs: number;
}

export interface ModelOnlySpeed {
  threads: number;
  /** Candidate images/s (median of runs). */
  fps: number;
  baselineFps: number;
  /** Median of the per-run ratios candidate ÷ baseline. */
  speedup: number;
  perRun: number[];
  /** Candidate's median `run` latency (ms). */
  latencyMs: number;
}

interface Side {
  model: string;
  profile: ModelProfile;
}

/** One side of a side-by-side measurement. */
interface Timed {
  reset(): void;
  slice(ms: number): Promise<void>;
  /** Images/s over the slices since the last reset. */
  fps(): number;
  /** Latencies (ms) of the calls since the last reset, when the side records them. */
  latencies?(): readonly number[];
}

/**
 * `runs` runs of alternating slices (which side goes first alternates too, so neither always
 * follows the other); per run, both sides' images/s and their ratio.
 */
async function sideBySide(base: Timed, cand: Timed, o: SpeedOptions): Promise<{ baseFps: number[]; fps: number[]; ratios: number[]; latencies: number[] }> {
  const rounds = Math.max(1, Math.ceil(o.durationMs / o.sliceMs));
  const out = { baseFps: [] as number[], fps: [] as number[], ratios: [] as number[], latencies: [] as number[] };
  for (let run = 0; run < o.runs; run++) {
    base.reset();
    cand.reset();
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? [base, cand] : [cand, base]) await side.slice(o.durationMs / rounds);
    }
    const bf = base.fps();
    const cf = cand.fps();
    out.baseFps.push(bf);
    out.fps.push(cf);
    out.ratios.push(cf / bf);
    out.latencies.push(...(cand.latencies?.() ?? []));
  }
  return out;
}

const modelOnlySide = (r: ModelOnlyRunner): Timed => ({
  reset: () => r.reset(),
  slice: (ms) => r.slice(ms, 1),
  fps: () => (r.acc.get(1)!.calls * 1000) / r.acc.get(1)!.ms,
  latencies: () => r.acc.get(1)!.latencies,
});

const endToEndSide = (r: EndToEndRunner): Timed => ({
  reset: () => r.reset(),
  slice: (ms) => r.slice(ms),
  fps: () => (r.acc.images * 1000) / r.acc.ms,
});

/** Model-only, batch 1, one stream of `threads` intra-op threads per side. */
export async function compareModelOnly(baseline: Side, candidate: Side, image: Uint8Array, threads: number, o: SpeedOptions): Promise<ModelOnlySpeed> {
  // No spinning: the idle side's threads would otherwise busy-wait through the other's slice.
  const base = await ModelOnlyRunner.start(baseline.model, { threads, spinning: false }, 1);
  let cand: ModelOnlyRunner | null = null;
  try {
    cand = await ModelOnlyRunner.start(candidate.model, { threads, spinning: false }, 1);
    await base.prepare(1, image, baseline.profile);
    await cand.prepare(1, image, candidate.profile);
    const s = await sideBySide(modelOnlySide(base), modelOnlySide(cand), o);
    return { threads, fps: median(s.fps), baselineFps: median(s.baseFps), speedup: median(s.ratios), perRun: s.ratios, latencyMs: summarizeLatencies(s.latencies).p50Ms };
  } finally {
    await cand?.close();
    await base.close();
  }
}

export interface EndToEndSpeed {
  fps: number;
  baselineFps: number;
  speedup: number;
}

/** End-to-end as `predict` runs many images: one single-threaded stream per core. */
export async function compareEndToEnd(baseline: string, candidate: string, images: readonly Uint8Array[], cores: number, o: SpeedOptions): Promise<EndToEndSpeed> {
  const cfg = { threads: 1, streams: cores, spinning: false };
  const base = await EndToEndRunner.start(baseline, cfg, images);
  let cand: EndToEndRunner | null = null;
  try {
    cand = await EndToEndRunner.start(candidate, cfg, images);
    await base.warmup();
    await cand.warmup();
    const s = await sideBySide(endToEndSide(base), endToEndSide(cand), o);
    return { fps: median(s.fps), baselineFps: median(s.baseFps), speedup: median(s.ratios) };
  } finally {
    await cand?.close();
    await base.close();
  }
}
