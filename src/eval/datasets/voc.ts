/**
 * Pascal VOC reader: a folder with `Annotations/*.xml` and `JPEGImages/` (lower-case
 * `annotations/` and `images/` work too), optionally restricted to a split listed in
 * `ImageSets/Main/<split>.txt`. Boxes become `[xmin, ymin, xmax − xmin, ymax − ymin]`: the
 * coordinates as written, with no VOC "+1" pixel convention. `difficult` objects are kept with
 * `ignore: 1` (evaluate with `useIgnoreFlag` to not score them, as VOC does); zero-size boxes
 * are skipped with a warning.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { datasetError } from '../errors.js';
import type { CocoCategory, Dataset, DatasetAnnotation, DatasetImage } from '../types.js';
import { imageSize, isDirectory, isImageFile, mapLimit } from './files.js';
import { child, childText, children, parseXml, type XmlElement } from './xml.js';

export interface VocReadOptions {
  /** Read only the images listed in `ImageSets/Main/<split>.txt` (e.g. "val", "test"). */
  split?: string;
  /** Annotation folder (default `<root>/Annotations` or `<root>/annotations`). */
  annotationDir?: string;
  /** Image folder (default `<root>/JPEGImages` or `<root>/images`). */
  imageDir?: string;
  /** Class names in category-id order (ids 1…N); default: in order of first appearance. */
  classes?: readonly string[];
  /** How many files to read at once (default 16). */
  concurrency?: number;
}

/** One parsed VOC file, before ids are assigned. */
export interface VocAnnotationFile {
  filename: string | undefined;
  width: number | undefined;
  height: number | undefined;
  objects: { name: string; bbox: [number, number, number, number]; difficult: boolean; truncated: boolean }[];
  /** Objects dropped for a zero or negative width or height. */
  zeroSize: number;
}

/**
 * Read a VOC dataset folder.
 * @throws TearlessError TL_ERR_DATASET_INVALID on malformed XML (naming file, line and object),
 *   a missing folder, or an annotation whose image can't be found
 */
export async function readVocDataset(root: string, options: VocReadOptions = {}): Promise<Dataset> {
  const annDir = options.annotationDir ?? (await firstDir(root, ['Annotations', 'annotations']));
  const imgDir = options.imageDir ?? (await firstDir(root, ['JPEGImages', 'images', 'Images']));
  if (!annDir || !(await isDirectory(annDir))) throw datasetError(root, '', 'no Annotations/ folder (pass annotationDir).');
  if (!imgDir || !(await isDirectory(imgDir))) throw datasetError(root, '', 'no JPEGImages/ or images/ folder (pass imageDir).');

  let stems = (await readdir(annDir)).filter((f) => f.toLowerCase().endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
  if (options.split !== undefined) {
    const listFile = path.join(root, 'ImageSets', 'Main', `${options.split}.txt`);
    let list: string;
    try {
      list = await readFile(listFile, 'utf8');
    } catch (err) {
      throw datasetError(listFile, '', `cannot read the split list: ${(err as Error).message}`, err);
    }
    const wanted = new Set(list.split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean));
    const missing = [...wanted].filter((s) => !stems.includes(s));
    if (missing.length) throw datasetError(listFile, '', `${missing.length} listed image(s) have no annotation file, e.g. ${missing[0]}.xml.`);
    stems = stems.filter((s) => wanted.has(s));
  }

  // Image files by name and by stem: VOC <filename> is often stale (renamed files, wrong extension).
  const imageFiles = (await readdir(imgDir)).filter(isImageFile);
  const byName = new Set(imageFiles);
  const byStem = new Map<string, string>();
  for (const f of imageFiles.sort()) if (!byStem.has(stemOf(f))) byStem.set(stemOf(f), f);

  const parsed = await mapLimit(stems, options.concurrency ?? 16, async (stem) => {
    const file = path.join(annDir, `${stem}.xml`);
    const doc = parseVocXml(await readFile(file, 'utf8'), file);
    const imageName = doc.filename !== undefined && byName.has(doc.filename) ? doc.filename
      : byStem.get(stem) ?? (doc.filename !== undefined ? byStem.get(stemOf(doc.filename)) : undefined);
    if (!imageName) throw datasetError(file, 'filename', `no image for this annotation in ${imgDir} (looked for ${doc.filename ?? stem} and ${stem}.*).`);
    const imagePath = path.join(imgDir, imageName);
    const size = doc.width && doc.height ? { width: doc.width, height: doc.height } : await imageSize(imagePath);
    return { doc, imageName, imagePath, size };
  });

  const classIds = new Map<string, number>((options.classes ?? []).map((n, i) => [n, i + 1]));
  const images: DatasetImage[] = [];
  const annotations: DatasetAnnotation[] = [];
  let zeroSize = 0;
  parsed.forEach(({ doc, imageName, imagePath, size }, n) => {
    const id = n + 1;
    images.push({ id, file_name: imageName, path: imagePath, ...size });
    zeroSize += doc.zeroSize;
    doc.objects.forEach((o, k) => {
      let cat = classIds.get(o.name);
      if (cat === undefined) {
        if (options.classes) throw datasetError(path.join(annDir, `${stems[n]}.xml`), `object[${k}]`, `class "${o.name}" is not one of classes (${options.classes.join(', ')}).`);
        cat = classIds.size + 1;
        classIds.set(o.name, cat);
      }
      const [x1, y1, x2, y2] = o.bbox;
      const ann: DatasetAnnotation = { id: annotations.length + 1, image_id: id, category_id: cat, bbox: [x1, y1, x2 - x1, y2 - y1], area: (x2 - x1) * (y2 - y1), iscrowd: 0 };
      if (o.difficult) ann.ignore = 1;
      annotations.push(ann);
    });
  });
  const categories: CocoCategory[] = [...classIds].map(([name, id]) => ({ id, name }));
  const warnings = zeroSize ? [`${zeroSize} zero-size box(es) skipped.`] : [];
  return { images, categories, annotations, source: { format: 'voc', path: root }, warnings };
}

const stemOf = (f: string): string => f.slice(0, f.length - path.extname(f).length);

async function firstDir(root: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await isDirectory(path.join(root, n))) return path.join(root, n);
  return undefined;
}

/**
 * Parse one VOC annotation file.
 * @param file file name for error messages
 * @throws TearlessError TL_ERR_DATASET_INVALID naming the file, and the line or object index
 */
export function parseVocXml(text: string, file: string): VocAnnotationFile {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (err) {
    throw datasetError(file, '', `is not well-formed XML: ${(err as Error).message}`, err);
  }
  if (root.name !== 'annotation') throw datasetError(file, `line ${root.line}`, `expected an <annotation> root element but found <${root.name}>.`);
  const size = child(root, 'size');
  const dim = (name: string): number | undefined => {
    const t = size ? childText(size, name) : undefined;
    const v = t === undefined || t === '' ? undefined : Number(t);
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw datasetError(file, `size.${name}`, `"${t}" is not a valid size.`);
    return v || undefined; // 0 means unknown: read the image
  };
  const out: VocAnnotationFile = { filename: childText(root, 'filename'), width: dim('width'), height: dim('height'), objects: [], zeroSize: 0 };
  children(root, 'object').forEach((o, k) => {
    const where = `object[${k}] (line ${o.line})`;
    const name = childText(o, 'name');
    if (!name) throw datasetError(file, where, 'object has no <name>.');
    const box = child(o, 'bndbox');
    if (!box) throw datasetError(file, where, `object "${name}" has no <bndbox>.`);
    const coord = (tag: string): number => {
      const t = childText(box, tag);
      const v = t === undefined || t === '' ? NaN : Number(t);
      if (!Number.isFinite(v)) throw datasetError(file, where, `<bndbox><${tag}> is ${t === undefined ? 'missing' : `"${t}", not a number`}.`);
      return v;
    };
    const bbox: [number, number, number, number] = [coord('xmin'), coord('ymin'), coord('xmax'), coord('ymax')];
    if (bbox[2] <= bbox[0] || bbox[3] <= bbox[1]) { out.zeroSize++; return; }
    const flag = (tag: string): boolean => {
      const t = childText(o, tag);
      return t !== undefined && t !== '' && t !== '0' && t.toLowerCase() !== 'false';
    };
    out.objects.push({ name, bbox, difficult: flag('difficult'), truncated: flag('truncated') });
  });
  return out;
}
