/** `tearless compare`: box matching, and finding a pre-processing mismatch on real images. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareDetections, summarize } from '../src/eval/compare.js';
import type { Detection } from '../src/core/types.js';
import { BUNDLED_MODEL, FIXTURES, ROOT } from './helpers.js';

const det = (classId: number, score: number, box: [number, number, number, number]): Detection => ({ label: `c${classId}`, classId, score, box });

test('compareDetections matches one-to-one by class and IoU, best score first', () => {
  const a = [det(0, 0.9, [0, 0, 10, 10]), det(0, 0.8, [1, 1, 11, 11]), det(1, 0.7, [50, 50, 60, 60])];
  const b = [det(0, 0.85, [0, 0, 10, 10]), det(1, 0.6, [0, 0, 10, 10]), det(2, 0.5, [50, 50, 60, 60])];
  const r = compareDetections(a, b);
  assert.equal(r.pairs.length, 1); // the 0.9 box takes B's only class-0 box
  assert.equal(r.pairs[0].a.score, 0.9);
  assert.equal(r.pairs[0].iou, 1);
  assert.ok(Math.abs(r.pairs[0].scoreDelta + 0.05) < 1e-9);
  assert.deepEqual(r.missing.map((d) => d.score), [0.8, 0.7]); // second class-0 box, and class 1 far away
  assert.deepEqual(r.extra.map((d) => d.classId), [1, 2]);
  const s = summarize([r]);
  assert.deepEqual([s.boxesA, s.boxesB, s.matched, s.missing, s.extra], [3, 3, 1, 2, 2]);
  assert.equal(s.pairsAtIou90, 1);
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/tearless.js'), ...args], { cwd: ROOT, maxBuffer: 32 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('compare against reference detections: identical pipeline → all boxes matched at IoU 1; wrong channel order → caught', async () => {
  const images = path.join(FIXTURES, 'images');
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-compare-'));
  const ref = path.join(dir, 'ref.jsonl');
  const p = await run(['predict', images, '--json', '--conf', '0.3']);
  assert.equal(p.code, 0, p.stderr);
  writeFileSync(ref, p.stdout);

  const same = await run(['compare', '--reference', ref, '-m', BUNDLED_MODEL, '--images', images, '--json']);
  assert.equal(same.code, 0, same.stderr);
  const s1 = JSON.parse(same.stdout).summary;
  assert.ok(s1.boxesA > 20);
  assert.equal(s1.matched, s1.boxesA);
  assert.equal(s1.extra, 0);
  // predict --json rounds boxes to 0.01 px and scores to 1e-5.
  assert.ok(s1.meanIou > 0.999 && s1.maxAbsScoreDelta < 1e-4, JSON.stringify(s1));

  // The same weights fed RGB instead of BGR: the classic export mismatch.
  const rgb = path.join(dir, 'rgb.onnx');
  copyFileSync(BUNDLED_MODEL, rgb);
  writeFileSync(path.join(dir, 'rgb.json'), JSON.stringify({ input: { channels: 'rgb' } }));
  const wrong = await run(['compare', '--reference', ref, '-m', rgb, '--images', images, '--json']);
  assert.equal(wrong.code, 0, wrong.stderr);
  const s2 = JSON.parse(wrong.stdout).summary;
  assert.ok(s2.missing + s2.extra > 0 || s2.pairsAtIou90 < 0.95, JSON.stringify(s2));
  assert.ok(s2.maxAbsScoreDelta > 0.05, JSON.stringify(s2));

  const bad = await run(['compare', '-m', BUNDLED_MODEL, '--images', images]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /exactly two sides.*TL_ERR_BAD_OPTION/s);
});
