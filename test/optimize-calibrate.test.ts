/**
 * Activation calibration (issue 5): MinMax / Percentile / Entropy ranges — exact ranges on a
 * hand-made graph, the histogram methods on synthetic data with known answers, the KL search
 * against a direct implementation, and MinMax/Percentile/Entropy over every tensor of the
 * bundled YOLOX-nano on two real images. onnxruntime runs single-threaded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODEL, fixtureImage, seededRandom } from './helpers.js';
import {
  MIN_RANGE_SPAN,
  TensorHistogram,
  TensorStats,
  activationTensors,
  collectActivationRanges,
  entropyRange,
  histogramRange,
  histogramTailFraction,
  klThresholdBins,
  magnitudeDistribution,
  minMaxRange,
  percentileRange,
  type Feeds,
} from '../src/optimize/calibrate/index.js';
import { makeNode } from '../src/optimize/onnx/graph.js';
import { makeTensor, makeTensorValueInfo, readModel, type OnnxModel } from '../src/optimize/onnx/model.js';
import { DataType } from '../src/optimize/onnx/schema.js';
import type { TensorRange } from '../src/optimize/types.js';
import { Detector } from '../src/pipeline/detector.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import { toOrtFeeds } from '../src/runtime/node/onnx-session.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/**
 *   X [1,4] ─ Relu ─ Y ─ Mul(·, 2) ─ Z
 *          └ Mul(·, 0) ─ ZERO        X ─ Shape ─ S (int64)
 * Nodes listed out of order, to check that activationTensors sorts them.
 */
function tinyModel(): OnnxModel {
  const f = (name: string) => makeTensorValueInfo(name, DataType.FLOAT, [1, 4]);
  return {
    ir_version: 7,
    producer_name: 'tearless-test',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: [
        makeNode('Mul', ['Y', 'two'], ['Z'], { name: 'mul2' }),
        makeNode('Relu', ['X'], ['Y'], { name: 'relu' }),
        makeNode('Mul', ['X', 'zero'], ['ZERO'], { name: 'mul0' }),
        makeNode('Shape', ['X'], ['S'], { name: 'shape' }),
      ],
      input: [f('X'), makeTensorValueInfo('two', DataType.FLOAT, [])], // an IR < 4 style initializer input
      output: [f('Z'), f('ZERO'), makeTensorValueInfo('S', DataType.INT64, [2])],
      initializer: [makeTensor('two', Float32Array.of(2), []), makeTensor('zero', Float32Array.of(0), [])],
    },
  };
}

const xFeed = (...values: number[]): Feeds => ({ X: new ort.Tensor('float32', Float32Array.from(values), [1, 4]) });

/** Box–Muller standard normal sample, seeded. */
function normalSample(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rnd()));
    const a = 2 * Math.PI * rnd();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** What the collector does with one tensor's values: pass 1 stats, pass 2 histogram. */
function histogramOf(values: Float32Array, methods: { percentile?: number; entropy?: boolean }, bins = 2048) {
  const stats = new TensorStats({ magnitudes: true });
  stats.add(values);
  const [lo, hi] = histogramRange(stats, histogramTailFraction(methods))!;
  const h = new TensorHistogram(lo, hi, bins);
  h.add(values);
  return { stats, h };
}

/** KL(P‖Q) of candidate i, straight from the definition (O(i)), for checking the fast search. */
function referenceKl(counts: Float64Array, overflow: number, levels: number, i: number): number {
  let out = overflow;
  for (let j = i; j < counts.length; j++) out += counts[j];
  const p = Array.from(counts.subarray(0, i));
  p[i - 1] += out;
  const q = new Float64Array(i);
  const groups = Math.min(levels, i);
  for (let g = 0; g < groups; g++) {
    const s = Math.floor((g * i) / groups);
    const e = g === groups - 1 ? i : Math.floor(((g + 1) * i) / groups);
    let sum = 0;
    let nz = 0;
    for (let j = s; j < e; j++) {
      sum += counts[j];
      if (p[j] > 0) nz++;
    }
    for (let j = s; j < e; j++) if (p[j] > 0) q[j] = sum / nz;
  }
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  let kl = 0;
  for (let j = 0; j < i; j++) {
    if (p[j] === 0) continue;
    if (q[j] === 0) return Infinity;
    kl += (p[j] / sp) * Math.log(p[j] / sp / (q[j] / sq));
  }
  return kl;
}

function assertContainsZero(name: string, r: TensorRange): void {
  assert.ok(Number.isFinite(r.min) && Number.isFinite(r.max), `${name}: finite ${JSON.stringify(r)}`);
  assert.ok(r.min <= 0 && r.max >= 0, `${name}: contains 0 ${JSON.stringify(r)}`);
  assert.ok(r.max - r.min >= MIN_RANGE_SPAN, `${name}: not degenerate ${JSON.stringify(r)}`);
}

// ---------------------------------------------------------------------------------------------
// pure functions
// ---------------------------------------------------------------------------------------------

describe('ranges from statistics', () => {
  test('minMaxRange includes 0, normalizes -0 and widens a degenerate range', () => {
    assert.deepEqual(minMaxRange(-1.5, 3), { min: -1.5, max: 3 });
    assert.deepEqual(minMaxRange(2, 3), { min: 0, max: 3 });
    assert.deepEqual(minMaxRange(-3, -1), { min: -3, max: 0 });
    assert.deepEqual(minMaxRange(0, 0), { min: 0, max: MIN_RANGE_SPAN });
    assert.deepEqual(minMaxRange(-0, -0), { min: 0, max: MIN_RANGE_SPAN });
    assert.ok(Object.is(minMaxRange(-0, 5).min, 0), 'no -0');
    assert.deepEqual(minMaxRange(Infinity, -Infinity), { min: 0, max: MIN_RANGE_SPAN }, 'no finite value seen');
  });

  test('TensorStats and TensorHistogram ignore NaN and ±Infinity; bins, below, above, zeros', () => {
    const values = Float32Array.of(NaN, -Infinity, Infinity, -2, 0, 0, 0.5, 0.99, 1, 3);
    const s = new TensorStats({ magnitudes: true });
    s.add(values);
    assert.deepEqual([s.min, s.max, s.count, s.magnitude!.total], [-2, 3, 7, 7]);
    const h = new TensorHistogram(0, 1, 4);
    h.add(values);
    assert.deepEqual([...h.counts], [2, 0, 1, 2]); // 0, 0 | – | 0.5 | 0.99, 1 (hi is in the last bin)
    assert.deepEqual([h.below, h.above, h.zeros, h.total], [1, 1, 2, 7]);
    assert.throws(() => new TensorHistogram(1, 1), { code: 'TL_ERR_BAD_OPTION', message: /lo < hi/ });
  });

  test('magnitude histogram: the tail edge is within one eighth of an octave above the quantile', () => {
    const s = new TensorStats({ magnitudes: true });
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 0.01); // |x| = 0.01 … 10
    s.add(values);
    const edge = s.magnitude!.tailEdge(0.1); // at most 100 values above: the 0.9 quantile of |x| is 9.0
    assert.ok(edge >= 9 && edge <= 9 * 1.125, `edge ${edge}`);
    assert.equal(s.magnitude!.tailEdge(0), 11, 'nothing left out: the upper edge of the max\'s bin, [10, 11)');
  });

  test('percentile and entropy on 1e6 uniform values in [0, 1] plus one outlier at 1000', () => {
    const rnd = seededRandom(7);
    const values = new Float32Array(1_000_001);
    for (let i = 0; i < 1_000_000; i++) values[i] = rnd();
    values[1_000_000] = 1000;
    const { stats, h } = histogramOf(values, { percentile: 99.99, entropy: true });
    assert.deepEqual(minMaxRange(stats.min, stats.max), { min: 0, max: 1000 });
    // The pass-2 histogram leaves the outlier out: 1 value ≤ 1e-6 of 1e6 (ENTROPY_TAIL_FRACTION).
    assert.deepEqual([h.lo, h.hi, h.above], [0, 1, 1]);
    // Percentile 99.99 of U(0,1) is 0.9999. Tolerance 2e-3: a bin is 1/2048 ≈ 4.9e-4 wide and
    // the sample quantile of 1e6 values is off by ~1e-5; the outlier at 1000 would be 1000×.
    const p = percentileRange(h, stats.min, stats.max, 99.99);
    assert.equal(p.min, 0);
    assert.ok(Math.abs(p.max - 0.9999) < 2e-3, `percentile max ${p.max}`);
    // Entropy clips the outlier and keeps the uniform bulk (clipping into a flat density costs
    // KL quickly, merging flat bins into levels costs nothing): within 3% of 1.
    const e = entropyRange(h, stats.min, stats.max);
    assert.equal(e.min, 0);
    assert.ok(Math.abs(e.max - 1) < 0.03, `entropy max ${e.max}`);

    // Over the whole [0, 1000] (what TensorRT / onnxruntime histogram), 2048 bins are 0.49
    // wide: the percentile is only good to a bin, and no entropy candidate can clip the outlier
    // without leaving its mass where the quantized distribution has none (KL = ∞).
    const full = new TensorHistogram(0, 1000, 2048);
    full.add(values);
    const pf = percentileRange(full, stats.min, stats.max, 99.99);
    assert.ok(pf.max > 1.2 && pf.max < 1 + 1000 / 2048, `coarse percentile ${pf.max}`);
    assert.equal(entropyRange(full, stats.min, stats.max).max, 1000);
  });

  test('fewer values than the tail fraction can exclude: the histogram spans [min, max]', () => {
    const values = Float32Array.from({ length: 100_001 }, (_, i) => (i === 100_000 ? 1000 : i / 100_000));
    assert.deepEqual(histogramOf(values, { entropy: true }).h.hi, 1000, '1 outlier in 1e5 is more than 1e-6 of them');
    assert.deepEqual(histogramOf(values, { percentile: 99.99 }).h.hi, 1, 'but less than half of 1e-4');
    assert.equal(histogramTailFraction({}), 0);
    assert.equal(histogramTailFraction({ percentile: 100 }), 0);
    assert.equal(histogramRange(new TensorStats(), 0), null, 'no values');
  });

  test('standard normal: percentile 99.99 at ±3.72σ, entropy threshold symmetric in [3σ, 5σ] and clipping', () => {
    const values = normalSample(1_000_000, 11);
    const { stats, h } = histogramOf(values, { percentile: 99.99, entropy: true });
    // The 0.9999 quantile of N(0,1) is 3.719 (3.891 would be the 99.99% quantile of |x|). Sampling
    // error of that quantile with 1e6 values: sqrt(q(1-q)/n) / φ(3.719) ≈ 0.025; tolerance 0.08.
    const p = percentileRange(h, stats.min, stats.max, 99.99);
    assert.ok(Math.abs(p.max - 3.719) < 0.08, `upper ${p.max}`);
    assert.ok(Math.abs(p.min + 3.719) < 0.08, `lower ${p.min}`);
    // One threshold t for both signs: [max(min, −t), min(max, t)]. On a clean Gaussian the KL
    // search keeps nearly everything (1e6 values, 128 levels: t ≈ 4.2–4.8σ over seeds), but
    // it does clip the sparsest values.
    const e = entropyRange(h, stats.min, stats.max);
    const t = Math.max(-e.min, e.max);
    assert.deepEqual(e, { min: Math.max(stats.min, -t), max: Math.min(stats.max, t) });
    assert.ok(t > 3 && t < 5, `entropy threshold ${t}`);
    const maxAbs = Math.max(-stats.min, stats.max);
    assert.ok(t < maxAbs - 0.05, `entropy clips the sparse tail: ${t} vs max |x| ${maxAbs}`);
  });

  test('entropy on ReLU(normal): uint8 search on [0, t]; the spike of exact zeros does not drag t down', () => {
    const values = normalSample(1_000_000, 12).map((v) => Math.max(0, v));
    const { stats, h } = histogramOf(values, { entropy: true });
    assert.equal(stats.min, 0);
    assert.ok(h.zeros > 490_000, `${h.zeros} exact zeros`);
    const e = entropyRange(h, stats.min, stats.max);
    assert.equal(e.min, 0);
    // With the zeros left in bin 0, Q spreads half the mass over the neighbouring bins and the
    // search settles at ~1.8σ (clipping 4% of the positive values).
    assert.ok(e.max > 3 && e.max <= stats.max, `entropy threshold ${e.max} (max ${stats.max})`);
    const p = percentileRange(h, stats.min, stats.max, 99.99);
    assert.ok(Math.abs(p.max - 3.719) < 0.08, `percentile ${p.max}`);
  });

  test('magnitudeDistribution folds x into |x|: mass kept, zeros removed, tails spread', () => {
    const h = new TensorHistogram(-1, 3, 4); // bins [-1,0) [0,1) [1,2) [2,3]
    h.add(Float32Array.of(-0.5, -0.25, 0, 0, 0.5, 1.5, 2.5, 2.5, -3, 7));
    // |x| over [0, 3] in bins of 0.75; the below tail (-3 in [-3, -1]) spreads over |x| in [1, 3],
    // the above tail (7 in [3, 7]) is all overflow.
    const d = magnitudeDistribution(h, -3, 7);
    assert.equal(d.width, 0.75);
    const mass = d.counts.reduce((a, b) => a + b, 0) + d.overflow;
    assert.ok(Math.abs(mass - (h.total - h.zeros)) < 1e-9, `mass ${mass}`);
    assert.ok(Math.abs(d.overflow - 1) < 1e-9, `overflow ${d.overflow}`);
    // bin [0,1) of x minus its 2 zeros: 0.5 → spread over [0,1): 0.75 in bin 0, 0.25 in bin 1;
    // bin [-1,0) with 2 values → |x| in [0,1): 1.5 in bin 0, 0.5 in bin 1.
    assert.ok(Math.abs(d.counts[0] - 2.25) < 1e-9, `bin 0: ${d.counts[0]}`);
    // a histogram over [0, hi] is used as it is (zeros removed from bin 0)
    const pos = new TensorHistogram(0, 2, 2);
    pos.add(Float32Array.of(0, 0.5, 1.5, 5));
    assert.deepEqual(magnitudeDistribution(pos, 0, 5), { counts: Float64Array.of(1, 1), width: 1, overflow: 1 });
  });

  test('klThresholdBins picks the argmin of KL(P‖Q) computed from the definition', () => {
    const rnd = seededRandom(3);
    for (const [levels, overflow] of [[16, 0], [16, 40], [33, 5], [255, 0]] as const) {
      // a bumpy, partly empty histogram of 256 bins (the search is exhaustive below 128·stride)
      const counts = Float64Array.from({ length: 256 }, (_, j) => (rnd() < 0.15 ? 0 : Math.floor(1000 * Math.exp(-j / 40) * (0.5 + rnd()))));
      let best = -1;
      let bestKl = Infinity;
      for (let i = Math.min(levels, 256); i <= 256; i++) {
        const kl = referenceKl(counts, overflow, levels, i);
        if (kl < bestKl) [best, bestKl] = [i, kl];
      }
      assert.equal(klThresholdBins(counts, overflow, levels), best, `levels ${levels}, overflow ${overflow}`);
    }
  });

  test('the strided search lands within the noise of the exhaustive optimum on 2048 bins', () => {
    // In a sparse tail (bins holding 0–5 values) KL(i) jumps by ±10% from one bin to the next,
    // so the exhaustive argmin is one of many near-equal local minima. The strided search
    // (thresholds 0.8% apart, then refined bin by bin) must find one of them: KL within 10%,
    // threshold within 10% — and far from the unclipped 2048 bins.
    const values = normalSample(200_000, 9).map(Math.exp); // log-normal: a long tail
    const h = new TensorHistogram(0, values.reduce((a, b) => Math.max(a, b), 0), 2048);
    h.add(values);
    for (const levels of [128, 255]) {
      let best = -1;
      let bestKl = Infinity;
      for (let i = levels; i <= 2048; i++) {
        const kl = referenceKl(h.counts, 0, levels, i);
        if (kl < bestKl) [best, bestKl] = [i, kl];
      }
      const fast = klThresholdBins(h.counts, 0, levels);
      const fastKl = referenceKl(h.counts, 0, levels, fast);
      assert.ok(best < 1000, `the optimum clips (${best} of 2048 bins)`);
      assert.ok(fastKl <= bestKl * 1.1 && Math.abs(fast - best) <= best / 10, `${levels} levels: ${fast} (KL ${fastKl}) vs ${best} (KL ${bestKl})`);
    }
  });

  test('entropy over 300 histograms of 2048 bins takes well under a few seconds', (t) => {
    const sym = new TensorHistogram(-5, 5, 2048);
    sym.add(normalSample(200_000, 5));
    const pos = new TensorHistogram(0, 5, 2048);
    pos.add(normalSample(200_000, 6).map(Math.abs));
    const t0 = performance.now();
    for (let k = 0; k < 150; k++) {
      entropyRange(sym, -5, 5);
      entropyRange(pos, 0, 5);
    }
    const ms = performance.now() - t0;
    t.diagnostic(`300 entropy searches: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 4000, `${ms} ms`);
  });

  test('bad options', () => {
    const h = new TensorHistogram(0, 1, 8);
    h.add(Float32Array.of(0.5));
    assert.throws(() => percentileRange(h, 0, 1, 101), { code: 'TL_ERR_BAD_OPTION', message: /percentile/ });
    assert.throws(() => entropyRange(h, 0, 1, 1), { code: 'TL_ERR_BAD_OPTION', message: /quantLevels/ });
  });
});

// ---------------------------------------------------------------------------------------------
// collection with onnxruntime
// ---------------------------------------------------------------------------------------------

describe('collectActivationRanges', () => {
  test('activationTensors: graph inputs (no initializers), then node outputs in topological order', () => {
    assert.deepEqual(activationTensors(tinyModel()), ['X', 'Y', 'Z', 'ZERO', 'S']);
  });

  test('MinMax on a hand-made graph: exact ranges, 0 included, int64 skipped, degenerate widened', async () => {
    const model = tinyModel();
    const progress: [number, number][] = [];
    const feeds = [xFeed(-1, 2, 3, -4), xFeed(0.5, 5, -2, 1)];
    const tables = await collectActivationRanges(model, activationTensors(model), feeds, {
      methods: ['minmax'],
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual([...tables.keys()], ['minmax']);
    assert.deepEqual(Object.fromEntries(tables.get('minmax')!), {
      X: { min: -4, max: 5 },
      Y: { min: 0, max: 5 },
      Z: { min: 0, max: 10 },
      ZERO: { min: 0, max: MIN_RANGE_SPAN },
    });
    assert.deepEqual(progress, [[1, 2], [2, 2]], 'one pass only');

    // all-positive data: the range still starts at 0
    const positive = await collectActivationRanges(model, ['X', 'Z'], [xFeed(1, 2, 3, 4)], { methods: ['minmax'] });
    assert.deepEqual(Object.fromEntries(positive.get('minmax')!), { X: { min: 0, max: 4 }, Z: { min: 0, max: 8 } });
    assert.equal(model.graph.output!.length, 3, 'the model passed in is not modified');
  });

  test('all three methods: two passes, every range inside MinMax', async () => {
    const model = tinyModel();
    const rnd = seededRandom(5);
    const feeds = Array.from({ length: 5 }, () => xFeed(...Array.from({ length: 4 }, () => 10 * rnd() - 3)));
    const progress: number[] = [];
    const tables = await collectActivationRanges(model, ['X', 'Y', 'Z', 'X'], feeds, {
      methods: ['minmax', 'percentile', 'entropy'],
      percentile: 99,
      bins: 256,
      onProgress: (_, total) => progress.push(total),
    });
    assert.deepEqual(progress, Array(10).fill(10), '2 passes × 5 images');
    const minmax = tables.get('minmax')!;
    assert.deepEqual([...minmax.keys()], ['X', 'Y', 'Z']);
    for (const method of ['percentile', 'entropy'] as const) {
      for (const [name, r] of tables.get(method)!) {
        assertContainsZero(`${method} ${name}`, r);
        const mm = minmax.get(name)!;
        assert.ok(r.min >= mm.min && r.max <= mm.max, `${method} ${name} ${JSON.stringify(r)} inside ${JSON.stringify(mm)}`);
      }
    }
  });

  test('errors: no feeds, unknown tensor, bad method, failing run', async () => {
    const model = tinyModel();
    await assert.rejects(collectActivationRanges(model, ['Y'], [], { methods: ['minmax'] }), {
      code: 'TL_ERR_BAD_OPTION',
      message: /No calibration images/,
    });
    await assert.rejects(collectActivationRanges(model, ['nope'], [xFeed(1, 2, 3, 4)], { methods: ['minmax'] }), {
      code: 'TL_ERR_BAD_OPTION',
      message: /No tensor named "nope"/,
    });
    await assert.rejects(collectActivationRanges(model, ['two'], [xFeed(1, 2, 3, 4)], { methods: ['minmax'] }), /is an initializer/);
    await assert.rejects(
      collectActivationRanges(model, ['Y'], [xFeed(1, 2, 3, 4)], { methods: ['kl' as 'entropy'] }),
      { code: 'TL_ERR_BAD_OPTION', message: /methods among minmax, percentile, entropy/ },
    );
    const wrongShape = { X: new ort.Tensor('float32', new Float32Array(3), [1, 3]) };
    await assert.rejects(collectActivationRanges(model, ['Y'], [xFeed(1, 2, 3, 4), wrongShape], { methods: ['minmax'] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TL_ERR_MODEL_RUN_FAILED');
      assert.match(err.message, /calibration image 2 of 2/);
      assert.ok(err.cause, 'the onnxruntime error is the cause');
      return true;
    });
  });

  test('YOLOX-nano on 2 real images: every float tensor gets a range; input in [0, 255], sigmoids in [0, 1]', async (t) => {
    const model = readModel(readFileSync(BUNDLED_MODEL));
    const det = await Detector.load(BUNDLED_MODEL, { threads: 1, warmup: false });
    let feeds: Feeds[];
    try {
      feeds = [];
      for (const file of ['000000000139.jpg', '000000000285.jpg']) {
        const pixels = await decodeImage(readFileSync(fixtureImage(file)));
        feeds.push(toOrtFeeds(prepareFeeds(pixels, det.profile).feeds));
      }
    } finally {
      await det.close();
    }
    const tensors = activationTensors(model);
    assert.equal(tensors[0], 'images');
    assert.equal(tensors.length, model.graph.node!.length + 1, 'one output per node, plus the input');

    // One collection with all three methods (its pass 1 is exactly a MinMax-only collection);
    // progress timestamps time each pass.
    const stamps: number[] = [performance.now()];
    const all = await collectActivationRanges(model, tensors, feeds, {
      methods: ['minmax', 'percentile', 'entropy'],
      onProgress: () => stamps.push(performance.now()),
    });
    const end = performance.now();
    const perImage = (from: number, to: number) => ((stamps[to] - stamps[from]) / (to - from)).toFixed(0);
    t.diagnostic(
      `${tensors.length} tensors: setup + 1st image ${perImage(0, 1)} ms, pass 1 (MinMax) ${perImage(1, 2)} ms/image, ` +
        `pass 2 (histograms) ${perImage(2, 4)} ms/image, ranges of 3 methods ${(end - stamps[4]).toFixed(0)} ms`,
    );

    const minmax = all.get('minmax')!;
    assert.deepEqual([...minmax.keys()], tensors, 'every tensor is float32 here and has a range, in order');
    for (const [name, r] of minmax) assertContainsZero(name, r);

    const input = minmax.get('images')!;
    assert.equal(input.min, 0);
    assert.ok(input.max > 200 && input.max <= 255, `input ${JSON.stringify(input)}`);
    const sigmoids = model.graph.node!.filter((n) => n.op_type === 'Sigmoid').map((n) => n.output![0]);
    assert.ok(sigmoids.length > 100);
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const table = all.get(method)!;
      assert.equal(table.size, tensors.length, method);
      for (const s of sigmoids) {
        const r = table.get(s)!;
        assert.ok(r.min === 0 && r.max > 0 && r.max <= 1, `${method} ${s}: ${JSON.stringify(r)}`);
      }
      for (const [name, r] of table) {
        assertContainsZero(`${method} ${name}`, r);
        const mm = minmax.get(name)!;
        assert.ok(r.min >= mm.min && r.max <= mm.max, `${method} ${name} inside MinMax`);
      }
    }
    // the histogram methods do cut something somewhere
    const narrower = (method: 'percentile' | 'entropy') =>
      [...all.get(method)!].filter(([name, r]) => r.max - r.min < 0.9 * (minmax.get(name)!.max - minmax.get(name)!.min)).length;
    t.diagnostic(`narrower than 90% of MinMax: percentile ${narrower('percentile')}, entropy ${narrower('entropy')} of ${tensors.length}`);
    assert.ok(narrower('entropy') > 0);
  });
});
