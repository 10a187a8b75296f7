/**
 * The evaluator against real pycocotools: for each case, the 12 summary numbers and the
 * per-class AP, AP50, AP75 and AR that pycocotools' COCOeval (iouType 'bbox') computed on the
 * very same ground truth and detections must agree to 1e-4. The references are
 * test/fixtures/eval/pycocotools_*.json; PYCOCOTOOLS.md beside them tells how they were made
 * (no pycocotools code is in this repository).
 *
 *  - 8 COCO images × the bundled YOLOX-nano (detections committed);
 *  - COCO-128 × the bundled YOLOX-nano (detections too big to commit: regenerated with the CLI,
 *    checked against the sha256 of the file pycocotools scored; needs ../shared/data and dist/);
 *  - a synthetic stress case (crowd regions, `ignore` flags, ties, annotation id 0, areas on the
 *    bucket boundaries, IoU exactly at thresholds, > 100 detections per image), with the
 *    default maxDets and with [2, 5, 100];
 *  - BCCD ground truth × seeded jittered detections (ground truth from ../shared/data).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cocoEvaluate } from '../src/eval/report.js';
import type { CocoDetection, CocoGroundTruth } from '../src/eval/types.js';
import { FIXTURES, ROOT, sharedData } from './helpers.js';

const TOLERANCE = 1e-4;
const EVAL = path.join(FIXTURES, 'eval');

/** One pycocotools_*.json reference. */
interface Reference {
  gt: string;
  results: string | null;
  gt_sha256: string;
  results_sha256: string;
  params: { maxDets: number[] };
  /** COCOeval.stats, full float precision. */
  stats: number[];
  /** Per category (area all): AP and AR over IoU .50:.95, AP at .50 and .75; -1 without ground truth. */
  perClass: { categoryId: number; name: string; ap: number; ap50: number; ap75: number; ar: number }[];
}

const reference = (name: string): Reference => JSON.parse(readFileSync(path.join(EVAL, name), 'utf8')) as Reference;
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** |a - b|, with pycocotools' -1 ("no ground truth") required to match exactly. */
function difference(ours: number, theirs: number, what: string): number {
  if (theirs === -1 || ours === -1) {
    assert.equal(ours, theirs, `${what}: ours ${ours}, pycocotools ${theirs}`);
    return 0;
  }
  const d = Math.abs(ours - theirs);
  assert.ok(d <= TOLERANCE, `${what}: ours ${ours}, pycocotools ${theirs} (difference ${d})`);
  return d;
}

/** Evaluate, compare every stored number, report the largest absolute difference. */
function assertAgrees(t: TestContext, gt: CocoGroundTruth, detections: CocoDetection[], ref: Reference): number {
  const res = cocoEvaluate(gt, detections, { maxDets: ref.params.maxDets });
  assert.equal(res.stats.length, 12);
  assert.equal(ref.stats.length, 12);
  let worst = 0;
  res.stats.forEach((s, i) => { worst = Math.max(worst, difference(s.value, ref.stats[i], `stats[${i}] ${s.name}`)); });
  assert.deepEqual(res.perClass.map((c) => c.categoryId), ref.perClass.map((c) => c.categoryId), 'same categories, same order');
  res.perClass.forEach((c, k) => {
    const r = ref.perClass[k];
    for (const key of ['ap', 'ap50', 'ap75', 'ar'] as const) worst = Math.max(worst, difference(c[key], r[key], `${c.name} ${key}`));
  });
  t.diagnostic(`largest |tearless - pycocotools| over 12 stats + ${4 * ref.perClass.length} per-class numbers: ${worst}`);
  return worst;
}

test('8 COCO images, bundled YOLOX-nano: agrees with pycocotools', (t) => {
  const ref = reference('pycocotools_yolox_8.json');
  const gtFile = path.join(FIXTURES, 'coco_gt_8.json'), resFile = path.join(EVAL, 'yolox_8_results.json');
  assert.equal(sha256(gtFile), ref.gt_sha256);
  assert.equal(sha256(resFile), ref.results_sha256);
  const gt = readJson<CocoGroundTruth>(gtFile), dets = readJson<CocoDetection[]>(resFile);
  // As read (no iscrowd/area: our defaults apply) and as pycocotools was given it.
  assertAgrees(t, gt, dets, ref);
  const completed: CocoGroundTruth = { ...gt, annotations: gt.annotations.map((a) => ({ ...a, iscrowd: 0, area: a.bbox[2] * a.bbox[3] })) };
  assertAgrees(t, completed, dets, ref);
});

test('synthetic stress case (crowds, ignore flags, ties, id 0, boundaries, > 100 per image): agrees with pycocotools', (t) => {
  const gtFile = path.join(EVAL, 'stress_gt.json'), resFile = path.join(EVAL, 'stress_results.json');
  const gt = readJson<CocoGroundTruth>(gtFile), dets = readJson<CocoDetection[]>(resFile);
  for (const name of ['pycocotools_stress.json', 'pycocotools_stress_maxdets.json']) {
    const ref = reference(name);
    assert.equal(sha256(gtFile), ref.gt_sha256);
    assert.equal(sha256(resFile), ref.results_sha256);
    assertAgrees(t, gt, dets, ref);
  }
});

const bccd = sharedData('cells/bccd/bccd_coco.json');
test('BCCD with seeded jittered detections: agrees with pycocotools', { skip: !bccd && 'shared data absent' }, (t) => {
  const ref = reference('pycocotools_bccd.json');
  const resFile = path.join(EVAL, 'bccd_results.json');
  assert.equal(sha256(bccd!), ref.gt_sha256, 'the BCCD ground truth pycocotools scored');
  assert.equal(sha256(resFile), ref.results_sha256);
  assertAgrees(t, readJson<CocoGroundTruth>(bccd!), readJson<CocoDetection[]>(resFile), ref);
});

const coco128 = sharedData('coco/instances_val2017_first128.json');
const val2017 = sharedData('coco/val2017');
test('COCO-128, bundled YOLOX-nano (detections regenerated): agrees with pycocotools', { skip: !(coco128 && val2017) && 'shared data absent' }, async (t) => {
  const ref = reference('pycocotools_yolox_128.json');
  assert.equal(sha256(coco128!), ref.gt_sha256, 'the COCO-128 ground truth pycocotools scored');
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-pycoco-'));
  try {
    const resFile = path.join(dir, 'results.json');
    const args = [path.join(ROOT, 'bin/tearless.js'), 'eval', '--data', coco128!, '--images', val2017!, '--save-results', resFile, '--no-progress'];
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 32 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, _stdout, stderr) =>
        (err ? reject(new Error(`tearless eval failed: ${stderr}`)) : resolve()),
      );
    });
    assert.equal(sha256(resFile), ref.results_sha256, 'the detections differ from those pycocotools scored (model or pipeline output changed?); regenerate the reference as PYCOCOTOOLS.md describes');
    assertAgrees(t, readJson<CocoGroundTruth>(coco128!), readJson<CocoDetection[]>(resFile), ref);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
