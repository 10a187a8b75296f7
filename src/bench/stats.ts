/**
 * Small, dependency-free statistics for the benchmark: percentiles, medians, histograms.
 * Kept separate so the maths is unit-tested on known arrays, not trusted from a report.
 */

/**
 * The `q`-th percentile (0–100) of `values` by linear interpolation between the two closest
 * ranks (NumPy's default `method="linear"`, R type 7): p50 of [1, 2, 3, 4] is 2.5, p100 is the
 * maximum. Returns NaN for an empty array. Does not modify `values`.
 */
export function percentile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must be within [0, 100], got ${q}`);
  if (values.length === 0) return NaN;
  return percentileSorted([...values].sort((a, b) => a - b), q);
}

/** {@link percentile} on an array already sorted ascending (avoids re-sorting per quantile). */
export function percentileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median (the 50th percentile, so the mean of the middle two for even lengths). NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Arithmetic mean; NaN when empty. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Largest value; NaN when empty (no spread operator: latency arrays can be long). */
export function max(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** Latency percentiles of one measurement, in milliseconds. */
export interface LatencySummary {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Number of samples the percentiles come from. */
  count: number;
}

/** p50/p90/p99/max of a set of latencies (ms). All NaN (count 0) when there are none. */
export function summarizeLatencies(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50Ms: percentileSorted(sorted, 50),
    p90Ms: percentileSorted(sorted, 90),
    p99Ms: percentileSorted(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    count: sorted.length,
  };
}

/** A fixed-width histogram: bin `i` covers [startMs + i·binMs, startMs + (i+1)·binMs). */
export interface Histogram {
  startMs: number;
  binMs: number;
  counts: number[];
}

/**
 * Histogram of `values` with about `bins` equal-width bins on "nice" edges (1, 2, 2.5 or 5 ×
 * 10ⁿ ms) so chart axes read well. The last bin is closed: the maximum always lands in it.
 * The range stops at the 99.9th percentile so a single multi-second stall does not squash
 * every other bar into one; values above it are counted in the last bin (`clippedAbove`).
 */
export function histogram(values: readonly number[], bins = 24): Histogram & { clippedAbove: number } {
  if (values.length === 0) return { startMs: 0, binMs: 1, counts: [], clippedAbove: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const lo = sorted[0];
  const hi = Math.max(percentileSorted(sorted, 99.9), lo);
  const binMs = niceStep((hi - lo) / Math.max(1, bins) || Math.max(Math.abs(lo) * 0.01, 1e-3));
  // toPrecision: 0.1 × 3 is 0.30000000000000004, and these numbers end up in JSON and axis labels.
  const startMs = Number((Math.floor(lo / binMs) * binMs).toPrecision(12));
  const n = Math.max(1, Math.floor((hi - startMs) / binMs) + 1);
  const counts = new Array<number>(n).fill(0);
  let clippedAbove = 0;
  for (const v of sorted) {
    let i = Math.floor((v - startMs) / binMs);
    if (i >= n) {
      i = n - 1;
      if (v > hi) clippedAbove++;
    }
    counts[i]++;
  }
  return { startMs, binMs, counts, clippedAbove };
}

/** The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ `raw` (raw > 0). */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= raw * (1 - 1e-12)) return Number((m * base).toPrecision(12));
  return 10 * base;
}

/** Round for JSON output; keeps NaN/±Infinity out of JSON (they become null). */
export function round(value: number, digits: number): number | null {
  if (!Number.isFinite(value)) return null;
  return Number(value.toFixed(digits));
}
