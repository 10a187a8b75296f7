/** The `tearless` CLI as a user runs it: real process, real files, exit codes, JSON Lines shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT, FIXTURES, fixtureImage } from './helpers.js';

const BIN = path.join(ROOT, 'bin', 'tearless.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 32 << 20, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('predict --json prints one exact-shaped JSON object per input, in order', async () => {
  const images = path.join(FIXTURES, 'images');
  const r = await run(['predict', images, '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const expected = readdirSync(images).filter((f) => /\.(jpg|png)$/.test(f)).sort().map((f) => path.join(images, f));
  assert.deepEqual(lines.map((l) => l.source), expected);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ['source', 'width', 'height', 'detections']);
    assert.ok(Number.isInteger(l.width) && Number.isInteger(l.height));
    for (const d of l.detections) {
      assert.deepEqual(Object.keys(d), ['label', 'classId', 'score', 'box']);
      assert.equal(typeof d.label, 'string');
      assert.ok(Number.isInteger(d.classId));
      assert.ok(d.score >= 0.25 && d.score <= 1);
      assert.equal(d.box.length, 4);
      assert.ok(d.box[0] >= 0 && d.box[2] <= l.width && d.box[1] >= 0 && d.box[3] <= l.height && d.box[0] < d.box[2]);
    }
  }
  const img139 = lines.find((l) => l.source.endsWith('000000000139.jpg'));
  assert.deepEqual([img139.width, img139.height], [640, 426]);
  assert.equal(img139.detections[0].label, 'tv');
  assert.equal(img139.detections[0].classId, 62);
});

test('predict: a broken input is named on stderr, the rest still run, exit code 1', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-cli-'));
  const broken = path.join(dir, 'broken.jpg');
  writeFileSync(broken, 'not really a jpeg');
  const r = await run(['predict', fixtureImage('000000000139.jpg'), broken, path.join(dir, 'missing.jpg'), '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /broken\.jpg.*TL_ERR_IMAGE_UNSUPPORTED_FORMAT/);
  assert.match(r.stderr, /missing\.jpg.*TL_ERR_INPUT_NOT_FOUND/);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).source, fixtureImage('000000000139.jpg'));
});

test('predict --classes filters by name; unknown class names are a clear error', async () => {
  const ok = await run(['predict', fixtureImage('000000000139.jpg'), '--json', '--classes', 'person,Dining Table']);
  assert.equal(ok.code, 0, ok.stderr);
  const labels = new Set(JSON.parse(ok.stdout).detections.map((d: { label: string }) => d.label));
  assert.deepEqual([...labels].sort(), ['dining table', 'person']);
  const bad = await run(['predict', fixtureImage('000000000139.jpg'), '--classes', 'persn']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no class "persn".*TL_ERR_BAD_OPTION/s);
});

test('predict rejects bad option values before doing any work', async () => {
  const r = await run(['predict', fixtureImage('000000000139.jpg'), '--conf', '1.5']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--conf must be a number between 0 and 1/);
});

test('predict -o writes annotated copies with the original size', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'tearless-annotated-'));
  const r = await run(['predict', fixtureImage('000000000139.jpg'), fixtureImage('plate_rgba_1280x720.png'), '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /summary 2 images/);
  assert.deepEqual(readdirSync(out).sort(), ['000000000139.jpg', 'plate_rgba_1280x720.png']);
  const a = await sharp(path.join(out, '000000000139.jpg')).metadata();
  assert.deepEqual([a.width, a.height, a.format], [640, 426, 'jpeg']);
  // Drawing changed pixels compared with the input.
  const [orig, drawn] = await Promise.all([
    sharp(fixtureImage('000000000139.jpg')).raw().toBuffer(),
    sharp(path.join(out, '000000000139.jpg')).raw().toBuffer(),
  ]);
  let changed = 0;
  for (let i = 0; i < orig.length; i++) if (Math.abs(orig[i] - drawn[i]) > 40) changed++;
  assert.ok(changed > 1000, `only ${changed} values changed`);
});

test('model errors: missing file, not an ONNX file, not understood — each with its code', async () => {
  const missing = await run(['predict', '-m', '/nope/model.onnx', fixtureImage('000000000139.jpg')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /TL_ERR_MODEL_NOT_FOUND/);
  const notOnnx = await run(['predict', '-m', fixtureImage('000000000139.jpg'), fixtureImage('000000000139.jpg')]);
  assert.equal(notOnnx.code, 2);
  assert.match(notOnnx.stderr, /not an ONNX file.*TL_ERR_MODEL_NOT_ONNX/s);
});

test('a sidecar JSON next to the model overrides the profile', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-sidecar-'));
  const model = path.join(dir, 'person.onnx');
  copyFileSync(path.join(FIXTURES, 'models', 'light_person_detector_192.onnx'), model);
  writeFileSync(path.join(dir, 'person.json'), JSON.stringify({ labels: ['pedestrian'] }));
  const r = await run(['predict', '-m', model, fixtureImage('000000001000.jpg'), '--json', '--conf', '0.3']);
  assert.equal(r.code, 0, r.stderr);
  const dets = JSON.parse(r.stdout).detections;
  assert.ok(dets.length > 0 && dets.every((d: { label: string }) => d.label === 'pedestrian'));
  writeFileSync(path.join(dir, 'person.json'), JSON.stringify({ input: { chanels: 'bgr' } }));
  const bad = await run(['predict', '-m', model, fixtureImage('000000000139.jpg')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown key "input.chanels".*TL_ERR_PROFILE_INVALID/s);
});

test('info --json shows the resolved profile of the bundled model', async () => {
  const r = await run(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.profile.output.family, 'yolox');
  assert.equal(info.profile.input.channels, 'bgr');
  assert.equal(info.profile.labels.length, 80);
});
