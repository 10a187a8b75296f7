/**
 * YOLO txt reader (Ultralytics layout): a `data.yaml` naming the classes and the image folders
 * of each split, or an image folder plus a names list. Each image has a label file of lines
 * `class cx cy w h`, normalised to the image size; its pixel size is read from the image header.
 *
 * Where label files are looked for, first scheme that finds any wins:
 *  1. Ultralytics: the last `/images/` of the image path replaced by `/labels/`, extension `.txt`;
 *  2. `<parent>/labels/<folder>/…` for an image folder `<parent>/<folder>` (COCO-style
 *     `val2017/` beside `labels/val2017/`);
 *  3. next to the image.
 * An image without a label file has no objects (a warning counts them).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetError } from '../errors.js';
import type { CocoCategory, Dataset, DatasetAnnotation, DatasetImage, XYWH } from '../types.js';
import { imageSize, isDirectory, isFile, isImageFile, listImages, mapLimit } from './files.js';
import { parseYaml } from './yaml.js';

export interface YoloReadOptions {
  /** Which split of a data.yaml to read (default "val"). */
  split?: string;
  /** Class names, or the path of a names file (one name per line). Overrides data.yaml `names`. */
  names?: readonly string[] | string;
  /** Folder holding the label files, mirroring the image folder, when the layout is not standard. */
  labelsDir?: string;
  /** How many image headers to read at once (default 16). */
  concurrency?: number;
}

/** One image to read: where it is and which folder its relative name is relative to. */
interface ImageEntry { file: string; root: string; rel: string }

/**
 * Read a YOLO dataset from a `data.yaml` file or from an image folder.
 * @param source path of a data.yaml, or of a folder of images (then `names` is required)
 * @throws TearlessError TL_ERR_DATASET_INVALID on a malformed data.yaml, names or label file
 *   (naming the file and line), or when no label file can be found
 */
export async function readYoloDataset(source: string, options: YoloReadOptions = {}): Promise<Dataset> {
  let entries: ImageEntry[];
  let names: Map<number, string> | null = null;
  if (/\.ya?ml$/i.test(source)) {
    const data = await readDataYaml(source, options.split ?? 'val');
    entries = data.entries;
    names = data.names;
  } else if (await isDirectory(source)) {
    entries = (await listImages(source)).map((rel) => ({ file: path.join(source, rel), root: source, rel }));
  } else {
    throw datasetError(source, '', 'expected a data.yaml file or a folder of images.');
  }
  if (options.names !== undefined) names = await readNames(options.names);
  if (!names) throw datasetError(source, '', 'no class names: pass `names` (a list, or a names file with one name per line).');
  if (entries.length === 0) throw datasetError(source, '', 'no images found.');

  const labelFiles = await locateLabels(entries, options.labelsDir, source);
  const sizes = await mapLimit(entries, options.concurrency ?? 16, (e) => imageSize(e.file));
  const ids = imageIds(entries);
  const warnings: string[] = [];
  const images: DatasetImage[] = entries.map((e, n) => ({ id: ids[n], file_name: e.rel, path: e.file, ...sizes[n] }));
  const annotations: DatasetAnnotation[] = [];
  let missing = 0, duplicates = 0, zeroSize = 0;
  const texts = await mapLimit(labelFiles, 16, async (f) => (f === null ? null : readFile(f, 'utf8').catch(() => null)));
  texts.forEach((text, n) => {
    if (text === null) { missing++; return; }
    const parsed = parseYoloLabels(text, labelFiles[n]!, images[n].width, images[n].height, names!);
    duplicates += parsed.duplicates;
    zeroSize += parsed.zeroSize;
    for (const b of parsed.boxes) {
      annotations.push({ id: annotations.length + 1, image_id: images[n].id, category_id: b.classId, bbox: b.bbox, area: b.bbox[2] * b.bbox[3], iscrowd: 0 });
    }
  });
  if (missing) warnings.push(`${missing} image(s) have no label file (treated as images without objects).`);
  if (duplicates) warnings.push(`${duplicates} duplicate label line(s) removed (as Ultralytics does).`);
  if (zeroSize) warnings.push(`${zeroSize} zero-size box(es) skipped.`);
  const categories: CocoCategory[] = [...names].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
  return { images, categories, annotations, source: { format: 'yolo', path: source }, warnings };
}

/** One box of a label file, in pixels. */
export interface YoloBox { classId: number; bbox: XYWH; line: number }

/**
 * Parse one label file. Lines are `class cx cy w h` (normalised) or a segment
 * `class x1 y1 x2 y2 …` (its bounding box is used). Boxes are clipped to the image.
 * @param file label file name, for error messages
 * @throws TearlessError TL_ERR_DATASET_INVALID naming the file and the line
 */
export function parseYoloLabels(text: string, file: string, width: number, height: number, names: Map<number, string>): { boxes: YoloBox[]; duplicates: number; zeroSize: number } {
  const boxes: YoloBox[] = [];
  const seen = new Set<string>();
  let duplicates = 0, zeroSize = 0;
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `line ${n + 1}`;
    const tokens = line.split(/\s+/);
    const values = tokens.map(Number);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw datasetError(file, where, `"${tokens[bad]}" is not a number (expected "class cx cy w h").`);
    if (tokens.length !== 5 && (tokens.length < 7 || tokens.length % 2 === 0)) {
      throw datasetError(file, where, `expected "class cx cy w h" (5 values) or a polygon "class x1 y1 x2 y2 …" but found ${tokens.length} value(s).`);
    }
    const cls = values[0];
    if (!Number.isInteger(cls) || !names.has(cls)) throw datasetError(file, where, `class ${tokens[0]} is not one of the ${names.size} class ids.`);
    const coords = values.slice(1);
    const outside = coords.find((v) => v < -1e-6 || v > 1 + 1e-6);
    if (outside !== undefined) throw datasetError(file, where, `coordinate ${outside} is outside [0, 1]; YOLO labels are normalised to the image size, not pixels.`);
    const key = coords.join(' ') + ` ${cls}`;
    if (seen.has(key)) { duplicates++; return; }
    seen.add(key);
    let x1: number, y1: number, x2: number, y2: number;
    if (coords.length === 4) {
      const [cx, cy, w, h] = coords;
      [x1, y1, x2, y2] = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height];
    } else {
      const xs = coords.filter((_, i) => i % 2 === 0), ys = coords.filter((_, i) => i % 2 === 1);
      [x1, y1, x2, y2] = [Math.min(...xs) * width, Math.min(...ys) * height, Math.max(...xs) * width, Math.max(...ys) * height];
    }
    x1 = clamp(x1, 0, width); x2 = clamp(x2, 0, width); y1 = clamp(y1, 0, height); y2 = clamp(y2, 0, height);
    if (x2 <= x1 || y2 <= y1) { zeroSize++; return; }
    boxes.push({ classId: cls, bbox: [x1, y1, x2 - x1, y2 - y1], line: n + 1 });
  });
  return { boxes, duplicates, zeroSize };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Ultralytics `data.yaml`: root `path`, split entries (folders or image-list files), `names`. */
async function readDataYaml(file: string, split: string): Promise<{ entries: ImageEntry[]; names: Map<number, string> | null }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw datasetError(file, '', `cannot read the file: ${(err as Error).message}`, err);
  }
  const data = readYaml(text, file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw datasetError(file, '', 'expected a mapping with names and train/val/test.');
  const d = data as Record<string, unknown>;
  // A relative `path` is taken relative to the yaml (Ultralytics resolves it against its own datasets folder).
  const root = typeof d.path === 'string' && d.path !== '' ? path.resolve(path.dirname(file), d.path) : path.dirname(file);
  const spec = d[split];
  if (spec === undefined || spec === null) {
    const have = ['train', 'val', 'test'].filter((s) => d[s]);
    throw datasetError(file, split, `no "${split}" entry; this file has ${have.length ? have.join(', ') : 'none of train/val/test'}.`);
  }
  const list = Array.isArray(spec) ? spec : [spec];
  const entries: ImageEntry[] = [];
  for (const s of list) {
    if (typeof s !== 'string') throw datasetError(file, split, `expected a folder or file path but found ${JSON.stringify(s)}.`);
    const p = path.resolve(root, s);
    if (await isDirectory(p)) {
      for (const rel of await listImages(p)) entries.push({ file: path.join(p, rel), root: p, rel });
    } else if (await isFile(p) && p.toLowerCase().endsWith('.txt')) {
      // An image list: one path per line, relative to the list's folder.
      const base = path.dirname(p);
      for (const l of (await readFile(p, 'utf8')).split(/\r?\n/).map((x) => x.trim()).filter(Boolean)) {
        if (!isImageFile(l)) continue;
        const abs = path.resolve(base, l);
        entries.push({ file: abs, root: base, rel: path.relative(base, abs).split(path.sep).join('/') });
      }
    } else {
      throw datasetError(file, split, `${p} is neither a folder nor an image-list .txt file.`);
    }
  }
  let names: Map<number, string> | null = null;
  if (d.names !== undefined && d.names !== null) names = namesFrom(d.names, file);
  if (names && typeof d.nc === 'number' && d.nc !== names.size) throw datasetError(file, 'nc', `nc is ${d.nc} but names has ${names.size} entries.`);
  return { entries, names };
}

/** Parse a YAML file's text. @throws TearlessError naming the file and the line */
function readYaml(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw datasetError(file, '', `is not valid YAML: ${(err as Error).message}`, err);
  }
}

/** `names` as a list (`[a, b]`) or a mapping (`{0: a, 1: b}`), keyed by class id. */
function namesFrom(v: unknown, file: string): Map<number, string> {
  const out = new Map<number, string>();
  if (Array.isArray(v)) {
    v.forEach((n, i) => out.set(i, String(n)));
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, n] of Object.entries(v)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0) throw datasetError(file, `names.${k}`, 'class ids must be non-negative integers.');
      out.set(id, String(n));
    }
  } else {
    throw datasetError(file, 'names', `expected a list or a mapping of class names but found ${JSON.stringify(v)}.`);
  }
  return out;
}

/** Names from a list, or from a file with one name per line (blank lines skipped). */
async function readNames(names: readonly string[] | string): Promise<Map<number, string>> {
  if (typeof names !== 'string') return new Map(names.map((n, i) => [i, n]));
  let text: string;
  try {
    text = await readFile(names, 'utf8');
  } catch (err) {
    throw datasetError(names, '', `cannot read the names file: ${(err as Error).message}`, err);
  }
  if (/\.ya?ml$/i.test(names)) {
    const d = readYaml(text, names);
    return namesFrom(d && typeof d === 'object' && 'names' in d ? d.names : d, names);
  }
  return new Map(text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((n, i) => [i, n]));
}

/** Pick the first label-location scheme that finds any label file; null where a file is missing. */
async function locateLabels(entries: ImageEntry[], labelsDir: string | undefined, source: string): Promise<(string | null)[]> {
  const noExt = (rel: string): string => rel.slice(0, rel.length - path.extname(rel).length);
  const imagesSeg = `${path.sep}images${path.sep}`;
  const schemes: ((e: ImageEntry) => string | null)[] = labelsDir !== undefined
    ? [(e) => path.join(labelsDir, noExt(e.rel) + '.txt')]
    : [
      (e) => {
        const at = e.file.lastIndexOf(imagesSeg);
        return at < 0 ? null : noExt(e.file.slice(0, at) + `${path.sep}labels${path.sep}` + e.file.slice(at + imagesSeg.length)) + '.txt';
      },
      (e) => path.join(path.dirname(e.root), 'labels', path.basename(e.root), noExt(e.rel) + '.txt'),
      (e) => noExt(e.file) + '.txt',
    ];
  for (const scheme of schemes) {
    const candidates = entries.map(scheme);
    const found = await mapLimit(candidates, 32, async (c) => (c !== null && (await isFile(c)) ? c : null));
    if (found.some((f) => f !== null)) return found;
  }
  throw datasetError(source, '', `no label files found for its ${entries.length} images (looked for ${labelsDir ? `${labelsDir}/…` : '…/labels/… beside …/images/…, <folder>/../labels/<folder>/…, and next to each image'}). Pass labelsDir if they are elsewhere.`);
}

/**
 * Image ids: the file name itself when every name is a distinct number (COCO's
 * 000000000139.jpg → 139, so ids agree with the COCO JSON), else 1…N in path order.
 */
function imageIds(entries: ImageEntry[]): number[] {
  const stems = entries.map((e) => path.basename(e.rel, path.extname(e.rel)));
  if (stems.every((s) => /^[0-9]{1,15}$/.test(s))) {
    const ids = stems.map(Number);
    if (new Set(ids).size === ids.length) return ids;
  }
  return entries.map((_, i) => i + 1);
}
