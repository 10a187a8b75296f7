/**
 * Dataset readers (COCO JSON, YOLO txt, Pascal VOC XML) on small layouts built in a temp
 * folder, including the XML (fast-xml-parser) and YAML (`yaml`) inputs they must accept or
 * reject with an error naming the file and line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { isTearlessError } from '../src/core/errors.js';
import { detectFormat, parseCocoDataset, parseVocXml, parseYoloLabels, readCocoDataset, readDataset, readVocDataset, readYoloDataset } from '../src/eval/datasets/index.js';

let tmp: string;
before(async () => { tmp = await mkdtemp(path.join(os.tmpdir(), 'tearless-eval-')); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

/** A solid-colour image of the given size. */
async function image(file: string, width: number, height: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const img = sharp({ create: { width, height, channels: 3, background: { r: 40, g: 90, b: 160 } } });
  await (file.endsWith('.png') ? img.png() : img.jpeg()).toFile(file);
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Check that `err` is a TL_ERR_DATASET_INVALID whose message matches every pattern. */
function isDatasetError(err: unknown, patterns: RegExp[]): boolean {
  assert.ok(isTearlessError(err), `expected a TearlessError, got ${String(err)}`);
  assert.equal(err.code, 'TL_ERR_DATASET_INVALID');
  for (const re of patterns) assert.match(err.message, re);
  return true;
}
const throwsDataset = (fn: () => unknown, ...patterns: RegExp[]): void => assert.throws(fn, (err) => isDatasetError(err, patterns));
const rejectsDataset = (p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> => assert.rejects(p, (err) => isDatasetError(err, patterns));

// ---------------------------------------------------------------- COCO

test('COCO: reads images, categories and annotations; fills area, id and iscrowd', () => {
  const ds = parseCocoDataset({
    images: [{ id: 7, file_name: 'a.jpg', width: 100, height: 50 }],
    categories: [{ id: 3, name: 'cat' }],
    annotations: [{ id: 5, image_id: 7, category_id: 3, bbox: [1, 2, 10, 20] }, { image_id: 7, category_id: 3, bbox: [0, 0, 4, 4], area: 9, iscrowd: 1, ignore: 1 }],
  }, 'gt.json', '/data');
  assert.deepEqual(ds.images, [{ id: 7, file_name: 'a.jpg', path: path.resolve('/data', 'a.jpg'), width: 100, height: 50 }]);
  assert.deepEqual(ds.annotations, [
    { id: 5, image_id: 7, category_id: 3, bbox: [1, 2, 10, 20], area: 200, iscrowd: 0 },
    { id: 6, image_id: 7, category_id: 3, bbox: [0, 0, 4, 4], area: 9, iscrowd: 1, ignore: 1 },
  ]);
});

test('COCO: errors name the file and the offending entry', async () => {
  const base = { images: [{ id: 1, file_name: 'a.jpg', width: 10, height: 10 }], categories: [{ id: 1, name: 'x' }] };
  const ann = (a: object): unknown => ({ ...base, annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }, { image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], ...a }] });
  throwsDataset(() => parseCocoDataset(ann({ bbox: [0, 0, 1] }), 'gt.json', '.'), /^gt\.json \(annotations\[1\]\.bbox\)/, /\[0,0,1\]/);
  throwsDataset(() => parseCocoDataset(ann({ bbox: [0, 0, -1, 1] }), 'gt.json', '.'), /annotations\[1\]\.bbox/, /negative/);
  throwsDataset(() => parseCocoDataset(ann({ image_id: 9 }), 'gt.json', '.'), /annotations\[1\]\.image_id/, /9 of type number is not the id/);
  throwsDataset(() => parseCocoDataset(ann({ category_id: 'x' }), 'gt.json', '.'), /annotations\[1\]\.category_id/);
  throwsDataset(() => parseCocoDataset(ann({ iscrowd: 2 }), 'gt.json', '.'), /annotations\[1\]\.iscrowd/);
  throwsDataset(() => parseCocoDataset({ ...base, images: [...base.images, base.images[0]], annotations: [] }, 'gt.json', '.'), /images\[1\]\.id/, /appears twice/);
  throwsDataset(() => parseCocoDataset({ ...base, images: [{ id: 1, file_name: 'a.jpg', width: 0, height: 10 }], annotations: [] }, 'gt.json', '.'), /images\[0\]\.width/);
  throwsDataset(() => parseCocoDataset({ images: [] }, 'gt.json', '.'), /gt\.json \(annotations\): expected an array/);
  await write(path.join(tmp, 'broken.json'), '{"images": [');
  await rejectsDataset(readCocoDataset(path.join(tmp, 'broken.json')), /broken\.json: is not valid JSON/);
});

test('COCO: finds the images folder beside the annotations (COCO and VOC-style layouts)', async () => {
  const root = path.join(tmp, 'coco-layout');
  await image(path.join(root, 'val2017', '000000000001.jpg'), 8, 8);
  const gt = { images: [{ id: 1, file_name: '000000000001.jpg', width: 8, height: 8 }], categories: [], annotations: [] };
  await write(path.join(root, 'annotations', 'instances_val2017.json'), JSON.stringify(gt));
  const ds = await readCocoDataset(path.join(root, 'annotations', 'instances_val2017.json'));
  assert.equal(ds.images[0].path, path.join(root, 'val2017', '000000000001.jpg'));
  assert.deepEqual(ds.warnings, []);
  const explicit = await readCocoDataset(path.join(root, 'annotations', 'instances_val2017.json'), { imageDir: '/elsewhere' });
  assert.equal(explicit.images[0].path, path.resolve('/elsewhere', '000000000001.jpg'));
});

// ---------------------------------------------------------------- YOLO

test('YOLO: data.yaml (dict names), images/ ↔ labels/, normalised boxes to pixels', async () => {
  const root = path.join(tmp, 'yolo');
  await image(path.join(root, 'images', 'val', 'b.jpg'), 200, 100);
  await image(path.join(root, 'images', 'val', 'sub', 'a.png'), 100, 100);
  await image(path.join(root, 'images', 'val', 'empty.jpg'), 50, 50);
  await write(path.join(root, 'labels', 'val', 'b.txt'), '1 0.5 0.5 0.5 0.2\n\n0 0.25 0.25 0.1 0.1\n0 0.25 0.25 0.1 0.1\n');
  await write(path.join(root, 'labels', 'val', 'sub', 'a.txt'), '1 0.1 0.1 0.5 0.1 0.5 0.5\n'); // a polygon
  await write(path.join(root, 'data.yaml'), [
    '# dataset', 'path: .  # root', 'train: images/train', 'val: images/val', 'test:', 'names:', '  0: person', "  1: 'traffic light'", '',
  ].join('\n'));
  const ds = await readYoloDataset(path.join(root, 'data.yaml'));
  assert.deepEqual(ds.categories, [{ id: 0, name: 'person' }, { id: 1, name: 'traffic light' }]);
  assert.deepEqual(ds.images.map((i) => [i.file_name, i.width, i.height, i.id]), [['b.jpg', 200, 100, 1], ['empty.jpg', 50, 50, 2], ['sub/a.png', 100, 100, 3]]);
  const boxes = ds.annotations.map((a) => [a.image_id, a.category_id, ...a.bbox.map((v) => Math.round(v * 1e6) / 1e6)]);
  assert.deepEqual(boxes, [
    [1, 1, 50, 40, 100, 20], // cx .5·200 = 100, w .5·200 = 100 → x 50; cy .5·100, h .2·100
    [1, 0, 40, 20, 20, 10],
    [3, 1, 10, 10, 40, 40], // polygon (0.1,0.1) (0.5,0.1) (0.5,0.5) → its bounding box
  ]);
  assert.ok(ds.warnings.some((w) => /1 image\(s\) have no label file/.test(w)));
  assert.ok(ds.warnings.some((w) => /1 duplicate label line/.test(w)));
  await rejectsDataset(readYoloDataset(path.join(root, 'data.yaml'), { split: 'test' }), /data\.yaml \(test\): no "test" entry; this file has train, val/);
});

test('YOLO: folder + names file, COCO-style labels/<folder>/ beside the folder, numeric ids', async () => {
  const root = path.join(tmp, 'yolo-coco');
  await image(path.join(root, 'val2017', '000000000139.jpg'), 64, 32);
  await write(path.join(root, 'labels', 'val2017', '000000000139.txt'), '0 0.5 0.5 1 1\n');
  await write(path.join(root, 'names.txt'), 'person\nbicycle\n\n');
  const ds = await readDataset(path.join(root, 'val2017'), { names: path.join(root, 'names.txt') });
  assert.equal(ds.source.format, 'yolo');
  assert.deepEqual(ds.images.map((i) => i.id), [139]);
  assert.deepEqual(ds.annotations[0].bbox, [0, 0, 64, 32]);
  assert.deepEqual(ds.categories.map((c) => c.name), ['person', 'bicycle']);
  await rejectsDataset(readYoloDataset(path.join(root, 'val2017')), /no class names/);
});

test('YOLO: Ultralytics data.yaml shapes (flow list names, block scalar, list of folders); bad YAML names file and line', async () => {
  const root = path.join(tmp, 'yolo-yaml');
  await image(path.join(root, 'images', 'a', '1.jpg'), 10, 10);
  await image(path.join(root, 'images', 'b', '2.jpg'), 10, 10);
  await write(path.join(root, 'labels', 'a', '1.txt'), '2 0.5 0.5 1 1\n');
  await write(path.join(root, 'data.yaml'), [
    '# Ultralytics YOLO, AGPL-3.0 license', 'path: .  # dataset root dir', 'val: # two folders', '  - images/a', '  - images/b', 'nc: 3',
    "names: ['person', \"bi#cycle\",", '  car]', 'download: |', '  from utils import x  # not a comment here', '', '  x(url="a: b")', 'extra: {k: [1, 2.5, true, null, ~]}',
  ].join('\n'));
  const ds = await readYoloDataset(path.join(root, 'data.yaml'));
  assert.deepEqual(ds.categories.map((c) => c.name), ['person', 'bi#cycle', 'car']);
  assert.deepEqual(ds.images.map((i) => i.file_name), ['1.jpg', '2.jpg']);
  assert.deepEqual(ds.annotations.map((a) => [a.image_id, a.category_id]), [[1, 2]]);
  // Block-sequence names at the key's indent, in a names file given on its own.
  await write(path.join(root, 'names.yaml'), 'names:\n- a\n- b\n- c\n');
  assert.deepEqual((await readYoloDataset(path.join(root, 'data.yaml'), { names: path.join(root, 'names.yaml') })).categories.map((c) => c.name), ['a', 'b', 'c']);

  await write(path.join(root, 'bad.yaml'), 'val: images/a\nnames: [a, b\nnc: 2\n');
  await rejectsDataset(readYoloDataset(path.join(root, 'bad.yaml')), /bad\.yaml: is not valid YAML: /, /\(line 3, column 1\)/);
  await write(path.join(root, 'dup.yaml'), 'val: images/a\nnames: [a]\nval: images/b\n');
  await rejectsDataset(readYoloDataset(path.join(root, 'dup.yaml')), /dup\.yaml: is not valid YAML: Map keys must be unique \(line 3, column 1\)/);
  await write(path.join(root, 'badnames.yaml'), 'names:\n\t- a\n');
  await rejectsDataset(readYoloDataset(path.join(root, 'data.yaml'), { names: path.join(root, 'badnames.yaml') }), /badnames\.yaml: is not valid YAML: .*\(line 2/);
});

test('YOLO: malformed lines are errors naming the file and line', () => {
  const names = new Map([[0, 'a'], [1, 'b']]);
  const parse = (text: string): unknown => parseYoloLabels(text, 'img1.txt', 100, 100, names);
  throwsDataset(() => parse('0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1\n'), /^img1\.txt \(line 2\)/, /found 4 value/);
  throwsDataset(() => parse('0 0.5 0.5 0.1 abc'), /line 1/, /"abc" is not a number/);
  throwsDataset(() => parse('\n\n5 0.5 0.5 0.1 0.1'), /line 3/, /class 5 is not one of the 2 class ids/);
  throwsDataset(() => parse('0.5 0.5 0.5 0.1 0.1'), /class 0\.5/);
  throwsDataset(() => parse('0 320 240 50 50'), /outside \[0, 1\]/, /not pixels/);
  throwsDataset(() => parse('0 0.5 0.5 0.1 0.1 0.9'), /found 6 value/);
  // Boxes running off the image are clipped; a box clipped to nothing is skipped and counted.
  const r = parseYoloLabels('0 0.95 0.5 0.2 0.2\n1 0.5 0.5 0 0.3', 'f.txt', 100, 100, names);
  assert.deepEqual(r.boxes.map((b) => b.bbox.map((v) => Math.round(v * 1e9) / 1e9)), [[85, 40, 15, 20]]);
  assert.equal(r.zeroSize, 1);
});

// ---------------------------------------------------------------- VOC

const voc = (filename: string, objects: string, size = '<size><width>80</width><height>60</height><depth>3</depth></size>'): string =>
  `<?xml version="1.0"?>\n<annotation>\n  <folder>JPEGImages</folder>\n  <filename>${filename}</filename>\n  ${size}\n${objects}</annotation>\n`;
const obj = (name: string, b: number[], difficult = 0): string =>
  `  <object><name>${name}</name><difficult>${difficult}</difficult><bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>\n`;

test('VOC: boxes, difficult → ignore, zero-size skipped, image found by stem, split lists', async () => {
  const root = path.join(tmp, 'voc');
  await image(path.join(root, 'JPEGImages', 'img1.jpg'), 80, 60);
  await image(path.join(root, 'JPEGImages', 'img2.png'), 40, 30);
  await write(path.join(root, 'Annotations', 'img1.xml'), voc('img1.jpg', obj('dog', [10, 20, 30, 50]) + obj('cat', [0, 0, 5.5, 5.5], 1) + obj('dog', [7, 7, 7, 9])));
  // Stale <filename> (renamed, different extension) and no <size>: found by stem, size read from the file.
  await write(path.join(root, 'Annotations', 'img2.xml'), voc('old name#t=1.jpg', obj('cat', [1, 2, 3, 4]), ''));
  await write(path.join(root, 'ImageSets', 'Main', 'val.txt'), 'img2\n');
  const ds = await readVocDataset(root);
  assert.equal(await detectFormat(root), 'voc');
  assert.deepEqual(ds.categories, [{ id: 1, name: 'dog' }, { id: 2, name: 'cat' }]);
  assert.deepEqual(ds.images.map((i) => [i.id, i.file_name, i.width, i.height]), [[1, 'img1.jpg', 80, 60], [2, 'img2.png', 40, 30]]);
  assert.deepEqual(ds.annotations, [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 20, 20, 30], area: 600, iscrowd: 0 },
    { id: 2, image_id: 1, category_id: 2, bbox: [0, 0, 5.5, 5.5], area: 30.25, iscrowd: 0, ignore: 1 },
    { id: 3, image_id: 2, category_id: 2, bbox: [1, 2, 2, 2], area: 4, iscrowd: 0 },
  ]);
  assert.deepEqual(ds.warnings, ['1 zero-size box(es) skipped.']);
  const val = await readVocDataset(root, { split: 'val', classes: ['cat', 'dog'] });
  assert.deepEqual(val.images.map((i) => i.file_name), ['img2.png']);
  assert.deepEqual(val.categories, [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }]);
  await rejectsDataset(readVocDataset(root, { classes: ['cat'] }), /img1\.xml \(object\[0\]\)/, /"dog" is not one of classes/);
});

test('VOC: one or many <object>s, entities, CDATA, comments, DOCTYPE, attributes; text stays text', () => {
  const one = parseVocXml(voc('000123', obj('dog', [1, 2, 3, 4])), 'one.xml');
  assert.equal(one.filename, '000123'); // not the number 123
  assert.deepEqual(one.objects, [{ name: 'dog', bbox: [1, 2, 3, 4], difficult: false, truncated: false }]);
  assert.deepEqual([one.width, one.height], [80, 60]);
  const doc = parseVocXml('\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n<!DOCTYPE annotation [ <!ELEMENT annotation ANY> ]>\r\n<!-- by a tool -->\r\n'
    + '<annotation verified="yes">\r\n  <filename><![CDATA[a&b.jpg]]></filename>\r\n'
    + '  <object id="1"><name lang="fr">caf&#233; &amp; cr&#xE8;me</name><truncated> 1 </truncated><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3.5</xmax><ymax>4</ymax></bndbox></object>\r\n'
    + '  <!-- <object><name>commented out</name></object> -->\r\n'
    + '  <object><name>\r\n    dog\r\n  </name><difficult>1</difficult><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>\r\n'
    + '</annotation>\r\n', 'two.xml');
  assert.equal(doc.filename, 'a&b.jpg');
  assert.deepEqual(doc.objects, [
    { name: 'café & crème', bbox: [1, 2, 3.5, 4], difficult: false, truncated: true },
    { name: 'dog', bbox: [0, 0, 9, 9], difficult: true, truncated: false },
  ]);
  assert.deepEqual([doc.width, doc.height], [undefined, undefined]);
  // Line numbers survive CRLF line ends and a byte-order mark.
  throwsDataset(() => parseVocXml('\uFEFF<annotation>\r\n' + obj('a', [1, 2, 3, 4]) + '<object><name>b</name></object></annotation>', 'x.xml'), /x\.xml \(object\[1\] \(line 3\)\)/, /"b" has no <bndbox>/);
});

test('VOC: malformed files name the file and the line or object', () => {
  throwsDataset(() => parseVocXml('<annotation>\n<object><name>a</name>\n</annotation>', 'x.xml'), /^x\.xml: is not well-formed XML: /, /'object' \(opened in line 2/, /\(line 3, column 1\)$/);
  throwsDataset(() => parseVocXml('<annotation>\r\n<object>\r\n<name a=1>a</name></object></annotation>', 'x.xml'), /^x\.xml: is not well-formed XML: /, /\(line 3, column 7\)$/);
  throwsDataset(() => parseVocXml('<annotation></annotation>\n<annotation/>', 'x.xml'), /^x\.xml: is not well-formed XML: /, /\(line 2\)$/);
  throwsDataset(() => parseVocXml('', 'x.xml'), /^x\.xml: is not well-formed XML: /, /\(line 1\)$/);
  throwsDataset(() => parseVocXml(voc('a.jpg', '<object><name>a</name></object>'), 'x.xml'), /x\.xml \(object\[0\] \(line 6\)\)/, /no <bndbox>/);
  throwsDataset(() => parseVocXml(voc('a.jpg', obj('a', [1, 2, 3, 4]).replace('<xmax>3</xmax>', '<xmax>three</xmax>')), 'x.xml'), /<xmax> is "three"/);
  throwsDataset(() => parseVocXml('<root/>', 'x.xml'), /expected an <annotation> root/);
});
