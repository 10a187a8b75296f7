/** `tearless eval` as a user runs it: real models, real COCO images and ground truth. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FIXTURES, ROOT, fixtureModel } from './helpers.js';

const GT = path.join(FIXTURES, 'coco_gt_8.json');
const IMAGES = path.join(FIXTURES, 'images');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/tearless.js'), ...args], { cwd: ROOT, maxBuffer: 32 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('eval --json: the documented shape, pycocotools-order stats, and results that re-score identically', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-eval-'));
  const results = path.join(dir, 'results.json');
  const r = await run(['eval', '--data', GT, '--images', IMAGES, '--json', '--save-results', results, '--plots', dir]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['detections', 'images', 'map', 'map50', 'map75', 'model', 'perClass', 'stats']);
  assert.equal(out.stats.length, 12);
  assert.equal(out.images, 8);
  assert.equal(out.map, out.stats[0]);
  assert.equal(out.map50, out.stats[1]);
  assert.ok(out.map > 0.2 && out.map < 0.6, `mAP ${out.map}`);
  assert.ok(out.map50 >= out.map && out.map50 >= out.map75);
  assert.ok(out.perClass.person > 0.2, JSON.stringify(out.perClass));
  assert.ok(out.detections > 100); // conf 0.001 keeps the long tail, as COCO evaluation expects

  const saved = JSON.parse(readFileSync(results, 'utf8'));
  assert.equal(saved.length, out.detections);
  assert.deepEqual(Object.keys(saved[0]).sort(), ['bbox', 'category_id', 'image_id', 'score']);
  assert.ok(saved.every((d: { image_id: number }) => [139, 285, 632, 724, 776, 1000, 1268, 2153].includes(d.image_id)));

  const rescored = await run(['eval', '--detections', results, '--data', GT, '--json']);
  assert.equal(rescored.code, 0, rescored.stderr);
  const again = JSON.parse(rescored.stdout);
  // Saved boxes are rounded to 0.01 px: the scores agree to well within 1e-3.
  again.stats.forEach((v: number, i: number) => assert.ok(Math.abs(v - out.stats[i]) < 1e-3, `stat ${i}: ${v} vs ${out.stats[i]}`));

  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.svg')).sort(), ['class_ap.svg', 'pr_curves.svg']);
  const svg = readFileSync(path.join(dir, 'pr_curves.svg'), 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns/);
  assert.match(svg, /person/);
});

test('eval side by side: two models give one table / {"models": [...]}', async () => {
  const r = await run(['eval', '-m', path.join(ROOT, 'models/yolox_nano_416_coco.onnx'), '-m', fixtureModel('nanodet_m_320_coco.onnx'), '--data', GT, '--images', IMAGES, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.models.length, 2);
  assert.match(out.models[1].model, /nanodet/);
  assert.ok(out.models.every((m: { stats: number[] }) => m.stats.length === 12 && m.stats[0] > 0.1));
  const table = await run(['eval', '-m', path.join(ROOT, 'models/yolox_nano_416_coco.onnx'), '-m', fixtureModel('nanodet_m_320_coco.onnx'), '--data', GT, '--images', IMAGES]);
  assert.match(table.stdout, /AP @\[\.50:\.95\]\s+0\.\d{3}\s+0\.\d{3}/);
});

test('eval: class mapping by name, and a clear error when nothing maps', async () => {
  // One-class person detector: only "person" maps, so only person is scored.
  const person = await run(['eval', '-m', fixtureModel('light_person_detector_192.onnx'), '--data', GT, '--images', IMAGES, '--json']);
  assert.equal(person.code, 0, person.stderr);
  assert.deepEqual(Object.keys(JSON.parse(person.stdout).perClass), ['person']);
  assert.match(person.stderr, /1 model class\(es\) mapped/);

  const face = await run(['eval', '-m', fixtureModel('ultraface_rfb_320_face.onnx'), '--data', GT, '--images', IMAGES]);
  assert.equal(face.code, 2);
  assert.match(face.stderr, /None of the model's classes \(face.*--class-map.*TL_ERR_DATASET_INVALID/s);

  const mapped = await run(['eval', '-m', fixtureModel('ultraface_rfb_320_face.onnx'), '--data', GT, '--images', IMAGES, '--class-map', '{"face": "person"}', '--json']);
  assert.equal(mapped.code, 0, mapped.stderr);
  assert.ok(JSON.parse(mapped.stdout).perClass.person >= 0);
});

test('eval: malformed inputs are named, never a crash', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-eval-bad-'));
  const badGt = path.join(dir, 'gt.json');
  writeFileSync(badGt, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg', width: 10, height: 10 }], categories: [{ id: 1, name: 'person' }], annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, 'x', 1] }] }));
  const r1 = await run(['eval', '--data', badGt, '--detections', badGt]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /gt\.json.*TL_ERR_DATASET_INVALID/s);

  const badRes = path.join(dir, 'res.json');
  writeFileSync(badRes, JSON.stringify([{ image_id: 139, category_id: 1, bbox: [1, 2, 3], score: 0.5 }]));
  const r2 = await run(['eval', '--data', GT, '--detections', badRes]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /entry 0 of ".*res\.json" is not \{image_id/);

  const r3 = await run(['eval', '--data', path.join(dir, 'nope.json')]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /nope\.json/);
});
