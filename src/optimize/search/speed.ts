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

/** Model-only, batch 1, one stream of `threads` intra-op threads per side. */
export async function compareModelOnly(baseline: Side, candidate: Side, image: Uint8Array, threads: number, o: SpeedOptions): Promise<ModelOnlySpeed> {
  // No spinning: the idle side's threads would otherwise busy-wait through the other's slice.
  const base = await ModelOnlyRunner.start(baseline.model, { threads, spinning: false }, 1);
  let cand: ModelOnlyRunner | null = null;
  try {
    cand = await ModelOnlyRunner.start(candidate.model, { threads, spinning: false }, 1);
    await base.prepare(1, image, baseline.profile);
    await cand.prepare(1, image, candidate.profile);
    const rounds = Math.max(1, Math.ceil(o.durationMs / o.sliceMs));
    const ratios: number[] = [];
    const fps: number[] = [];
    const baseFps: number[] = [];
    const latencies: number[] = [];
    for (let run = 0; run < o.runs; run++) {
      base.reset();
      cand.reset();
      for (let r = 0; r < rounds; r++) {
        // alternate which side goes first, so neither always follows the other
        const order = r % 2 === 0 ? [base, cand] : [cand, base];
        for (const side of order) await side.slice(o.durationMs / rounds, 1);
      }
      const b = base.acc.get(1)!;
      const c = cand.acc.get(1)!;
      const bf = (b.calls * 1000) / b.ms;
      const cf = (c.calls * 1000) / c.ms;
      baseFps.push(bf);
      fps.push(cf);
      ratios.push(cf / bf);
      latencies.push(...c.latencies);
    }
    return { threads, fps: median(fps), baselineFps: median(baseFps), speedup: median(ratios), perRun: ratios, latencyMs: summarizeLatencies(latencies).p50Ms };
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
    const rounds = Math.max(1, Math.ceil(o.durationMs / o.sliceMs));
    const ratios: number[] = [];
    const fps: number[] = [];
    const baseFps: number[] = [];
    for (let run = 0; run < o.runs; run++) {
      base.reset();
      cand.reset();
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [base, cand] : [cand, base];
        for (const side of order) await side.slice(o.durationMs / rounds);
      }
      const bf = (base.acc.images * 1000) / base.acc.ms;
      const cf = (cand.acc.images * 1000) / cand.acc.ms;
      baseFps.push(bf);
      fps.push(cf);
      ratios.push(cf / bf);
    }
    return { fps: median(fps), baselineFps: median(baseFps), speedup: median(ratios) };
  } finally {
    await cand?.close();
    await base.close();
  }
}
