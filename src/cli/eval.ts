/**
 * `tearless eval`: run models over a labelled dataset and score them exactly as pycocotools
 * does (or score an existing COCO results file). Side by side when several models are given.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import { TearlessError } from '../core/errors.js';
import { availableCores } from '../runtime/node/onnx-backend.js';
import { Detector } from '../pipeline/detector.js';
import {
  buildClassMap, cocoEvaluate, describeClassMap, precisionRecallCurves, readDataset, toCocoDetections,
  type ClassMap, type ClassOverrides, type CocoDetection, type CocoEvalResult, type Dataset,
} from '../eval/index.js';
import { classApSvg, prCurvesSvg } from '../eval/plots.js';
import { orderedMap } from './ordered-map.js';

export interface EvalFlags {
  model?: string[];
  data: string;
  images?: string;
  split?: string;
  detections?: string;
  conf: number;
  iou: number;
  maxDet: number;
  classMap?: string;
  json?: boolean;
  saveResults?: string;
  plots?: string;
  threads?: number;
  streams?: number;
  progress?: boolean;
}

/** The `--json` record for one model (or results file). */
export interface EvalRecord {
  model: string;
  stats: number[];
  map: number;
  map50: number;
  map75: number;
  perClass: Record<string, number>;
  images: number;
  detections: number;
}

export async function runEval(flags: EvalFlags): Promise<number> {
  if (!flags.data) throw new TearlessError('TL_ERR_BAD_OPTION', 'eval needs --data: a COCO instances .json, a YOLO data.yaml or image folder, or a Pascal VOC folder.');
  if (flags.detections && flags.model?.length) throw new TearlessError('TL_ERR_BAD_OPTION', 'Give either --detections (score a results file) or -m (run models), not both.');
  const dataset = await readDataset(flags.data, { imageDir: flags.images, split: flags.split });
  for (const w of dataset.warnings ?? []) process.stderr.write(`${pc.yellow('warning')} ${w}\n`);
  if (dataset.images.length === 0) throw new TearlessError('TL_ERR_DATASET_INVALID', `${flags.data}: the dataset has no images.`);
  const overrides = flags.classMap ? await readClassMap(flags.classMap) : {};

  const records: { record: EvalRecord; result: CocoEvalResult; name: string }[] = [];
  if (flags.detections) {
    const dets = await readResultsFile(flags.detections);
    const result = cocoEvaluate(dataset, dets, { maxDets: maxDetsFor(flags.maxDet) });
    records.push({ record: toRecord(flags.detections, result, dataset, dets.length), result, name: flags.detections });
  } else {
    const models = flags.model?.length ? flags.model : [undefined];
    for (const model of models) {
      const { detections, classMap, name } = await runModel(model, dataset, overrides, flags);
      const catIds = classMap.matches.map((m) => m.categoryId);
      const result = cocoEvaluate(dataset, detections, { maxDets: maxDetsFor(flags.maxDet), catIds: [...new Set(catIds)].sort((a, b) => a - b) });
      records.push({ record: toRecord(name, result, dataset, detections.length), result, name });
      if (flags.saveResults) {
        const file = models.length > 1 ? suffixed(flags.saveResults, name) : flags.saveResults;
        await writeFile(file, JSON.stringify(detections.map((d) => ({ ...d, bbox: d.bbox.map((v) => Number(v.toFixed(2))), score: Number(d.score.toFixed(5)) }))));
        process.stderr.write(`COCO results written to ${file}\n`);
      }
    }
  }
  if (flags.plots) await writePlots(flags.plots, dataset, records);

  if (flags.json) {
    const out = records.length === 1 ? records[0].record : { models: records.map((r) => r.record) };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(formatReport(records));
  }
  return 0;
}

function maxDetsFor(maxDet: number): number[] {
  return [...new Set([1, 10, maxDet])].sort((a, b) => a - b);
}

async function runModel(model: string | undefined, dataset: Dataset, overrides: ClassOverrides, flags: EvalFlags): Promise<{ detections: CocoDetection[]; classMap: ClassMap; name: string }> {
  const cores = availableCores();
  const streams = flags.streams ?? (flags.threads === undefined ? cores : 1);
  const det = await Detector.load(model, { streams, threads: flags.threads ?? (flags.streams === undefined ? 1 : undefined) });
  const name = det.modelPath;
  try {
    const classMap = buildClassMap(det.profile.labels, dataset.categories, overrides);
    for (const line of describeClassMap(classMap)) process.stderr.write(`${pc.dim(line)}\n`);
    if (classMap.matches.length === 0) {
      throw new TearlessError('TL_ERR_DATASET_INVALID', `None of the model's classes (${det.profile.labels.slice(0, 5).join(', ')}, …) matches a dataset category (${dataset.categories.slice(0, 5).map((c) => c.name).join(', ')}, …). Map them with --class-map '{"model label": "category name"}'.`);
    }
    const bar = flags.progress !== false && process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: `eval ${path.basename(name)} |{bar}| {value}/{total} images | {eta_formatted} left`, stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(dataset.images.length, 0);
    const detections: CocoDetection[] = [];
    const failures: string[] = [];
    await orderedMap(
      dataset.images,
      det.streams + 2,
      (img) => det.detect(img.path, { conf: flags.conf, iou: flags.iou, maxDet: flags.maxDet }),
      (settled, img) => {
        bar?.increment();
        if (settled.status === 'rejected') failures.push(`${img.path}: ${(settled.reason as Error).message}`);
        else detections.push(...toCocoDetections(img.id, settled.value.detections, classMap));
      },
    );
    bar?.stop();
    if (failures.length) {
      // Scoring with images missing would silently lower recall: refuse instead.
      throw new TearlessError('TL_ERR_DATASET_INVALID', `${failures.length} image(s) could not be read:\n  ${failures.slice(0, 10).join('\n  ')}`);
    }
    return { detections, classMap, name };
  } finally {
    await det.close();
  }
}

function toRecord(model: string, r: CocoEvalResult, dataset: Dataset, detections: number): EvalRecord {
  const stats = r.stats.map((s) => s.value);
  const perClass: Record<string, number> = {};
  for (const c of r.perClass) if (c.ap >= 0) perClass[c.name] = c.ap;
  return { model, stats, map: stats[0], map50: stats[1], map75: stats[2], perClass, images: dataset.images.length, detections };
}

async function readResultsFile(file: string): Promise<CocoDetection[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new TearlessError('TL_ERR_DATASET_INVALID', `--detections: cannot read "${file}" as JSON (${(err as Error).message}).`, { cause: err });
  }
  if (!Array.isArray(json)) throw new TearlessError('TL_ERR_DATASET_INVALID', `--detections: "${file}" must hold a COCO results array [{image_id, category_id, bbox, score}, …].`);
  json.forEach((d, i) => {
    const ok = d && typeof d === 'object' && Number.isFinite(d.image_id) && Number.isFinite(d.category_id) && Number.isFinite(d.score)
      && Array.isArray(d.bbox) && d.bbox.length === 4 && d.bbox.every((v: unknown) => Number.isFinite(v));
    if (!ok) throw new TearlessError('TL_ERR_DATASET_INVALID', `--detections: entry ${i} of "${file}" is not {image_id, category_id, bbox: [x, y, w, h], score}.`);
  });
  return json as CocoDetection[];
}

export async function readClassMap(spec: string): Promise<ClassOverrides> {
  const text = spec.trim().startsWith('{') ? spec : await readFile(spec, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--class-map: cannot read "${spec}" (${err.code}); pass a JSON file or inline JSON like '{"motorbike": "motorcycle"}'.`);
  });
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return json as ClassOverrides;
  } catch (err) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--class-map must be a JSON object of model label (or index) → category name, id or null (${(err as Error).message}).`);
  }
}

function suffixed(file: string, model: string): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}.${path.basename(model, path.extname(model))}${ext}`;
}

async function writePlots(dir: string, dataset: Dataset, records: { result: CocoEvalResult; name: string }[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const { result, name } of records) {
    const stem = records.length > 1 ? `${path.basename(name, path.extname(name))}_` : '';
    const curves = precisionRecallCurves(dataset, result.accumulation, { iouThr: 0.5 });
    await writeFile(path.join(dir, `${stem}pr_curves.svg`), prCurvesSvg(curves, result.perClass, { title: `${path.basename(name)}: precision–recall,` }));
    await writeFile(path.join(dir, `${stem}class_ap.svg`), classApSvg(result.perClass, { title: `${path.basename(name)}: AP per class` }));
  }
  process.stderr.write(`plots written to ${dir}\n`);
}

const STAT_NAMES = ['AP @[.50:.95]', 'AP @.50', 'AP @.75', 'AP small', 'AP medium', 'AP large', 'AR @1', 'AR @10', 'AR @100', 'AR small', 'AR medium', 'AR large'];

function formatReport(records: { record: EvalRecord; result: CocoEvalResult; name: string }[]): string {
  const lines: string[] = [];
  if (records.length === 1) {
    const { record, result } = records[0];
    lines.push(pc.bold(record.model), ...result.summary, '');
    const rows = [...result.perClass].filter((c) => c.ap >= 0).sort((a, b) => b.ap - a.ap);
    const w = Math.max(5, ...rows.map((c) => c.name.length));
    lines.push(pc.dim(`${'class'.padEnd(w)}     GT   dets  AP50:95  AP50`));
    for (const c of rows) lines.push(`${c.name.padEnd(w)} ${String(c.numGt).padStart(6)} ${String(c.numDet).padStart(6)}  ${c.ap.toFixed(3).padStart(7)}  ${c.ap50.toFixed(3)}`);
    lines.push('', `${record.images} images, ${record.detections} detections: mAP ${record.map.toFixed(3)}, AP50 ${record.map50.toFixed(3)}`);
  } else {
    const w = Math.max(...records.map((r) => path.basename(r.name).length), 8);
    lines.push(`${''.padEnd(14)} ${records.map((r) => path.basename(r.name).padStart(w)).join(' ')}`);
    STAT_NAMES.forEach((n, i) => lines.push(`${n.padEnd(14)} ${records.map((r) => fmtStat(r.record.stats[i]).padStart(w)).join(' ')}`));
    lines.push(`${'detections'.padEnd(14)} ${records.map((r) => String(r.record.detections).padStart(w)).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

const fmtStat = (v: number): string => (v < 0 ? '—' : v.toFixed(3));
