/**
 * `tearless optimize` (issue 5): the decision rule, the per-op-type profile, the isolated
 * per-layer sensitivity, the known-range fix-up, the calibration image set, and the CLI (bad
 * input, then one small real run on the light person detector). The CLI runs `bin/tearless.js`,
 * i.e. dist/: build first (`npx tsc -p tsconfig.build.json`). onnxruntime runs with 1–2 threads.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES, ROOT, fixtureImage, fixtureModel, seededRandom, sharedData, tinyOnnxModel } from './helpers.js';
import { decide, MIN_SPEEDUP, rejectionReason, type AccuracyGuard } from '../src/optimize/search/decide.js';
import { opTypeTimes, profileOpTypes } from '../src/optimize/analyze/profile.js';
import { fakeQuantizeWeights, layerSensitivity, sqnrDb } from '../src/optimize/analyze/sensitivity.js';
import { applyKnownRanges } from '../src/optimize/calibrate/bounded.js';
import { listImages, loadCalibrationSet } from '../src/optimize/search/images.js';
import { cloneModel, makeTensor, writeModel, type OnnxModel } from '../src/optimize/onnx/model.js';
import { exposeAsOutputs, makeNode } from '../src/optimize/onnx/graph.js';
import { WEIGHT_QMAX } from '../src/optimize/quantize/params.js';
import type { CandidateResult, RangeTable } from '../src/optimize/types.js';
import { isTearlessError } from '../src/core/errors.js';
import type { ModelProfile } from '../src/core/types.js';
import { Detector } from '../src/pipeline/detector.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

type Feeds = Record<string, ort.Tensor>;

const BIN = path.join(ROOT, 'bin', 'tearless.js');
const PERSON_MODEL = fixtureModel('light_person_detector_192.onnx');
const WORK = mkdtempSync(path.join(tmpdir(), 'tearless-optimize-search-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

const tmp = (name: string): string => {
  const dir = path.join(WORK, name);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The CLI as a user runs it; cwd is a scratch folder so a default `<model>.opt.onnx` never lands in the repo. */
function cli(args: string[], cwd = tmp('cwd')): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, maxBuffer: 32 << 20, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function assertRejectsTearless(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isTearlessError(err), `a TearlessError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

let personProfile: ModelProfile | null = null;
/** The light person detector's profile as the Detector reads it (sidecar included). */
async function profileOfPersonModel(): Promise<ModelProfile> {
  if (!personProfile) {
    const det = await Detector.load(PERSON_MODEL, { threads: 1, warmup: false });
    personProfile = det.profile;
    await det.close();
  }
  return personProfile;
}

let calibDir: string | null = null;
/**
 * 16 calibration images: the first 16 of ../shared/data/coco/val2017 when that folder is there;
 * otherwise the 10 fixture images plus 6 of them again under other names (test/fixtures/images
 * holds only 10, and `--calib` needs at least 16 usable images).
 */
function calibFolder(): string {
  if (calibDir) return calibDir;
  const dir = tmp('calib16');
  const coco = sharedData('coco/val2017');
  const shared = coco ? readdirSync(coco).filter((f) => f.endsWith('.jpg')).sort().slice(0, 16) : [];
  if (coco && shared.length === 16) {
    for (const f of shared) copyFileSync(path.join(coco, f), path.join(dir, f));
  } else {
    const fixtures = readdirSync(path.join(FIXTURES, 'images')).filter((f) => /\.(jpg|png)$/.test(f)).sort();
    for (const f of fixtures) copyFileSync(fixtureImage(f), path.join(dir, f));
    for (let i = 0; readdirSync(dir).length < 16; i++) {
      const f = fixtures[i % fixtures.length];
      copyFileSync(fixtureImage(f), path.join(dir, `copy${i}-${f}`));
    }
  }
  assert.equal(readdirSync(dir).length, 16);
  calibDir = dir;
  return dir;
}

const rnd = seededRandom(5150);
const uniform = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);


// ---------------------------------------------------------------------------------------------
// 1. the decision rule
// ---------------------------------------------------------------------------------------------

describe('decide() / rejectionReason()', () => {
  const MAP: AccuracyGuard = { kind: 'map', maxMapDrop: 0.01 };
  const AGREE: AccuracyGuard = { kind: 'agreement', minAgreement: 0.97 };
  const original: CandidateResult = { id: 'original', description: '', kind: 'original', threads: 2, sizeBytes: 1000, map: 0.5, agreement: 1, speedup: 1, endToEndSpeedup: 1 };
  const cand = (id: string, o: Partial<CandidateResult> = {}): CandidateResult => ({
    id,
    description: id,
    kind: 'int8-static',
    threads: 2,
    sizeBytes: 500,
    map: 0.5,
    agreement: 1,
    speedup: 1.5,
    ...o,
  });

  test('picks the fastest acceptable candidate; the other acceptable ones are "slower than" it', () => {
    const d = decide(original, [original, cand('a', { speedup: 1.2 }), cand('b', { speedup: 1.8 }), cand('c', { speedup: 1.4 })], MAP);
    assert.equal(d.chosen?.id, 'b');
    assert.equal(d.rejected.get('a'), 'slower than b (×1.20 vs ×1.80)');
    assert.equal(d.rejected.get('c'), 'slower than b (×1.40 vs ×1.80)');
    assert.ok(!d.rejected.has('b'));
    assert.ok(!d.rejected.has('original'), 'the original is not a candidate against itself');
  });

  test('mAP guard: a drop of exactly the budget passes, budget + 0.001 fails', () => {
    const exact = cand('exact', { map: 0.49 }); // 0.5 − 0.49 = 0.010000000000000009 in float64
    const over = cand('over', { map: 0.489 });
    assert.equal(rejectionReason(original, exact, MAP), null);
    assert.match(rejectionReason(original, over, MAP) ?? '', /^mAP 0\.489 is 0\.011 below the original \(budget 0\.01\)$/);
    const d = decide(original, [over, exact], MAP);
    assert.equal(d.chosen?.id, 'exact');
    assert.match(d.rejected.get('over')!, /below the original/);
    // a better mAP than the original is a negative drop: fine
    assert.equal(rejectionReason(original, cand('better', { map: 0.6 }), MAP), null);
    assert.equal(rejectionReason(original, cand('nomap', { map: undefined }), MAP), 'mAP not measured');
    assert.equal(rejectionReason({ ...original, map: undefined }, cand('x'), MAP), 'mAP not measured');
  });

  test('agreement guard: the minimum itself passes, just below fails; the mAP is then ignored', () => {
    assert.equal(rejectionReason(original, cand('a', { agreement: 0.97, map: 0 }), AGREE), null);
    assert.equal(rejectionReason(original, cand('b', { agreement: 0.969 }), AGREE), 'agreement 96.9% < 97.0%');
    assert.equal(rejectionReason(original, cand('c', { agreement: undefined }), AGREE), 'agreement not measured');
    const d = decide(original, [cand('low', { agreement: 0.5, speedup: 3 }), cand('ok', { agreement: 0.99, speedup: 1.1 })], AGREE);
    assert.equal(d.chosen?.id, 'ok');
    assert.match(d.rejected.get('low')!, /^agreement 50\.0% < 97\.0%/);
  });

  test(`×1.02 is "not faster" (below MIN_SPEEDUP ×${MIN_SPEEDUP}); ×${MIN_SPEEDUP} itself is enough`, () => {
    assert.equal(MIN_SPEEDUP, 1.03);
    assert.match(rejectionReason(original, cand('a', { speedup: 1.02 }), MAP) ?? '', /^not faster: ×1\.020 model-only \(needs ≥ ×1\.03/);
    assert.equal(rejectionReason(original, cand('b', { speedup: 1.03 }), MAP), null);
    assert.equal(rejectionReason(original, cand('c', { speedup: undefined }), MAP), 'speed not measured');
    // the threshold is a parameter
    assert.equal(rejectionReason(original, cand('d', { speedup: 1.02 }), MAP, 1.01), null);
  });

  test('an error row and a reference row are never chosen, however fast', () => {
    const broken = cand('broken', { speedup: 9, error: { code: 'TL_ERR_MODEL_RUN_FAILED', message: 'boom' } });
    const ref = cand('ref:other', { kind: 'reference', speedup: 9 });
    const d = decide(original, [broken, ref, cand('slow-but-ok', { speedup: 1.1 })], MAP);
    assert.equal(d.chosen?.id, 'slow-but-ok');
    assert.equal(d.rejected.get('broken'), 'failed: boom');
    assert.match(d.rejected.get('ref:other')!, /^reference model/);
  });

  test('slower end to end rejects a model-only winner', () => {
    const e2eSlow = cand('e2e-slow', { speedup: 2, endToEndSpeedup: 0.9 });
    assert.equal(rejectionReason(original, e2eSlow, MAP), 'slower end to end: ×0.90');
    // inside the noise band end to end (≥ 1/1.03) is fine
    assert.equal(rejectionReason(original, cand('e2e-flat', { speedup: 2, endToEndSpeedup: 0.98 }), MAP), null);
    const d = decide(original, [e2eSlow, cand('steady', { speedup: 1.3, endToEndSpeedup: 1.2 })], MAP);
    assert.equal(d.chosen?.id, 'steady');
  });

  test('nothing qualifies → chosen null (the original is best), every candidate has a reason', () => {
    const rows = [
      cand('noisy', { speedup: 1.02 }),
      cand('lossy', { map: 0.3 }),
      cand('failed', { error: { code: 'TL_ERR_BAD_OPTION', message: 'no pattern' } }),
      cand('ref:x', { kind: 'reference' }),
      cand('slower', { speedup: 0.8 }),
    ];
    const d = decide(original, [original, ...rows], MAP);
    assert.equal(d.chosen, null);
    assert.deepEqual([...d.rejected.keys()].sort(), rows.map((r) => r.id).sort());
    assert.ok([...d.rejected.values()].every((r) => !r.startsWith('slower than')));
    assert.equal(decide(original, [], MAP).chosen, null);
  });

  test('ties on speed go to the smaller file', () => {
    const big = cand('big', { speedup: 1.5, sizeBytes: 900 });
    const small = cand('small', { speedup: 1.5, sizeBytes: 300 });
    for (const order of [[big, small], [small, big]]) {
      const d = decide(original, order, MAP);
      assert.equal(d.chosen?.id, 'small');
      assert.equal(d.rejected.get('big'), 'slower than small (×1.50 vs ×1.50)');
    }
  });

  test(
    'a row re-measured at a second thread count ("x@1t", as run.ts remeasureAt adds it) is never chosen',
    () => {
      const first = cand('int8-qdq-minmax', { threads: 2, speedup: 1.1 });
      const second = cand('int8-qdq-minmax@1t', { threads: 1, speedup: 1.6, rejected: 'measured at 1 threads for comparison' });
      const d = decide(original, [original, first, second], MAP);
      assert.equal(d.chosen?.id, 'int8-qdq-minmax');
    },
  );
});

// ---------------------------------------------------------------------------------------------
// 2. per-op-type profile
// ---------------------------------------------------------------------------------------------

describe('opTypeTimes() / profileOpTypes()', () => {
  test('hand-written trace: kernel time per run, fence events and other events ignored, shares sum to 1', () => {
    const node = (name: string, op: string, dur: number) => ({ cat: 'Node', name, dur, args: { op_name: op } });
    const events = [
      { cat: 'Session', name: 'session_initialization', dur: 99999 },
      { cat: 'Session', name: 'model_run', dur: 1000 },
      node('conv1_fence_before', 'Conv', 5000),
      node('conv1_kernel_time', 'Conv', 200),
      node('conv1_fence_after', 'Conv', 5000),
      node('conv2_kernel_time', 'Conv', 100),
      node('relu_kernel_time', 'Relu', 50),
      { cat: 'Node', name: 'mystery_kernel_time', dur: 7777 }, // no op_name
      { cat: 'Session', name: 'model_run', dur: 1000 },
      node('conv1_kernel_time', 'Conv', 220),
      node('conv2_kernel_time', 'Conv', 80),
      node('relu_kernel_time', 'Relu', 50),
      node('relu_fence_before', 'Relu', 5000),
    ];
    const ops = opTypeTimes(events);
    assert.deepEqual(ops.map((o) => o.opType), ['Conv', 'Relu']);
    const [conv, relu] = ops;
    assert.equal(conv.nodes, 2);
    assert.equal(relu.nodes, 1);
    assert.ok(Math.abs(conv.msPerRun - 0.3) < 1e-12, `Conv ${conv.msPerRun} ms/run`);
    assert.ok(Math.abs(relu.msPerRun - 0.05) < 1e-12, `Relu ${relu.msPerRun} ms/run`);
    assert.ok(Math.abs(conv.share - 6 / 7) < 1e-12);
    assert.ok(Math.abs(relu.share - 1 / 7) < 1e-12);
    assert.ok(Math.abs(conv.share + relu.share - 1) < 1e-12);
    // no model_run event: nothing per run to report
    assert.deepEqual(opTypeTimes(events.filter((e) => e.name !== 'model_run')), []);
  });

  test('a real profile of the light person detector: Conv dominates, msPerRun > 0', async () => {
    const set = await loadCalibrationSet(path.join(FIXTURES, 'images'), await profileOfPersonModel(), { count: 1, min: 1 });
    const ops = await profileOpTypes(PERSON_MODEL, set.feeds[0], { threads: 1, runs: 3 });
    const conv = ops.find((o) => o.opType === 'Conv');
    assert.ok(conv, `op types: ${ops.map((o) => o.opType).join(', ')}`);
    assert.ok(conv.msPerRun > 0 && conv.nodes > 10, JSON.stringify(conv));
    assert.ok(ops.every((o) => o.msPerRun >= 0 && o.nodes >= 1));
    assert.ok(Math.abs(ops.reduce((s, o) => s + o.share, 0) - 1) < 1e-9);
    for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1].msPerRun >= ops[i].msPerRun, 'largest first');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. per-layer sensitivity
// ---------------------------------------------------------------------------------------------

describe('layerSensitivity() / sqnrDb() / fakeQuantizeWeights()', () => {
  /** x [1,3,8,8] → convA → a → convB → y, both 3×3 with padding. */
  function twoConvs(): OnnxModel {
    const conv = { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } };
    return tinyOnnxModel(
      [makeNode('Conv', ['x', 'WA', 'BA'], ['a'], { name: 'convA', attributes: conv }), makeNode('Conv', ['a', 'WB', 'BB'], ['y'], { name: 'convB', attributes: conv })],
      [['x', [1, 3, 8, 8]]],
      [['y', [1, 4, 8, 8]]],
      [makeTensor('WA', uniform(4 * 3 * 9, 0.5), [4, 3, 3, 3]), makeTensor('BA', uniform(4, 0.1), [4]), makeTensor('WB', uniform(4 * 4 * 9, 0.3), [4, 4, 3, 3]), makeTensor('BB', uniform(4, 0.1), [4])],
    );
  }
  const feeds: Feeds[] = [0, 1].map(() => ({ x: new ort.Tensor('float32', uniform(3 * 64, 1), [1, 3, 8, 8]) }));

  /** Min/max of x, a, y over the feeds (one float run each, 1 thread). */
  async function minMax(model: OnnxModel): Promise<RangeTable> {
    const m = cloneModel(model);
    exposeAsOutputs(m, ['a']);
    const session = await ort.InferenceSession.create(writeModel(m), { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const ranges: RangeTable = new Map();
    const widen = (name: string, data: Float32Array): void => {
      const r = ranges.get(name) ?? { min: 0, max: 0 };
      for (const v of data) {
        r.min = Math.min(r.min, v);
        r.max = Math.max(r.max, v);
      }
      ranges.set(name, r);
    };
    try {
      for (const f of feeds) {
        const out = await session.run(f);
        widen('x', f.x.data as Float32Array);
        widen('a', out.a.data as Float32Array);
        widen('y', out.y.data as Float32Array);
      }
    } finally {
      await session.release();
    }
    return ranges;
  }

  test('a layer given a huge output range has clearly lower isolated SQNR; the other layer is not affected', async (t) => {
    const model = twoConvs();
    const good = await minMax(model);
    const bad: RangeTable = new Map(good);
    bad.set('y', { min: -1e4, max: 1e4 }); // 8-bit steps of ~78 for values of a few units

    const before = await layerSensitivity(model, good, ['convA', 'convB'], feeds, { threads: 1 });
    const withBad = await layerSensitivity(model, bad, ['convA', 'convB'], feeds, { threads: 1 });
    const byNode = (ls: typeof before) => new Map(ls.map((l) => [l.node, l]));
    const b0 = byNode(before);
    const b1 = byNode(withBad);
    assert.deepEqual([...b0.keys()].sort(), ['convA', 'convB']);
    for (const l of before) {
      assert.equal(l.opType, 'Conv');
      assert.equal(l.keptFloat, false);
      assert.ok(l.sqnrDb > 25, `${l.node}: ${l.sqnrDb.toFixed(1)} dB with calibrated ranges`);
    }
    t.diagnostic(`calibrated: ${before.map((l) => `${l.node} ${l.sqnrDb.toFixed(1)} dB`).join(', ')}; convB range ±1e4: ${withBad.map((l) => `${l.node} ${l.sqnrDb.toFixed(1)} dB`).join(', ')}`);
    assert.equal(withBad[0].node, 'convB', 'worst first');
    assert.ok(b1.get('convB')!.sqnrDb < b1.get('convA')!.sqnrDb - 20, `convB ${b1.get('convB')!.sqnrDb.toFixed(1)} dB vs convA ${b1.get('convA')!.sqnrDb.toFixed(1)} dB`);
    assert.ok(b1.get('convB')!.sqnrDb < 10);
    // isolated: convA's number does not depend on how convB is quantized
    assert.ok(Math.abs(b1.get('convA')!.sqnrDb - b0.get('convA')!.sqnrDb) < 1e-6);
    // the model given is not modified (the shadow nodes go into a copy)
    assert.equal(model.graph.node!.length, 2);
    assert.equal(model.graph.output!.length, 1);
  });

  test('only the nodes asked for, and only those with ranges; no calibration image is an error', async () => {
    const model = twoConvs();
    const ranges = await minMax(model);
    const onlyA = await layerSensitivity(model, ranges, ['convA'], feeds, { threads: 1 });
    assert.deepEqual(onlyA.map((l) => l.node), ['convA']);
    const noY: RangeTable = new Map(ranges);
    noY.delete('y');
    assert.deepEqual((await layerSensitivity(model, noY, ['convA', 'convB'], feeds, { threads: 1 })).map((l) => l.node), ['convA']);
    await assertRejectsTearless(layerSensitivity(model, ranges, ['convA'], [], { threads: 1 }), 'TL_ERR_BAD_OPTION', /at least one calibration image/);
  });

  test('sqnrDb(): ratio in dB, clamped to ±99, no noise = 99, no signal = −99', () => {
    assert.equal(sqnrDb(100, 1), 20);
    assert.ok(Math.abs(sqnrDb(2, 1) - 3.0103) < 1e-4);
    assert.equal(sqnrDb(1, 10), -10);
    assert.equal(sqnrDb(5, 0), 99);
    assert.equal(sqnrDb(0, 0), 99);
    assert.equal(sqnrDb(0, 3), -99);
    assert.equal(sqnrDb(1e30, 1e-30), 99);
    assert.equal(sqnrDb(1e-30, 1e30), -99);
  });

  test('fakeQuantizeWeights(): per output channel, error ≤ scale/2 per element, the channel max kept', () => {
    // Conv layout [out, in, kh, kw], axis 0; channels of very different magnitude and an all-zero one
    const dims = [4, 3, 2, 2];
    const inner = 12;
    const mags = [1, 0.01, 100, 0];
    const w = new Float32Array(48);
    for (let i = 0; i < 48; i++) w[i] = Math.fround((rnd() * 2 - 1) * mags[Math.floor(i / inner)]);
    const q = fakeQuantizeWeights(w, dims, 0);
    assert.equal(q.length, w.length);
    for (let c = 0; c < 4; c++) {
      const ch = w.slice(c * inner, (c + 1) * inner);
      const absMax = Math.max(...ch.map(Math.abs));
      const scale = absMax > 0 ? absMax / WEIGHT_QMAX : 1;
      for (let i = c * inner; i < (c + 1) * inner; i++) {
        assert.ok(Math.abs(q[i] - w[i]) <= scale / 2 + Math.abs(w[i]) * 1e-6, `channel ${c} element ${i}: ${w[i]} → ${q[i]} (scale ${scale})`);
        const level = q[i] / scale;
        assert.ok(Math.abs(level - Math.round(level)) < 1e-3 && Math.abs(level) <= WEIGHT_QMAX + 1e-3, `level ${level}`);
      }
      const at = c * inner + ch.findIndex((v) => Math.abs(v) === absMax);
      assert.ok(Math.abs(q[at] - w[at]) <= Math.abs(w[at]) * 1e-6, 'the largest weight of a channel is exact (±127 steps)');
    }
    assert.ok(q.slice(3 * inner).every((v) => v === 0), 'an all-zero channel stays zero'); // (±0: the weights there are ±0)

    // MatMul layout [K, N], axis 1: a column of tiny weights beside columns of large ones
    const wm = new Float32Array(15);
    for (let k = 0; k < 5; k++) for (let n = 0; n < 3; n++) wm[k * 3 + n] = Math.fround((rnd() * 2 - 1) * [50, 0.001, 1][n]);
    const qm = fakeQuantizeWeights(wm, [5, 3], 1);
    for (let n = 0; n < 3; n++) {
      const col = [0, 1, 2, 3, 4].map((k) => wm[k * 3 + n]);
      const scale = Math.max(...col.map(Math.abs)) / WEIGHT_QMAX;
      for (let k = 0; k < 5; k++) assert.ok(Math.abs(qm[k * 3 + n] - wm[k * 3 + n]) <= scale / 2 + Math.abs(wm[k * 3 + n]) * 1e-6, `column ${n} row ${k}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 4. known ranges
// ---------------------------------------------------------------------------------------------

test('applyKnownRanges(): Sigmoid/HardSigmoid outputs become [0, 1], nothing else changes, the input table is not mutated', () => {
  const model = tinyOnnxModel(
    [
      makeNode('Sigmoid', ['x'], ['s1'], { name: 'sig' }),
      makeNode('Relu', ['x'], ['r'], { name: 'relu' }),
      makeNode('HardSigmoid', ['x'], ['hs'], { name: 'hsig' }),
      makeNode('Sigmoid', ['x'], ['s_custom'], { name: 'sig_custom', domain: 'com.example' }),
      makeNode('Sigmoid', ['x'], ['s_unit'], { name: 'sig_unit' }),
      makeNode('Sigmoid', ['x'], ['s_uncalibrated'], { name: 'sig_none' }),
    ],
    [['x', [1, 4]]],
    [['s1', null]],
  );
  const input: RangeTable = new Map([
    ['x', { min: -3, max: 3 }],
    ['s1', { min: 0.01, max: 0.3 }],
    ['r', { min: 0, max: 5 }],
    ['hs', { min: 0.2, max: 0.8 }],
    ['s_custom', { min: 0.1, max: 0.2 }],
    ['s_unit', { min: 0, max: 1 }],
  ]);
  const snapshot = structuredClone([...input]);
  const { ranges, changed } = applyKnownRanges(model, input);
  assert.deepEqual(changed, ['s1', 'hs']);
  assert.deepEqual(ranges.get('s1'), { min: 0, max: 1 });
  assert.deepEqual(ranges.get('hs'), { min: 0, max: 1 });
  assert.deepEqual(ranges.get('x'), { min: -3, max: 3 });
  assert.deepEqual(ranges.get('r'), { min: 0, max: 5 });
  assert.deepEqual(ranges.get('s_custom'), { min: 0.1, max: 0.2 }, 'an op of another domain is not the ONNX Sigmoid');
  assert.deepEqual(ranges.get('s_unit'), { min: 0, max: 1 });
  assert.ok(!ranges.has('s_uncalibrated'), 'no range is invented for a tensor that was not calibrated');
  assert.equal(ranges.size, input.size);
  assert.notEqual(ranges, input);
  assert.deepEqual([...input], snapshot, 'input table untouched');
});

// ---------------------------------------------------------------------------------------------
// 5. calibration images
// ---------------------------------------------------------------------------------------------

describe('listImages() / loadCalibrationSet()', () => {
  test('a missing folder is TL_ERR_INPUT_NOT_FOUND naming the flag and the path', async () => {
    const missing = path.join(WORK, 'no-such-folder');
    await assertRejectsTearless(listImages(missing, '--calib'), 'TL_ERR_INPUT_NOT_FOUND', /^--calib: ".*no-such-folder" does not exist/);
    await assertRejectsTearless(loadCalibrationSet(missing, await profileOfPersonModel(), { count: 4, min: 1 }), 'TL_ERR_INPUT_NOT_FOUND', /no-such-folder/);
  });

  test('a folder without images is TL_ERR_DATASET_INVALID', async () => {
    const dir = tmp('no-images');
    writeFileSync(path.join(dir, 'notes.txt'), 'no pictures here');
    writeFileSync(path.join(dir, 'model.onnx'), 'x');
    await assertRejectsTearless(listImages(dir, '--calib'), 'TL_ERR_DATASET_INVALID', /^--calib: no images in ".*no-images"/);
    await assertRejectsTearless(listImages(path.join(dir, '*.jpg'), '--calib'), 'TL_ERR_DATASET_INVALID', /no images/);
  });

  test('fewer usable images than `min` is TL_ERR_DATASET_INVALID with the unreadable count; enough: the broken one is skipped', async () => {
    const dir = tmp('two-and-broken');
    copyFileSync(fixtureImage('000000000139.jpg'), path.join(dir, 'b.jpg'));
    copyFileSync(fixtureImage('000000000285.jpg'), path.join(dir, 'c.jpg'));
    writeFileSync(path.join(dir, 'a_broken.jpg'), 'these bytes are not a JPEG at all');
    const profile = await profileOfPersonModel();
    await assertRejectsTearless(
      loadCalibrationSet(dir, profile, { count: 8, min: 3 }),
      'TL_ERR_DATASET_INVALID',
      /only 2 usable image\(s\) in ".*two-and-broken" \(1 unreadable\); calibration needs at least 3/,
    );
    const set = await loadCalibrationSet(dir, profile, { count: 8, min: 2 });
    assert.deepEqual(set.files.map((f) => path.basename(f)), ['b.jpg', 'c.jpg']);
    assert.equal(set.skipped.length, 1);
    assert.match(set.skipped[0], /a_broken\.jpg/);
    assert.equal(set.feeds.length, 2);
    const [name] = Object.keys(set.feeds[0]);
    assert.equal(name, profile.input.name);
    assert.deepEqual(set.feeds[0][name].dims, [1, 3, 192, 192]);
    // count caps the images used
    assert.equal((await loadCalibrationSet(dir, profile, { count: 1, min: 1 })).feeds.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// 6. CLI: bad input
// ---------------------------------------------------------------------------------------------

const distBuilt = existsSync(path.join(ROOT, 'dist', 'cli', 'optimize.js'));
const needsDist = distBuilt ? {} : { skip: 'dist/ not built (npx tsc -p tsconfig.build.json)' };

describe('tearless optimize: bad input is exit code 2 with a stable code', needsDist, () => {
  test('-m a file that is not ONNX (an image, a text) → TL_ERR_MODEL_NOT_ONNX; a missing one → TL_ERR_MODEL_NOT_FOUND', async () => {
    const dir = tmp('not-onnx');
    const jpg = path.join(dir, 'photo.onnx');
    copyFileSync(fixtureImage('000000000139.jpg'), jpg);
    const text = path.join(dir, 'text.onnx');
    writeFileSync(text, 'hello, I am not a model\n');
    for (const m of [jpg, text]) {
      const r = await cli(['optimize', '-m', m, '--calib', path.join(FIXTURES, 'images')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Not an ONNX model.*\[TL_ERR_MODEL_NOT_ONNX\]/);
      assert.equal(r.stdout, '');
    }
    const missing = await cli(['optimize', '-m', path.join(dir, 'missing.onnx'), '--calib', path.join(FIXTURES, 'images')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /-m: cannot read ".*missing\.onnx" \(ENOENT\).*\[TL_ERR_MODEL_NOT_FOUND\]/);
  });

  test('--calib: an empty folder → TL_ERR_DATASET_INVALID; a missing one → TL_ERR_INPUT_NOT_FOUND', async () => {
    const empty = tmp('empty-calib');
    const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', empty]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--calib: no images in ".*empty-calib".*\[TL_ERR_DATASET_INVALID\]/);
    const m = await cli(['optimize', '-m', PERSON_MODEL, '--calib', path.join(WORK, 'nope')]);
    assert.equal(m.code, 2, m.stderr);
    assert.match(m.stderr, /--calib: ".*nope" does not exist.*\[TL_ERR_INPUT_NOT_FOUND\]/);
  });

  test('--data whose categories match none of the model labels → TL_ERR_DATASET_INVALID', async () => {
    const dir = tmp('zebra');
    const json = path.join(dir, 'zebra.json');
    writeFileSync(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: '000000000139.jpg', width: 640, height: 426 }],
        annotations: [{ id: 1, image_id: 1, category_id: 7, bbox: [10, 10, 50, 50], area: 2500, iscrowd: 0 }],
        categories: [{ id: 7, name: 'zebra-crossing' }],
      }),
    );
    const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', calibFolder(), '--data', json, '--images', path.join(FIXTURES, 'images')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /None of the model's classes \(person.*zebra-crossing.*--class-map.*\[TL_ERR_DATASET_INVALID\]/s);
  });

  test('--methods foo is a usage error before any work', async () => {
    const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', path.join(WORK, 'nope'), '--methods', 'foo']);
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, 2, 'commander, not a TearlessError');
    assert.match(r.stderr, /--methods takes a comma-separated list of minmax, percentile, entropy; "foo" is not one/);
    const f = await cli(['optimize', '-m', PERSON_MODEL, '--calib', path.join(WORK, 'nope'), '--formats', 'qdq,int4']);
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, /--formats takes a comma-separated list of qdq, qoperator; "int4" is not one/);
  });

  test('--keep-float names a node the model does not have, --quantize-ops an op the quantizer does not know: TL_ERR_BAD_OPTION', async () => {
    const calib = calibFolder();
    const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', calib, '--keep-float', 'Conv_0,no_such_node']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--keep-float: no node named "Conv_0", "no_such_node" in the model.*\[TL_ERR_BAD_OPTION\]/s);
    const o = await cli(['optimize', '-m', PERSON_MODEL, '--calib', calib, '--quantize-ops', 'Conv,Einsum']);
    assert.equal(o.code, 2, o.stderr);
    assert.match(o.stderr, /--quantize-ops: Einsum cannot be quantized; supported: Conv, MatMul.*\[TL_ERR_BAD_OPTION\]/s);
  });

  test(
    'an unreadable image in --calib is skipped for calibration and for the agreement guard alike',
    async () => {
      const dir = tmp('calib-with-broken');
      for (const f of readdirSync(calibFolder())) copyFileSync(path.join(calibFolder(), f), path.join(dir, f));
      writeFileSync(path.join(dir, '0000_broken.jpg'), 'garbage, not a jpeg');
      const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', dir, '--calib-images', '16', '--runs', '1', '--duration', '0.1', '--methods', 'minmax', '--formats', 'qoperator', '--json', '-o', path.join(dir, 'out', 'x.onnx')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /image skipped: .*0000_broken\.jpg/);
    },
  );

  test(
    '-o into a folder that does not exist yet: created (or refused up front), never a raw ENOENT crash',
    async (t) => {
      const out = path.join(tmp('o-missing'), 'new', 'sub', 'out.onnx');
      const r = await cli(['optimize', '-m', PERSON_MODEL, '--calib', calibFolder(), '--calib-images', '16', '--runs', '1', '--duration', '0.1', '--methods', 'minmax', '--formats', 'qoperator', '--json', '-o', out]);
      assert.doesNotMatch(r.stderr, /ENOENT|\n\s+at /, 'no stack trace');
      assert.ok(r.code === 0 || (r.code === 2 && /\[TL_ERR_/.test(r.stderr)), `exit ${r.code}: ${r.stderr.slice(0, 300)}`);
      if (r.code === 0) {
        const report = JSON.parse(r.stdout) as { chosen: string | null };
        t.diagnostic(`chosen: ${report.chosen}`);
        assert.equal(existsSync(out), report.chosen !== null);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// 7. CLI: one small real run
// ---------------------------------------------------------------------------------------------

test('tearless optimize end to end (light person detector, 16 images, minmax QDQ)', { ...needsDist, timeout: 120_000 }, async (t) => {
  const dir = tmp('e2e');
  const out = path.join(dir, 'out.onnx');
  const sidecar = path.join(dir, 'out.json');
  const inputSidecar = fixtureModel('light_person_detector_192.json');
  const shaBefore = [sha256(PERSON_MODEL), sha256(inputSidecar)];
  const cwd = tmp('e2e-cwd');

  const r = await cli(
    ['optimize', '-m', PERSON_MODEL, '--calib', calibFolder(), '--calib-images', '16', '--runs', '1', '--duration', '0.2', '--methods', 'minmax', '--formats', 'qdq', '--json', '-o', out],
    cwd,
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { chosen: string | null; output?: string; verdict: string; guard: { kind: string; images: number }; calibration: { images: number; method: string[] }; candidates: CandidateResult[] };

  const fmt = (x: number | undefined, d = 2): string => (x === undefined ? '-' : x.toFixed(d));
  t.diagnostic(`chosen: ${report.chosen} — ${report.verdict}`);
  for (const c of report.candidates) {
    t.diagnostic(
      `${c.id.padEnd(24)} ${c.kind.padEnd(12)} ×${fmt(c.speedup).padEnd(5)} e2e ×${fmt(c.endToEndSpeedup).padEnd(5)} agree ${fmt(c.agreement, 3).padEnd(5)} ${String(c.sizeBytes ?? '-').padStart(8)} B  ${c.error ? `ERROR ${c.error.code}: ${c.error.message}` : (c.rejected ?? '')}`,
    );
  }

  assert.deepEqual(report.guard, { kind: 'agreement', minAgreement: 0.97, images: 16 });
  assert.equal(report.calibration.images, 16);
  assert.deepEqual(report.calibration.method, ['minmax']);

  const ids = report.candidates.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const original = report.candidates.find((c) => c.id === 'original');
  assert.ok(original && original.kind === 'original' && original.speedup === 1 && original.agreement === 1);
  assert.equal(original.sizeBytes, readFileSync(PERSON_MODEL).length);
  const int8 = report.candidates.find((c) => c.id === 'int8-qdq-minmax');
  assert.ok(int8 && int8.kind === 'int8-static' && !int8.error, `int8-qdq-minmax: ${JSON.stringify(int8)}`);
  assert.ok(int8.quantizedNodes! > 0);
  assert.ok(!ids.some((id) => /qoperator|entropy|percentile/.test(id)), `only --methods/--formats asked for: ${ids.join(', ')}`);

  for (const c of report.candidates) {
    if (c.error) {
      assert.match(c.error.code, /^TL_ERR_[A-Z_]+$/, c.id);
      assert.ok(c.error.message.length > 0, c.id);
      continue;
    }
    for (const k of ['sizeBytes', 'speedup', 'agreement'] as const) assert.ok(Number.isFinite(c[k]), `${c.id}.${k} = ${c[k]}`);
    assert.ok(c.agreement! >= 0 && c.agreement! <= 1, c.id);
    if (c.id !== 'original') {
      for (const k of ['modelFps', 'latencyMs'] as const) assert.ok(Number.isFinite(c[k]) && c[k]! > 0, `${c.id}.${k} = ${c[k]}`);
      if (c.id !== report.chosen) assert.ok(c.rejected, `${c.id} is neither chosen nor rejected`);
    }
  }

  if (report.chosen !== null) {
    const chosen = report.candidates.find((c) => c.id === report.chosen);
    assert.ok(chosen, `chosen "${report.chosen}" is one of the rows`);
    assert.ok(!chosen.error && !chosen.rejected && chosen.kind !== 'reference' && chosen.kind !== 'original');
    assert.ok(chosen.speedup! >= MIN_SPEEDUP && chosen.agreement! >= 0.97, JSON.stringify(chosen));
    assert.equal(report.output, out);
    assert.ok(existsSync(out) && existsSync(sidecar));
    assert.equal(readFileSync(out).length, chosen.sizeBytes);
    assert.deepEqual((JSON.parse(readFileSync(sidecar, 'utf8')) as { labels: string[] }).labels, ['person']);

    const image = fixtureImage('000000000139.jpg');
    const [opt, orig] = await Promise.all([cli(['predict', '-m', out, image, '--json', '--threads', '1']), cli(['predict', '-m', PERSON_MODEL, image, '--json', '--threads', '1'])]);
    assert.equal(opt.code, 0, opt.stderr);
    assert.equal(orig.code, 0, orig.stderr);
    type Line = { width: number; height: number; detections: { label: string }[] };
    const a = JSON.parse(opt.stdout) as Line;
    const b = JSON.parse(orig.stdout) as Line;
    assert.deepEqual([a.width, a.height], [640, 426]);
    assert.ok(a.detections.every((d) => d.label === 'person'));
    assert.ok(Math.abs(a.detections.length - b.detections.length) <= 1, `optimized ${a.detections.length} vs original ${b.detections.length} boxes`);
  } else {
    assert.match(report.verdict, /original is the best/);
    assert.equal(report.output, undefined);
    assert.ok(!existsSync(out) && !existsSync(sidecar), 'nothing written');
  }
  assert.deepEqual(readdirSync(cwd), [], 'nothing written to the current folder');
  assert.deepEqual([sha256(PERSON_MODEL), sha256(inputSidecar)], shaBefore, 'the input model and its sidecar are unchanged');
});
