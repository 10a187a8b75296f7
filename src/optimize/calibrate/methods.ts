/**
 * From activation statistics to a quantization range [min, max] — pure functions:
 *
 * - MinMax: the observed extremes.
 * - Percentile p: the values at quantiles 1 − p/100 and p/100 of the value distribution, read
 *   from the histogram with linear interpolation inside a bin.
 * - Entropy: the TensorRT KL-divergence threshold search (see `entropyRange`).
 *
 * Every range returned contains 0 (zero must be exactly representable: padding, ReLU outputs
 * and zero points depend on it) and is at least `MIN_RANGE_SPAN` wide (see `finishRange`).
 */
import { TearlessError, checkInteger, checkNumber } from '../../core/errors.js';
import type { TensorRange } from '../types.js';
import { TensorHistogram, type TensorStats } from './histogram.js';

/**
 * Smallest width of a returned range. A tensor that was (almost) constantly 0 on every
 * calibration image tells nothing about its scale; any range is then as good as another, so it
 * becomes [min, min + 1e-6]: 0 stays exact (the calibration data is reproduced exactly) and the
 * quantization scale (span / 255 ≈ 4e-9) stays a normal float32 — never 0, which would make
 * QuantizeLinear divide by zero. Larger values met later saturate, as they would with any
 * range fitted to all-zero data.
 */
export const MIN_RANGE_SPAN = 1e-6;

/** Include 0, normalize -0, widen a degenerate range. */
function finishRange(min: number, max: number): TensorRange {
  let lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    // no finite value at all (empty tensor, or only NaN/inf): the degenerate [0, span]
    lo = 0;
    hi = 0;
  }
  if (hi - lo < MIN_RANGE_SPAN) hi = lo + MIN_RANGE_SPAN;
  return { min: lo === 0 ? 0 : lo, max: hi === 0 ? 0 : hi };
}

/** MinMax calibration: the observed extremes, with 0 included. */
export function minMaxRange(min: number, max: number): TensorRange {
  return finishRange(min, max);
}

// ---------------------------------------------------------------------------------------------
// where the pass-2 histogram goes
// ---------------------------------------------------------------------------------------------

/** Share of the values the entropy histogram may leave outside its range (see histogramRange). */
export const ENTROPY_TAIL_FRACTION = 1e-6;

/**
 * The share of values a pass-2 histogram may leave outside its range for these methods:
 * percentile p reads the quantile at tail share 1 − p/100, so a histogram missing at most half
 * of that (on both sides together) still holds it; entropy gets `ENTROPY_TAIL_FRACTION`.
 * 0 = the histogram spans [min, max].
 */
export function histogramTailFraction(methods: { percentile?: number; entropy?: boolean }): number {
  let f = Infinity;
  if (methods.percentile !== undefined) f = Math.min(f, (1 - methods.percentile / 100) / 2);
  if (methods.entropy) f = Math.min(f, ENTROPY_TAIL_FRACTION);
  return Number.isFinite(f) ? Math.max(0, f) : 0;
}

/**
 * The range [lo, hi] of a tensor's pass-2 histogram: [0, max] for a tensor with min ≥ 0,
 * else [min, max] — but cut to [−A, A], where A is where the extreme tail starts: at most
 * `tailFraction` of the values have |x| > A (read from the pass-1 log-scale magnitude
 * histogram, so A overshoots by at most 12.5%). Values beyond go to the histogram's
 * below/above counts.
 *
 * Why: with 2048 bins over [min, max], a single value 1000× larger than the rest leaves the
 * whole distribution in 2 or 3 bins, and percentile / entropy — the methods meant for exactly
 * that case — could only answer to within one bin, (max − min) / 2048. Cutting at A keeps the
 * 2048 bins on the part of the data the answer lies in. The percentile quantile is inside by
 * construction. For entropy, 1e-6 is below what the KL search clips on its own (on 1e6 N(0,1)
 * values it keeps up to 4.3–4.8σ, clipping 2e-6…2e-5 of them); should its optimum lie beyond
 * A, it gets A, having clipped at most 1e-6 of the values. With too few values for the
 * fraction to exclude even one (< 1e6 for entropy) the histogram spans the whole [min, max],
 * which is what TensorRT and onnxruntime always do. Returns null when [min, max] is degenerate
 * (no histogram needed).
 */
export function histogramRange(stats: TensorStats, tailFraction: number): [number, number] | null {
  const { min, max } = stats;
  if (stats.count === 0 || !(max - min >= MIN_RANGE_SPAN)) return null;
  const a = tailFraction > 0 && stats.magnitude ? stats.magnitude.tailEdge(tailFraction) : Infinity;
  const lo = min >= 0 ? 0 : Math.max(min, -a);
  let hi = Math.min(max, a);
  if (!(hi > lo)) hi = lo + MIN_RANGE_SPAN; // cannot happen for consistent stats; never an empty range
  return [lo, hi];
}

// ---------------------------------------------------------------------------------------------
// percentile
// ---------------------------------------------------------------------------------------------

/**
 * The value v with `rank` of the values below it, reading the histogram as a piecewise-linear
 * CDF: the bins, plus the values below `lo` spread over [min, lo] and those above `hi` over
 * [hi, max].
 */
function valueAtRank(h: TensorHistogram, min: number, max: number, rank: number): number {
  const w = h.binWidth;
  const segments = h.bins + 2;
  let cum = 0;
  let lastEnd = min;
  for (let s = 0; s < segments; s++) {
    let a: number;
    let b: number;
    let c: number;
    if (s === 0) [a, b, c] = [Math.min(min, h.lo), h.lo, h.below];
    else if (s === segments - 1) [a, b, c] = [h.hi, Math.max(max, h.hi), h.above];
    else [a, b, c] = [h.lo + (s - 1) * w, h.lo + s * w, h.counts[s - 1]];
    if (c <= 0) continue;
    if (cum + c >= rank) return a + (b - a) * Math.max(0, (rank - cum) / c);
    cum += c;
    lastEnd = b;
  }
  return lastEnd;
}

/**
 * Percentile calibration: [value at quantile 1 − p/100, value at quantile p/100], clamped to
 * the observed [min, max], with 0 included (so the lower end of a non-negative tensor is 0).
 * The answer is exact to within one bin width of `h` (interpolation assumes the values spread
 * evenly inside a bin).
 */
export function percentileRange(h: TensorHistogram, min: number, max: number, percentile: number): TensorRange {
  checkNumber('percentile', percentile, 50, 100);
  const total = h.total;
  if (total === 0) return finishRange(min, max);
  const q = percentile / 100;
  const lower = valueAtRank(h, min, max, (1 - q) * total);
  const upper = valueAtRank(h, min, max, q * total);
  return finishRange(Math.max(min, lower), Math.min(max, upper));
}

// ---------------------------------------------------------------------------------------------
// entropy (KL divergence)
// ---------------------------------------------------------------------------------------------

/** A distribution over [0, width · counts.length) in equal bins, plus the mass beyond. */
export interface MagnitudeDistribution {
  counts: Float64Array;
  width: number;
  overflow: number;
}

/**
 * The distribution of |x| from a histogram of x, without the exact zeros (see
 * `TensorHistogram.zeros`): bins of the same count over [0, A], A = max(|lo|, |hi|). Each
 * source interval — a bin, or the below/above tails spread over [min, lo] and [hi, max] — is
 * mirrored to positive values and spread evenly over the target bins it overlaps; mass past A
 * is overflow. A histogram over [0, hi] with nothing below already is one (only copied).
 */
export function magnitudeDistribution(h: TensorHistogram, min: number, max: number): MagnitudeDistribution {
  const n = h.bins;
  const w = h.binWidth;
  const source = h.counts.slice();
  if (h.zeros > 0 && h.lo <= 0 && h.hi >= 0) {
    const k = Math.min(n - 1, Math.floor(-h.lo / w));
    source[k] = Math.max(0, source[k] - h.zeros);
  }
  if (h.lo === 0 && h.below === 0) return { counts: source, width: w, overflow: h.above };
  const top = Math.max(Math.abs(h.lo), Math.abs(h.hi));
  const width = top / n;
  const counts = new Float64Array(n);
  let overflow = 0;
  // spread mass c evenly over [u, v] (0 ≤ u ≤ v) into the target bins
  const spread = (u: number, v: number, c: number): void => {
    if (c <= 0) return;
    if (v - u <= 1e-12 * top) {
      if (u > top) overflow += c;
      else counts[Math.min(n - 1, Math.floor(u / width))] += c;
      return;
    }
    const density = c / (v - u);
    if (v > top) {
      overflow += density * (v - Math.max(u, top));
      if (u >= top) return;
      v = top;
    }
    const first = Math.floor(u / width);
    const last = Math.min(n - 1, Math.floor(v / width));
    for (let k = first; k <= last; k++) {
      const overlap = Math.min(v, (k + 1) * width) - Math.max(u, k * width);
      // rounding slivers would mark empty bins as non-empty, which the KL search cares about
      if (overlap > 1e-9 * width) counts[k] += density * overlap;
    }
  };
  const spreadSigned = (a: number, b: number, c: number): void => {
    if (c <= 0) return;
    if (b <= 0) spread(-b, -a, c);
    else if (a >= 0) spread(a, b, c);
    else {
      spread(0, -a, (c * -a) / (b - a));
      spread(0, b, (c * b) / (b - a));
    }
  };
  for (let k = 0; k < n; k++) spreadSigned(h.lo + k * w, h.lo + (k + 1) * w, source[k]);
  spreadSigned(Math.min(min, h.lo), h.lo, h.below);
  spreadSigned(h.hi, Math.max(max, h.hi), h.above);
  return { counts, width, overflow };
}

/** KL candidates are first taken every ⌊i / STRIDE_DIVISOR⌋ bins. */
const STRIDE_DIVISOR = 128;

/**
 * The TensorRT entropy calibration search (Migacz, "8-bit Inference with TensorRT", GTC 2017)
 * on a distribution of non-negative values in equal bins: returns the number of bins i to keep,
 * i.e. the clipping threshold i · width. For every candidate i:
 *
 *   P = the bins [0, i), with all the mass beyond (clipped values) added to bin i − 1:
 *       the distribution the quantized tensor should reproduce, outliers saturated;
 *   Q = the same i bins merged into `levels` groups (the quantization levels: group g is bins
 *       [⌊g·i/L⌋, ⌊(g+1)·i/L⌋)) and expanded back, each group's mass spread evenly over its
 *       non-empty bins — what survives quantization. Q is built from the bins WITHOUT the
 *       clipped mass, so clipping a lot costs: P's last bin outgrows Q's;
 *
 * and the answer minimizes KL(P‖Q) = Σ p log(p/q). A small threshold clips (P and Q differ in
 * the last bin), a large one merges many bins per level (Q flattens P's shape); the minimum
 * balances clipping error against rounding error, as a distribution-level proxy for the
 * quantization noise.
 *
 * Candidates run from `levels` bins (with fewer, nothing would be quantized — with a single
 * bin P = Q and KL = 0) to all bins. Differences from the published algorithm and its open
 * implementations (MXNet, onnxruntime's calibrate.py), on purpose: the threshold is the upper
 * edge of the last kept bin (the slides: its centre); groups split the bins proportionally
 * (they put the whole remainder in the last group); the exact zeros are left out by the caller
 * (see `magnitudeDistribution`); a candidate where Q is 0 and P is not has KL = ∞ and is out
 * (they smooth both distributions with an epsilon, which lets them clip a real cluster of
 * values that sits where the quantized distribution has nothing).
 *
 * Cost: prefix sums of counts, of c·log c and of non-empty bins make each candidate O(levels)
 * (one log per group) instead of O(bins). Candidates are taken every ⌊i / 128⌋ bins
 * (thresholds ≤ 0.8% apart; every bin below 256), then bin by bin around the best: ≤ 530
 * candidates instead of ≤ 1921 for 2048 bins, ≈ 1–2 ms per tensor. Where the bins are sparse
 * (a long tail, 0–5 values per bin) KL(i) jumps by ±10% from one bin to the next, so the
 * exhaustive argmin is one of many near-equal local minima; the strided search lands on one of
 * them (test: KL and threshold within 10% of the exhaustive search's).
 */
export function klThresholdBins(counts: Float64Array, overflow: number, levels: number): number {
  const n = counts.length;
  const S = new Float64Array(n + 1); // mass of bins [0, j)
  const E = new Float64Array(n + 1); // Σ c log c over bins [0, j)
  const NZ = new Int32Array(n + 1); // non-empty bins among [0, j)
  for (let j = 0; j < n; j++) {
    const c = counts[j];
    S[j + 1] = S[j] + c;
    E[j + 1] = E[j] + (c > 0 ? c * Math.log(c) : 0);
    NZ[j + 1] = NZ[j] + (c > 0 ? 1 : 0);
  }
  const total = S[n] + overflow;
  if (!(total > 0)) return n;
  const logTotal = Math.log(total);
  const logInt = new Float64Array(n + 2);
  for (let j = 1; j < logInt.length; j++) logInt[j] = Math.log(j);

  const divergence = (i: number): number => {
    const sq = S[i];
    if (!(sq > 0)) return Infinity;
    const out = Math.max(0, total - sq);
    const cLast = counts[i - 1];
    const pLast = cLast + out;
    const sumPLogP = E[i - 1] + (pLast > 0 ? pLast * Math.log(pLast) : 0);
    const groups = Math.min(levels, i);
    let cross = 0; // Σ over groups of P_g · log(Q_g / nz_g)
    let start = 0;
    for (let g = 0; g < groups; g++) {
      const end = g === groups - 1 ? i : Math.floor(((g + 1) * i) / groups);
      const qg = S[end] - S[start];
      let pg = qg;
      let nz = NZ[end] - NZ[start];
      if (g === groups - 1 && out > 0) {
        pg += out;
        if (!(cLast > 0)) nz++; // the clipped mass makes P's last bin non-empty
      }
      if (pg > 0) {
        if (!(qg > 0)) return Infinity;
        cross += pg * (Math.log(qg) - logInt[nz]);
      }
      start = end;
    }
    // KL = Σ p log p − Σ p log q, p = P / total, q = Q / sq
    return (sumPLogP - cross) / total - logTotal + Math.log(sq);
  };

  let best = n;
  let bestKl = Infinity;
  const consider = (i: number): void => {
    const kl = divergence(i);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  };
  // from `levels` bins, thresholds ≤ 0.8% apart, then bin by bin around the best
  const first = Math.min(n, levels);
  const stride = (i: number): number => Math.max(1, Math.floor(i / STRIDE_DIVISOR));
  for (let i = first; i < n; i += stride(i)) consider(i);
  consider(n);
  const s = stride(best);
  for (let j = Math.max(first, best - s + 1); j <= Math.min(n, best + s - 1); j++) consider(j);
  return best;
}

/**
 * Entropy calibration (TensorRT-style KL-divergence threshold, see `klThresholdBins`):
 *
 * - min ≥ 0 (after ReLU, Sigmoid, …): the search runs on the distribution of x itself with 255
 *   levels — the tensor will be uint8 over [0, t], so only the upper end is clipped; the range
 *   is [0, min(max, t)].
 * - otherwise: on the distribution of |x| with 128 levels — int8 symmetric, one threshold for
 *   both signs, as TensorRT does; the range is [max(min, −t), min(max, t)].
 *
 * `quantLevels` overrides the number of levels (255 or 128 by the rule above).
 */
export function entropyRange(h: TensorHistogram, min: number, max: number, quantLevels?: number): TensorRange {
  const nonNegative = min >= 0;
  const levels = checkInteger('quantLevels', quantLevels ?? (nonNegative ? 255 : 128), 2, 1 << 16);
  if (h.total === 0) return finishRange(min, max);
  const dist = magnitudeDistribution(h, min, max);
  const bins = klThresholdBins(dist.counts, dist.overflow, levels);
  const t = bins * dist.width;
  if (!(t > 0)) {
    throw new TearlessError('TL_ERR_INTERNAL', `Entropy calibration found no threshold (histogram [${h.lo}, ${h.hi}]).`);
  }
  return nonNegative ? finishRange(0, Math.min(max, t)) : finishRange(Math.max(min, -t), Math.min(max, t));
}
