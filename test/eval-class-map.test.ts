/** Model labels ↔ dataset categories: name normalisation, overrides, unmatched reports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClassMap, describeClassMap, normalizeClassName, toCocoDetections } from '../src/eval/class-map.js';
import { COCO80_LABELS } from '../src/core/labels.js';
import { isTearlessError } from '../src/core/errors.js';
import type { Detection } from '../src/core/types.js';

const categories = [
  { id: 1, name: 'person' }, { id: 3, name: 'Traffic_Light' }, { id: 4, name: 'motorcycle' }, { id: 9, name: 'potted-plant' }, { id: 12, name: 'zebra' },
];

test('names match ignoring case, spaces, underscores and hyphens', () => {
  assert.equal(normalizeClassName(' Traffic_Light '), 'trafficlight');
  assert.equal(normalizeClassName('potted - plant'), 'pottedplant');
  const map = buildClassMap(['person', 'traffic light', 'Potted Plant', 'motorbike', 'kite'], categories);
  assert.deepEqual([...map.toCategory], [[0, 1], [1, 3], [2, 9]]);
  assert.deepEqual(map.unmatchedModel, [{ index: 3, label: 'motorbike' }, { index: 4, label: 'kite' }]);
  assert.deepEqual(map.unmatchedDataset, [{ id: 4, name: 'motorcycle' }, { id: 12, name: 'zebra' }]);
  assert.deepEqual(map.matches[1], { modelIndex: 1, modelLabel: 'traffic light', categoryId: 3, categoryName: 'Traffic_Light', via: 'name' });
  const text = describeClassMap(map).join('\n');
  assert.match(text, /3 model class\(es\) mapped/);
  assert.match(text, /without a category .*: motorbike, kite/);
  assert.match(text, /does not predict: motorcycle, zebra/);
});

test('overrides: label → name, index → id, label → id, and null to drop a class', () => {
  const map = buildClassMap(['person', 'traffic light', 'Potted Plant', 'motorbike', 'kite'], categories, {
    motorbike: 'motorcycle', 4: 12, 'POTTED_plant': null,
  });
  assert.deepEqual([...map.toCategory], [[0, 1], [1, 3], [3, 4], [4, 12]]);
  assert.deepEqual(map.unmatchedModel, [{ index: 2, label: 'Potted Plant' }]);
  assert.equal(map.matches.find((m) => m.modelIndex === 3)?.via, 'override');
  // Several model classes may share a category.
  const merged = buildClassMap(['car', 'truck'], [{ id: 5, name: 'vehicle' }], { car: 'vehicle', truck: 5 });
  assert.deepEqual(merged.toModel.get(5), [0, 1]);
});

test('bad overrides and ambiguous names are refused with TL_ERR_BAD_OPTION', () => {
  const refuses = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (err: unknown) => isTearlessError(err) && err.code === 'TL_ERR_BAD_OPTION' && re.test(err.message));
  };
  refuses(() => buildClassMap(['a'], categories, { b: 'person' }), /no class called "b"/);
  refuses(() => buildClassMap(['a'], categories, { 3: 'person' }), /the model has 1 classes/);
  refuses(() => buildClassMap(['a'], categories, { a: 'giraffe' }), /no dataset category is called "giraffe"/);
  refuses(() => buildClassMap(['a'], categories, { a: 77 }), /no dataset category has id 77/);
  refuses(() => buildClassMap(['tv'], [{ id: 1, name: 'TV' }, { id: 2, name: 't-v' }]), /matches several dataset categories \(ids 1, 2\)/);
});

test('the bundled COCO80 labels match the official COCO category names one for one', () => {
  const official = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag',
    'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
    'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush'];
  // Official ids 1…90 with gaps.
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81,
    82, 84, 85, 86, 87, 88, 89, 90];
  const map = buildClassMap(COCO80_LABELS, official.map((name, i) => ({ id: ids[i], name })));
  assert.equal(map.matches.length, 80);
  assert.equal(map.toCategory.get(79), 90);
});

test('detections become COCO results: xyxy → xywh, class → category, unmapped dropped', () => {
  const map = buildClassMap(['person', 'kite'], categories);
  const dets: Detection[] = [
    { label: 'person', classId: 0, score: 0.9, box: [10, 20, 110, 220] },
    { label: 'kite', classId: 1, score: 0.8, box: [0, 0, 5, 5] },
  ];
  assert.deepEqual(toCocoDetections(42, dets, map), [{ image_id: 42, category_id: 1, bbox: [10, 20, 100, 200], score: 0.9 }]);
});
