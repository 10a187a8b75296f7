/**
 * Profile auto-detection on the real exports of every family, through `Detector.load` (the
 * path users take), plus an end-to-end sanity check of each on a real image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Detector } from '../src/pipeline/detector.js';
import { TearlessError } from '../src/core/errors.js';
import { iou } from '../src/core/iou.js';
import { BUNDLED_MODEL, fixtureImage, fixtureModel, sharedData } from './helpers.js';

async function withDetector<T>(model: string, fn: (d: Detector) => Promise<T>): Promise<T> {
  const det = await Detector.load(model, { threads: 1 });
  try {
    return await fn(det);
  } finally {
    await det.close();
  }
}

test('YOLOX raw grid without a sidecar: detected with the official YOLOX pre-processing', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tearless-yolox-'));
  const bare = path.join(dir, 'model.onnx');
  copyFileSync(BUNDLED_MODEL, bare);
  const [bareDets, bundledDets] = await Promise.all([
    withDetector(bare, async (d) => {
      assert.equal(d.profile.output.family, 'yolox');
      assert.deepEqual(d.profile.output.strides, [8, 16, 32]);
      assert.equal(d.profile.input.channels, 'bgr');
      assert.equal(d.profile.input.anchor, 'topleft');
      assert.equal(d.profile.input.padValue, 114);
      assert.equal(d.profile.input.scale, 1);
      assert.equal(d.profile.labels[62], 'tv'); // 80 classes → COCO names
      return (await d.detect(fixtureImage('000000000139.jpg'))).detections;
    }),
    withDetector(BUNDLED_MODEL, async (d) => (await d.detect(fixtureImage('000000000139.jpg'))).detections),
  ]);
  assert.deepEqual(bareDets, bundledDets);
});

test('one-class YOLOX (192 px person detector): strides from the 756-row grid', async () => {
  await withDetector(fixtureModel('light_person_detector_192.onnx'), async (d) => {
    assert.equal(d.profile.output.family, 'yolox');
    assert.deepEqual(d.profile.output.strides, [8, 16, 32]);
    assert.deepEqual(d.profile.labels, ['person']); // from its sidecar
    const { detections } = await d.detect(fixtureImage('000000001000.jpg'), { conf: 0.3 });
    assert.ok(detections.length >= 3, `found ${detections.length} people`);
  });
});

test('NanoDet GFL head: BGR, mean/std, centred letterbox, strides 8/16/32', async () => {
  await withDetector(fixtureModel('nanodet_m_320_coco.onnx'), async (d) => {
    const p = d.profile;
    assert.equal(p.output.family, 'gfl');
    assert.deepEqual(p.output.strides, [8, 16, 32]);
    assert.equal(p.output.regMax, 7);
    assert.equal(p.input.channels, 'bgr');
    assert.deepEqual(p.input.mean, [103.53, 116.28, 123.675]);
    const { detections } = await d.detect(fixtureImage('000000000139.jpg'), { conf: 0.4 });
    assert.ok(detections.some((x) => x.label === 'tv'), JSON.stringify(detections));
  });
});

test('PicoDet GFL head (paddle names): roles from shapes, 4 strides, RGB stretch', { skip: !sharedData('models/picodet_s_320_coco.onnx') }, async () => {
  await withDetector(sharedData('models/picodet_s_320_coco.onnx')!, async (d) => {
    const p = d.profile;
    assert.equal(p.output.family, 'gfl');
    assert.deepEqual(p.output.strides, [8, 16, 32, 64]);
    assert.equal(p.input.channels, 'rgb');
    assert.equal(p.input.resize, 'stretch');
    const { detections } = await d.detect(fixtureImage('000000000139.jpg'), { conf: 0.4 });
    assert.ok(detections.some((x) => x.label === 'tv'), JSON.stringify(detections));
  });
});

test('DEIMv2 (DETR-style, labels/boxes/scores + orig_target_sizes): boxes in original pixels, no NMS', async () => {
  await withDetector(fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx'), async (d) => {
    const p = d.profile;
    assert.equal(p.output.family, 'detr');
    assert.equal(p.output.boxesInOriginal, true);
    assert.equal(p.nms, false);
    assert.deepEqual(p.input.origSizeInput, { name: 'orig_target_sizes', order: 'wh', dtype: 'int64' });
    assert.equal(p.input.resize, 'stretch');
    const { detections } = await d.detect(fixtureImage('000000000139.jpg'), { conf: 0.5 });
    const tv = detections.find((x) => x.label === 'tv');
    // COCO ground truth for the TV in image 139: [7.03, 167.76, 156.35, 262.63] (xyxy).
    assert.ok(tv && iou(tv.box, [7.03, 167.76, 156.35, 262.63]) > 0.8, JSON.stringify(detections));
  });
});

test('UltraFace SSD: in-graph decoded and raw-with-priors variants give the same faces', async () => {
  const run = (m: string): Promise<{ family: string; priors: boolean; dets: { box: number[]; score: number }[] }> =>
    withDetector(fixtureModel(m), async (d) => ({
      family: d.profile.output.family,
      priors: d.profile.output.priors !== undefined,
      dets: (await d.detect(fixtureImage('000000001000.jpg'), { conf: 0.7, iou: 0.3 })).detections,
    }));
  const decoded = await run('ultraface_rfb_320_face.onnx');
  const raw = await run('ultraface_rfb_320_face_raw.onnx');
  assert.equal(decoded.family, 'ssd');
  assert.equal(decoded.priors, false);
  assert.equal(raw.priors, true);
  assert.ok(decoded.dets.length > 0, 'faces found');
  assert.equal(raw.dets.length, decoded.dets.length);
  raw.dets.forEach((r, i) => assert.ok(iou(r.box, decoded.dets[i].box) > 0.99));
});

test('HyperLPR plates (YOLOv5-face layout) with a sidecar: landmarks skipped, plate found', async () => {
  await withDetector(fixtureModel('hyperlpr3_y5fu_320_plate.onnx'), async (d) => {
    assert.equal(d.profile.output.family, 'yolov5');
    assert.equal(d.profile.output.classOffset, 13);
    const { detections } = await d.detect(fixtureImage('plate_2.png'), { conf: 0.5 });
    // Reference (PROVENANCE.md, the 640 model): plate at about [212, 152, 572, 335].
    assert.ok(detections.some((x) => iou(x.box, [212, 152, 572, 335]) > 0.7), JSON.stringify(detections));
  });
});

test('Ultralytics YOLOv8n int8 ([1, 84, 8400], names in metadata)', { skip: !sharedData('models/yolov8n_int8dyn_640_coco_AGPL.onnx') }, async () => {
  await withDetector(sharedData('models/yolov8n_int8dyn_640_coco_AGPL.onnx')!, async (d) => {
    assert.equal(d.profile.output.family, 'yolov8');
    assert.equal(d.profile.output.transposed, true);
    assert.equal(d.profile.input.anchor, 'center');
    assert.equal(d.profile.labels[0], 'person');
    const { detections } = await d.detect(fixtureImage('000000000139.jpg'), { conf: 0.4 });
    assert.ok(detections.some((x) => x.label === 'tv' && iou(x.box, [7.03, 167.76, 156.35, 262.63]) > 0.8), JSON.stringify(detections));
  });
});

test('YOLOv5n fp16 (float16 input/output, symbolic shapes)', { skip: !sharedData('models/yolov5n_fp16_640_coco_AGPL.onnx') }, async () => {
  await withDetector(sharedData('models/yolov5n_fp16_640_coco_AGPL.onnx')!, async (d) => {
    assert.equal(d.profile.output.family, 'yolov5');
    assert.equal(d.profile.input.dtype, 'float16');
    assert.deepEqual([d.profile.input.width, d.profile.input.height], [640, 640]);
    const { detections } = await d.detect(fixtureImage('000000000139.jpg'), { conf: 0.4 });
    assert.ok(detections.some((x) => x.label === 'tv' && iou(x.box, [7.03, 167.76, 156.35, 262.63]) > 0.8), JSON.stringify(detections));
  });
});

test('a model no family matches: the error lists the signature and how to write a sidecar', { skip: !sharedData('models/yunet_120x160_face.onnx') }, async () => {
  await assert.rejects(Detector.load(sharedData('models/yunet_120x160_face.onnx')!), (err: unknown) => {
    assert.ok(err instanceof TearlessError);
    assert.equal(err.code, 'TL_ERR_MODEL_NOT_UNDERSTOOD');
    assert.match(err.message, /loc: float32 \[1076, 14\]/);
    assert.match(err.message, /sidecar JSON/);
    assert.match(err.message, /"family"/);
    return true;
  });
});
