/**
 * The COCO evaluator against hand-derived cases (test/fixtures/eval/hand-cases.ts) and against
 * a result pycocotools itself printed (test/fixtures/eval/torchmetrics-sample.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accumulate, defaultParams, evalImage, evaluate, fixed, formatSummary, summarize,
} from '../src/eval/cocoeval.js';
import { cocoEvaluate, precisionRecallCurves } from '../src/eval/report.js';
import { bboxIou } from '../src/eval/box-iou.js';
import { linspace, meanOfValid, pairwiseSum } from '../src/eval/numeric.js';
import { isTearlessError } from '../src/core/errors.js';
import type { CocoDetection, CocoGroundTruth } from '../src/eval/types.js';
import { HAND_CASES } from './fixtures/eval/hand-cases.js';
import { PREDS, PYCOCOTOOLS_CLASS_AP, PYCOCOTOOLS_CLASS_AR, PYCOCOTOOLS_STATS, TARGETS } from './fixtures/eval/torchmetrics-sample.js';

const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected} but got ${actual}`);
};

for (const c of HAND_CASES) {
  test(`hand case: ${c.name}`, () => {
    const res = cocoEvaluate(c.gt, c.dts, c.params);
    c.stats.forEach((want, i) => {
      if (want !== null) close(res.stats[i].value, want, `${res.stats[i].name}`);
    });
    for (const [id, ap] of Object.entries(c.perClassAp ?? {})) {
      close(res.perClass.find((p) => p.categoryId === Number(id))!.ap, ap, `AP of category ${id}`);
    }
  });
}

test('matches a published pycocotools summary (torchmetrics sample, 24 numbers)', () => {
  const xywh = (b: number[]): [number, number, number, number] => [b[0], b[1], b[2] - b[0], b[3] - b[1]];
  const gt: CocoGroundTruth = {
    images: TARGETS.map(([id]) => ({ id })),
    categories: [0, 1, 2, 3, 4, 5].map((id) => ({ id, name: `class ${id}` })),
    annotations: TARGETS.flatMap(([image_id, boxes, labels]) => boxes.map((b, j) => ({ image_id, category_id: labels[j], bbox: xywh(b) }))),
  };
  const dts: CocoDetection[] = PREDS.flatMap(([image_id, boxes, scores, labels]) => boxes.map((b, j) => ({ image_id, category_id: labels[j], bbox: xywh(b), score: scores[j] })));
  const res = cocoEvaluate(gt, dts);
  assert.deepEqual(res.stats.map((s) => fixed(s.value, 3)), PYCOCOTOOLS_STATS);
  assert.deepEqual(res.perClass.map((p) => fixed(p.ap, 3)), PYCOCOTOOLS_CLASS_AP);
  assert.deepEqual(res.perClass.map((p) => fixed(p.ar, 3)), PYCOCOTOOLS_CLASS_AR);
  assert.equal(res.summary[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.706');
  assert.equal(res.summary[7], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.716');
});

test('default parameters are the exact floats pycocotools uses', () => {
  const p = defaultParams();
  assert.deepEqual(p.iouThrs, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
  assert.equal(p.recThrs.length, 101);
  p.recThrs.forEach((r, i) => assert.equal(r, i * 0.01));
  assert.deepEqual(p.maxDets, [1, 10, 100]);
  assert.deepEqual(p.areaRanges.map((a) => a.range), [[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]]);
  assert.deepEqual(linspace(0, 1, 3), [0, 0.5, 1]);
});

test("numpy's pairwise summation and the -1 convention", () => {
  // 8 accumulators then a tree: differs from a left-to-right sum in the last bits.
  const a = Array.from({ length: 1000 }, (_, i) => 1 / (i + 1));
  const naive = a.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(pairwiseSum(a) - naive) < 1e-12);
  assert.equal(pairwiseSum([1, 2, 3]), 6);
  assert.equal(meanOfValid([-1, -1]), -1);
  assert.equal(meanOfValid([-1, 0.5, 1]), 0.75);
});

test("formatting follows Python's {:0.3f} (round half to even on exact ties)", () => {
  assert.equal(fixed(0.0625, 3), '0.062');
  assert.equal(fixed(0.1875, 3), '0.188');
  assert.equal(fixed(0.1235, 3), '0.123'); // 0.1235 is stored just below the tie
  assert.equal(fixed(-1, 3), '-1.000');
});

test('box IoU: no +1 convention; crowd IoU is intersection over the detection area', () => {
  const iou = bboxIou([[0, 0, 10, 10], [5, 5, 10, 10]], [[0, 0, 10, 10], [0, 0, 100, 100]], [0, 1]);
  assert.equal(iou[0], 1); // d0 vs g0
  assert.equal(iou[1], 1); // d0 inside crowd g1: 100 / 100
  assert.equal(iou[2], 25 / 175); // d1 vs g0
  assert.equal(iou[3], 1); // d1 inside the crowd
  assert.equal(bboxIou([[0, 0, 10, 10]], [[10, 0, 10, 10]])[0], 0); // touching edges: no overlap
});

test('per-image records reproduce evaluateImg (crowd case)', () => {
  const c = HAND_CASES.find((h) => h.name === 'crowd region absorbs detections')!;
  const ev = evaluate(c.gt, c.dts);
  const e = evalImage(ev, 0, 0, 0)!;
  assert.deepEqual(e.gtIds, [1, 2]); // regular first, crowd last
  assert.deepEqual(e.dtIds, [1, 2, 3]);
  assert.deepEqual(e.dtScores, [0.9, 0.8, 0.7]);
  assert.deepEqual(e.dtMatches[0], [2, 1, 2]); // d1 and d3 on the crowd, d2 on the box
  assert.deepEqual(e.dtIgnore[0], [1, 0, 1]);
  assert.deepEqual(e.gtMatches[0], [2, 3]); // the crowd keeps the last detection it absorbed
  assert.deepEqual(e.gtIgnore, [0, 1]);
  assert.equal(evalImage(ev, 0, 0, 5), null);
});

test('precision/recall curves sample the interpolated precision at each recall point', () => {
  const c = HAND_CASES.find((h) => h.name === 'area buckets')!;
  const res = cocoEvaluate(c.gt, c.dts);
  const [curve] = precisionRecallCurves(c.gt, res.accumulation, { iouThr: 0.5 });
  assert.equal(curve.recall.length, 101);
  // rc = [1/3, 2/3, 2/3]: points 0…0.33 → rank 0 (score .9), 0.34…0.66 → rank 1 (.8), then past the end.
  curve.precision.forEach((p, r) => close(p, r <= 66 ? 1 : 0, `precision at ${r}`));
  assert.deepEqual(curve.scores.slice(0, 34), Array(34).fill(0.9));
  assert.deepEqual(curve.scores.slice(34, 67), Array(33).fill(0.8));
  assert.deepEqual(curve.scores.slice(67), Array(34).fill(0));
  assert.throws(() => precisionRecallCurves(c.gt, res.accumulation, { iouThr: 0.42 }), /not one of the evaluated IoU thresholds/);
});

test('custom maxDets: the headline AP uses 100 when evaluated, else the largest', () => {
  const c = HAND_CASES.find((h) => h.name === 'maxDets cut')!;
  const withCut = cocoEvaluate(c.gt, c.dts, { maxDets: [1, 11, 12] });
  assert.deepEqual(withCut.stats.map((s) => s.name).slice(6, 9), ['AR1', 'AR11', 'AR12']);
  close(withCut.stats[7].value, 0.5, 'AR11'); // the 11th detection is the first TP
  close(withCut.stats[8].value, 1, 'AR12');
  close(withCut.stats[0].value, 1 / 6, 'AP (maxDets 12)');
  assert.ok(formatSummary(withCut.stats, withCut.accumulation.params.iouThrs)[8].includes('maxDets= 12'));
});

test('detections: unknown categories are dropped, unknown images and bad values refused', () => {
  const gt: CocoGroundTruth = { images: [{ id: 1 }], categories: [{ id: 1, name: 'a' }], annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 10] }] };
  const ev = evaluate(gt, [{ image_id: 1, category_id: 7, bbox: [0, 0, 10, 10], score: 1 }]);
  assert.equal(ev.droppedDetections, 1);
  const bad = (dts: unknown, re: RegExp): void => {
    assert.throws(() => evaluate(gt, dts as CocoDetection[]), (err: unknown) => isTearlessError(err) && err.code === 'TL_ERR_BAD_OPTION' && re.test(err.message));
  };
  bad([{ image_id: 2, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }], /detections\[0\]\.image_id 2 .* not an image of the ground truth/);
  bad([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }], /detections\[0\]\.bbox/);
  bad([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: NaN }], /detections\[0\]\.score/);
  assert.throws(() => evaluate({ ...gt, annotations: [gt.annotations[0], { ...gt.annotations[0], id: 1 }] }, []), /not a unique number/);
  assert.throws(() => evaluate(gt, [], { iouThrs: [] }), /iouThrs/);
});

test('accumulate on an evaluation with no images gives -1 everywhere', () => {
  const acc = accumulate(evaluate({ images: [], categories: [{ id: 1, name: 'a' }], annotations: [] }, []));
  assert.ok(summarize(acc).every((s) => s.value === -1));
});

test('the evaluator and its helpers stay isomorphic (no Node or native imports)', async () => {
  const { readFile } = await import('node:fs/promises');
  const isomorphic = ['cocoeval', 'params', 'summary', 'numeric', 'box-iou', 'report', 'class-map', 'types', 'errors', 'plots', 'compare', 'datasets/xml', 'datasets/yaml'];
  for (const name of isomorphic) {
    const src = await readFile(new URL(`../src/eval/${name}.ts`, import.meta.url), 'utf8');
    const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    // Besides relative imports, only pure-JS packages that run in a browser too.
    for (const spec of imports) assert.ok(spec.startsWith('.') || ['yaml', 'fast-xml-parser'].includes(spec), `src/eval/${name}.ts imports ${spec}`);
    assert.doesNotMatch(src, /\b(process|Buffer|require)\b[.(]/, `src/eval/${name}.ts uses a Node global`);
  }
});
