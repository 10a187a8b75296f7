/**
 * Which model class is which dataset category. Names are matched after normalisation (case,
 * spaces, underscores and hyphens ignored: "Traffic_Light" = "traffic light"); an override map
 * settles the rest ("motorbike" → "motorcycle", or model index → category id). The result
 * reports what stayed unmatched on both sides, since an unmatched model class scores nothing
 * and an unmatched category caps recall. Isomorphic: no Node APIs.
 */
import type { Detection } from '../core/types.js';
import { badOption } from './errors.js';
import type { CocoCategory, CocoDetection } from './types.js';

/**
 * Overrides, applied before name matching. Keys: a model label, or a model class index written
 * as an integer string ("3"). Values: a category name, a category id (number), or null to
 * leave that model class unmapped on purpose.
 */
export type ClassOverrides = Readonly<Record<string, string | number | null>>;

export interface ClassMatch {
  modelIndex: number;
  modelLabel: string;
  categoryId: number;
  categoryName: string;
  via: 'name' | 'override';
}

export interface ClassMap {
  /** Model class index → dataset category id. */
  toCategory: Map<number, number>;
  /** Dataset category id → the model class indices mapped to it. */
  toModel: Map<number, number[]>;
  matches: ClassMatch[];
  /** Model classes with no category (their detections are dropped). */
  unmatchedModel: { index: number; label: string }[];
  /** Categories no model class maps to (the model can't find them). */
  unmatchedDataset: { id: number; name: string }[];
}

/** Case-, space-, underscore- and hyphen-insensitive form of a class name. */
export function normalizeClassName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/[\s_-]+/g, '');
}

/**
 * Map model labels to dataset categories.
 * @param modelLabels the model's class names, indexed by class id
 * @param categories the dataset's categories
 * @param overrides explicit pairs that win over name matching
 * @throws TearlessError TL_ERR_BAD_OPTION when an override names an unknown class or category,
 *   or a name matches two categories
 */
export function buildClassMap(modelLabels: readonly string[], categories: readonly CocoCategory[], overrides: ClassOverrides = {}): ClassMap {
  const byName = new Map<string, CocoCategory[]>();
  for (const c of categories) {
    const key = normalizeClassName(c.name);
    byName.set(key, [...(byName.get(key) ?? []), c]);
  }
  const byId = new Map(categories.map((c) => [c.id, c]));
  const labelIndex = new Map<string, number[]>();
  modelLabels.forEach((l, i) => {
    const key = normalizeClassName(l);
    labelIndex.set(key, [...(labelIndex.get(key) ?? []), i]);
  });

  const findCategory = (name: string, context: string): CocoCategory => {
    const found = byName.get(normalizeClassName(name)) ?? [];
    if (found.length > 1) throw badOption(`${context}: "${name}" matches several dataset categories (ids ${found.map((c) => c.id).join(', ')}); map it by id instead.`);
    if (found.length === 0) throw badOption(`${context}: no dataset category is called "${name}". Categories: ${listNames(categories.map((c) => c.name))}.`);
    return found[0];
  };

  const decided = new Map<number, CocoCategory | null>();
  const via = new Map<number, 'name' | 'override'>();
  for (const [key, value] of Object.entries(overrides)) {
    const context = `Class override "${key}"`;
    let indices: number[];
    if (/^[0-9]+$/.test(key)) {
      const i = Number(key);
      if (i >= modelLabels.length) throw badOption(`${context}: the model has ${modelLabels.length} classes (0–${modelLabels.length - 1}).`);
      indices = [i];
    } else {
      indices = labelIndex.get(normalizeClassName(key)) ?? [];
      if (indices.length === 0) throw badOption(`${context}: the model has no class called "${key}". Model classes: ${listNames(modelLabels)}.`);
    }
    let target: CocoCategory | null;
    if (value === null) target = null;
    else if (typeof value === 'number') {
      target = byId.get(value) ?? null;
      if (!target) throw badOption(`${context}: no dataset category has id ${value}.`);
    } else if (typeof value === 'string') target = findCategory(value, context);
    else throw badOption(`${context}: expected a category name, a category id or null but received ${JSON.stringify(value)}.`);
    for (const i of indices) { decided.set(i, target); via.set(i, 'override'); }
  }
  modelLabels.forEach((label, i) => {
    if (decided.has(i)) return;
    const found = byName.get(normalizeClassName(label)) ?? [];
    if (found.length > 1) throw badOption(`Model class ${i} "${label}" matches several dataset categories (ids ${found.map((c) => c.id).join(', ')}); add an override.`);
    decided.set(i, found[0] ?? null);
    via.set(i, 'name');
  });

  const map: ClassMap = { toCategory: new Map(), toModel: new Map(), matches: [], unmatchedModel: [], unmatchedDataset: [] };
  modelLabels.forEach((label, i) => {
    const c = decided.get(i);
    if (!c) { map.unmatchedModel.push({ index: i, label }); return; }
    map.toCategory.set(i, c.id);
    map.toModel.set(c.id, [...(map.toModel.get(c.id) ?? []), i]);
    map.matches.push({ modelIndex: i, modelLabel: label, categoryId: c.id, categoryName: c.name, via: via.get(i)! });
  });
  for (const c of categories) if (!map.toModel.has(c.id)) map.unmatchedDataset.push({ id: c.id, name: c.name });
  return map;
}

function listNames(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ');
}

/** A short human-readable account of a class map (for the CLI and logs). */
export function describeClassMap(map: ClassMap): string[] {
  const lines = [`${map.matches.length} model class(es) mapped to dataset categories (${map.matches.filter((m) => m.via === 'override').length} by override).`];
  const renamed = map.matches.filter((m) => m.modelLabel !== m.categoryName);
  if (renamed.length) lines.push(`Mapped across names: ${renamed.map((m) => `${m.modelLabel} → ${m.categoryName}`).join(', ')}.`);
  if (map.unmatchedModel.length) lines.push(`Model classes without a category (their detections are ignored): ${listNames(map.unmatchedModel.map((u) => u.label))}.`);
  if (map.unmatchedDataset.length) lines.push(`Dataset categories the model does not predict: ${listNames(map.unmatchedDataset.map((u) => u.name))}.`);
  return lines;
}

/**
 * One image's detections as COCO results: `[x1, y1, x2, y2]` → `[x, y, w, h]`, model class →
 * category id. Detections of unmapped classes are left out.
 */
export function toCocoDetections(imageId: number, detections: readonly Detection[], map: ClassMap): CocoDetection[] {
  const out: CocoDetection[] = [];
  for (const d of detections) {
    const category = map.toCategory.get(d.classId);
    if (category === undefined) continue;
    const [x1, y1, x2, y2] = d.box;
    out.push({ image_id: imageId, category_id: category, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score });
  }
  return out;
}
