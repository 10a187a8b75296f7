/**
 * COCO JSON reader: validates the structure (every error names the file and the offending
 * entry, e.g. `annotations[12].bbox`) and returns a {@link Dataset}. Crowd regions, `area` and
 * `ignore` are kept as written, so evaluation matches pycocotools on the same file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetError, describeValue } from '../errors.js';
import { isFile } from './files.js';
import type { CocoCategory, Dataset, DatasetAnnotation, DatasetImage } from '../types.js';

export interface CocoReadOptions {
  /**
   * Folder that `file_name` is relative to. Default: the first of the JSON's folder,
   * `images/`, `JPEGImages/` and, for `instances_<split>….json`, `<split>/` beside it or one
   * level up (COCO's `annotations/` + `val2017/`), that holds the first image.
   */
  imageDir?: string;
}

/**
 * Read and validate a COCO detection JSON file.
 * @throws TearlessError TL_ERR_DATASET_INVALID when the file is unreadable or malformed
 */
export async function readCocoDataset(file: string, options: CocoReadOptions = {}): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw datasetError(file, '', `cannot read the file: ${(err as Error).message}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw datasetError(file, '', `is not valid JSON: ${(err as Error).message}`, err);
  }
  const dataset = parseCocoDataset(json, file, options.imageDir ?? path.dirname(file));
  if (options.imageDir === undefined && dataset.images.length > 0) {
    const dir = await guessImageDir(file, dataset.images[0].file_name);
    if (dir) {
      for (const im of dataset.images) im.path = path.resolve(dir, im.file_name);
    } else {
      dataset.warnings.push(`image ${dataset.images[0].file_name} not found beside ${path.basename(file)}; pass imageDir to say where the images are.`);
    }
  }
  return dataset;
}

/** The usual places of COCO images relative to the annotation file; the first holding `probe`. */
async function guessImageDir(file: string, probe: string): Promise<string | null> {
  const dir = path.dirname(file);
  const candidates = [dir, path.join(dir, 'images'), path.join(dir, 'JPEGImages')];
  const split = /^instances_([A-Za-z]+[0-9]*)/.exec(path.basename(file))?.[1];
  if (split) candidates.push(path.join(dir, split), path.join(dir, '..', split), path.join(dir, '..', 'images', split));
  for (const c of candidates) if (await isFile(path.join(c, probe))) return path.resolve(c);
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isFlag = (v: unknown): boolean => v === undefined || v === 0 || v === 1 || typeof v === 'boolean';

/**
 * Validate parsed COCO JSON and turn it into a {@link Dataset}.
 * @param file the file name used in error messages
 * @param imageDir folder that `file_name` is resolved against
 */
export function parseCocoDataset(json: unknown, file: string, imageDir: string): Dataset {
  if (!isObject(json)) throw datasetError(file, '', `expected a JSON object with images, annotations and categories but found ${describeValue(json)}.`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(json[key])) throw datasetError(file, key, `expected an array but found ${describeValue(json[key])}.`);
  }
  const warnings: string[] = [];

  const images: DatasetImage[] = [];
  const imageIds = new Set<number>();
  (json.images as unknown[]).forEach((im, i) => {
    const at = `images[${i}]`;
    if (!isObject(im)) throw datasetError(file, at, `expected an object but found ${describeValue(im)}.`);
    if (!isFiniteNumber(im.id)) throw datasetError(file, `${at}.id`, `expected a number but found ${describeValue(im.id)}.`);
    if (imageIds.has(im.id)) throw datasetError(file, `${at}.id`, `image id ${im.id} appears twice.`);
    if (typeof im.file_name !== 'string' || im.file_name === '') throw datasetError(file, `${at}.file_name`, `expected a file name but found ${describeValue(im.file_name)}.`);
    for (const k of ['width', 'height'] as const) {
      if (!isFiniteNumber(im[k]) || (im[k] as number) <= 0) throw datasetError(file, `${at}.${k}`, `expected a positive number but found ${describeValue(im[k])}.`);
    }
    imageIds.add(im.id);
    images.push({ id: im.id, file_name: im.file_name, path: path.resolve(imageDir, im.file_name), width: im.width as number, height: im.height as number });
  });

  const categories: CocoCategory[] = [];
  const categoryIds = new Set<number>();
  (json.categories as unknown[]).forEach((c, i) => {
    const at = `categories[${i}]`;
    if (!isObject(c)) throw datasetError(file, at, `expected an object but found ${describeValue(c)}.`);
    if (!isFiniteNumber(c.id)) throw datasetError(file, `${at}.id`, `expected a number but found ${describeValue(c.id)}.`);
    if (categoryIds.has(c.id)) throw datasetError(file, `${at}.id`, `category id ${c.id} appears twice.`);
    if (typeof c.name !== 'string') throw datasetError(file, `${at}.name`, `expected a string but found ${describeValue(c.name)}.`);
    categoryIds.add(c.id);
    categories.push(typeof c.supercategory === 'string' ? { id: c.id, name: c.name, supercategory: c.supercategory } : { id: c.id, name: c.name });
  });

  const annotations: DatasetAnnotation[] = [];
  const raw = json.annotations as unknown[];
  // Annotations without an id get one after the largest id present (pycocotools needs ids).
  let nextId = 1;
  for (const a of raw) if (isObject(a) && isFiniteNumber(a.id)) nextId = Math.max(nextId, a.id + 1);
  const annIds = new Set<number>();
  let zeroSize = 0;
  raw.forEach((a, i) => {
    const at = `annotations[${i}]`;
    if (!isObject(a)) throw datasetError(file, at, `expected an object but found ${describeValue(a)}.`);
    if (!imageIds.has(a.image_id as number)) throw datasetError(file, `${at}.image_id`, `${describeValue(a.image_id)} is not the id of an entry of images.`);
    if (!categoryIds.has(a.category_id as number)) throw datasetError(file, `${at}.category_id`, `${describeValue(a.category_id)} is not the id of an entry of categories.`);
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isFiniteNumber)) {
      throw datasetError(file, `${at}.bbox`, `expected [x, y, width, height] (4 finite numbers) but found ${JSON.stringify(bbox)}.`);
    }
    const [x, y, w, h] = bbox as number[];
    if (w < 0 || h < 0) throw datasetError(file, `${at}.bbox`, `width and height must not be negative but found ${JSON.stringify(bbox)}.`);
    if (w === 0 || h === 0) zeroSize++;
    if (a.area !== undefined && (!isFiniteNumber(a.area) || a.area < 0)) throw datasetError(file, `${at}.area`, `expected a non-negative number but found ${describeValue(a.area)}.`);
    if (!isFlag(a.iscrowd)) throw datasetError(file, `${at}.iscrowd`, `expected 0 or 1 but found ${describeValue(a.iscrowd)}.`);
    if (!isFlag(a.ignore)) throw datasetError(file, `${at}.ignore`, `expected 0 or 1 but found ${describeValue(a.ignore)}.`);
    if (a.id !== undefined && !isFiniteNumber(a.id)) throw datasetError(file, `${at}.id`, `expected a number but found ${describeValue(a.id)}.`);
    const id = (a.id as number | undefined) ?? nextId++;
    if (annIds.has(id)) throw datasetError(file, `${at}.id`, `annotation id ${id} appears twice.`);
    annIds.add(id);
    const ann: DatasetAnnotation = {
      id, image_id: a.image_id as number, category_id: a.category_id as number, bbox: [x, y, w, h],
      area: (a.area as number | undefined) ?? w * h, iscrowd: a.iscrowd ? 1 : 0,
    };
    if (a.ignore) ann.ignore = 1;
    annotations.push(ann);
  });
  if (zeroSize > 0) warnings.push(`${zeroSize} annotation(s) with zero width or height (kept, as pycocotools does; they can never be matched).`);
  if (annIds.has(0)) warnings.push('an annotation has id 0: pycocotools counts a detection matched to it as unmatched (and so does this evaluator, to agree with it).');
  return { images, categories, annotations, source: { format: 'coco', path: file }, warnings };
}
