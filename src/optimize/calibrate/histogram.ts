/**
 * Streaming statistics of one activation tensor over many calibration images, small and fixed
 * in size whatever the number of images (the arrays themselves are never kept):
 *
 * - `TensorStats`: running min / max / count of the finite values (pass 1), and optionally a
 *   `MagnitudeHistogram` — a log-scale histogram of |x| read straight from the float32 bits —
 *   that tells where the extreme tail starts (see `histogramRange` in methods.ts).
 * - `TensorHistogram`: counts in `bins` equal bins over a fixed range [lo, hi], plus how many
 *   values fell below / above it (pass 2; percentile and entropy work on it).
 *
 * NaN and ±Infinity are ignored everywhere: a range must be finite, and one inf from an
 * overflowing Exp would otherwise make every histogram useless.
 */
import { TearlessError, checkInteger } from '../../core/errors.js';

const EXP_MASK = 0x7f800000; // float32 exponent bits all ones: NaN or ±Infinity

/** Bit-level view of float32 values (same memory). */
function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Log-scale histogram of |x|: bin k holds the finite values whose float32 bits have
 * `(bits >>> 20) & 0x7ff === k` — the 8 exponent bits and the top 3 mantissa bits, i.e. eight
 * bins per octave (each bin spans ≤ 12.5% of its lower edge), from 0 and the denormals up to
 * float32 max, in 2048 bins. Filling it costs a shift and an increment per value, so pass 1
 * can afford it for every tensor.
 */
export class MagnitudeHistogram {
  static readonly BINS = 2048;
  readonly counts = new Float64Array(MagnitudeHistogram.BINS);
  total = 0;

  add(values: Float32Array): void {
    const bits = bitsOf(values);
    const counts = this.counts;
    let n = 0;
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i];
      if ((b & EXP_MASK) === EXP_MASK) continue;
      counts[(b >>> 20) & 0x7ff]++;
      n++;
    }
    this.total += n;
  }

  /** Upper edge of bin k (a float32 value): every value counted in bins ≤ k has |x| below it. */
  static upperEdge(k: number): number {
    u32[0] = ((k + 1) << 20) >>> 0;
    return f32[0];
  }

  /**
   * The smallest bin edge A such that at most `fraction` of the values have |x| > A
   * (0 when there are no values). A overshoots the exact quantile by at most one bin (12.5%).
   */
  tailEdge(fraction: number): number {
    const allowed = fraction * this.total;
    let above = 0;
    for (let k = MagnitudeHistogram.BINS - 1; k >= 0; k--) {
      const c = this.counts[k];
      if (above + c > allowed) return MagnitudeHistogram.upperEdge(k);
      above += c;
    }
    return 0;
  }
}

/** Running min / max / count of the finite values of one tensor (pass 1 of calibration). */
export class TensorStats {
  min = Infinity;
  max = -Infinity;
  /** Finite values seen. */
  count = 0;
  /** Present when created with `{ magnitudes: true }` (needed to place the pass-2 histogram). */
  readonly magnitude: MagnitudeHistogram | null;

  constructor(opts: { magnitudes?: boolean } = {}) {
    this.magnitude = opts.magnitudes ? new MagnitudeHistogram() : null;
  }

  add(values: Float32Array): void {
    const bits = bitsOf(values);
    let min = this.min;
    let max = this.max;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      if ((bits[i] & EXP_MASK) === EXP_MASK) continue;
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
      n++;
    }
    // -0 as an extreme would print as "-0" and fail deepEqual against 0: normalize.
    this.min = min === 0 ? 0 : min;
    this.max = max === 0 ? 0 : max;
    this.count += n;
    this.magnitude?.add(values);
  }
}

/**
 * Counts of values in `bins` equal bins over a fixed range [lo, hi] (bin k is
 * [lo + k·w, lo + (k+1)·w), the last one closed), and of the finite values below `lo` and above
 * `hi`. Counts are float64 (exact integers up to 2^53, and fractional after re-binning).
 */
export class TensorHistogram {
  readonly lo: number;
  readonly hi: number;
  readonly bins: number;
  readonly counts: Float64Array;
  /** Finite values < lo. */
  below = 0;
  /** Finite values > hi. */
  above = 0;
  /**
   * Values exactly 0 (also counted in their bin). Every range contains 0 exactly, so these are
   * reproduced exactly whatever the range; entropy calibration leaves them out (post-ReLU
   * tensors are often half zeros, which would otherwise dominate the KL divergence).
   */
  zeros = 0;

  constructor(lo: number, hi: number, bins = 2048) {
    checkInteger('bins', bins, 1, 1 << 24);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `A histogram needs a finite range with lo < hi; got [${lo}, ${hi}].`);
    }
    this.lo = lo;
    this.hi = hi;
    this.bins = bins;
    this.counts = new Float64Array(bins);
  }

  get binWidth(): number {
    return (this.hi - this.lo) / this.bins;
  }

  /** All finite values added (in range, below and above). */
  get total(): number {
    let s = this.below + this.above;
    for (let k = 0; k < this.bins; k++) s += this.counts[k];
    return s;
  }

  add(values: Float32Array | readonly number[]): void {
    const { lo, hi, counts } = this;
    const scale = this.bins / (hi - lo);
    const last = this.bins - 1;
    let below = 0;
    let above = 0;
    let zeros = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === 0) zeros++;
      if (v >= lo) {
        if (v <= hi) {
          const k = Math.floor((v - lo) * scale);
          counts[k > last ? last : k]++;
        } else if (v !== Infinity) {
          above++;
        }
      } else if (v < lo && v !== -Infinity) {
        below++;
      } // NaN: neither
    }
    this.below += below;
    this.above += above;
    this.zeros += zeros;
  }
}
