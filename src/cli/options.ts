/** Flag parsing shared by CLI commands: numbers, class lists, model/profile options. */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { TearlessError } from '../core/errors.js';
import { parseOverrides, type ProfileOverrides } from '../core/profile/overrides.js';
import type { OutputFamily } from '../core/types.js';
import { Detector } from '../pipeline/detector.js';

export interface CommonModelOptions {
  model?: string;
  threads?: number;
  streams?: number;
  maxPixels?: number;
  profile?: string;
  family?: OutputFamily;
  inputSize?: string;
  channels?: 'rgb' | 'bgr';
  labels?: string;
}

/** Commander parser: a number within [min, max]. */
export const numberIn = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number between ${min} and ${max}, got "${v}".`);
  return n;
};

/** Commander parser: an integer within [min, max]. */
export const integerIn = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}, got "${v}".`);
  return n;
};

/** `--classes person,car` or `--classes 0,2` → class ids, checked against the model's labels. */
export function parseClasses(text: string | undefined, labels: readonly string[]): number[] | undefined {
  if (!text) return undefined;
  const norm = (s: string): string => s.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
  const ids: number[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d+$/.test(raw)) {
      const id = Number(raw);
      if (id >= labels.length) throw new TearlessError('TL_ERR_BAD_OPTION', `--classes: class id ${id} is out of range; the model has ${labels.length} classes (0–${labels.length - 1}).`);
      ids.push(id);
      continue;
    }
    const id = labels.findIndex((l) => norm(l) === norm(raw));
    if (id < 0) {
      const close = labels.filter((l) => norm(l).includes(norm(raw)) || norm(raw).includes(norm(l))).slice(0, 5);
      throw new TearlessError('TL_ERR_BAD_OPTION', `--classes: the model has no class "${raw}".${close.length ? ` Did you mean ${close.map((c) => `"${c}"`).join(', ')}?` : ''} Run \`tearless info\` to list its classes.`);
    }
    ids.push(id);
  }
  return ids;
}

/** Profile overrides from `--profile file.json` and the individual flags (flags win). */
export async function overridesFromFlags(o: CommonModelOptions): Promise<ProfileOverrides | undefined> {
  let base: ProfileOverrides = {};
  if (o.profile) {
    let text: string;
    try {
      text = await readFile(o.profile, 'utf8');
    } catch (err) {
      throw new TearlessError('TL_ERR_PROFILE_INVALID', `--profile: cannot read "${o.profile}" (${(err as NodeJS.ErrnoException).code}).`, { cause: err });
    }
    try {
      base = parseOverrides(JSON.parse(text), `in "${o.profile}"`);
    } catch (err) {
      if (err instanceof TearlessError) throw err;
      throw new TearlessError('TL_ERR_PROFILE_INVALID', `--profile: "${o.profile}" is not valid JSON (${(err as Error).message}).`, { cause: err });
    }
  }
  const input = { ...(base.input ?? {}) };
  const output = { ...(base.output ?? {}) };
  if (o.inputSize) {
    const m = /^(\d+)(?:[x×,](\d+))?$/.exec(o.inputSize.trim());
    if (!m) throw new TearlessError('TL_ERR_BAD_OPTION', `--input-size must be N or WxH (e.g. 640 or 640x384), got "${o.inputSize}".`);
    input.width = Number(m[1]);
    input.height = Number(m[2] ?? m[1]);
  }
  if (o.channels) input.channels = o.channels;
  if (o.family) output.family = o.family;
  let labels = base.labels;
  if (o.labels) labels = await readLabels(o.labels);
  const any = o.profile || o.inputSize || o.channels || o.family || o.labels;
  return any ? { ...base, input, output, labels } : undefined;
}

/** `--labels names.txt` (one per line) or `--labels cat,dog`. */
async function readLabels(spec: string): Promise<string[]> {
  if (spec.includes(',') && !/\.(txt|names)$/i.test(spec)) return spec.split(',').map((s) => s.trim());
  try {
    return (await readFile(spec, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  } catch (err) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--labels: cannot read "${spec}" (${(err as NodeJS.ErrnoException).code}); pass a file with one class name per line or a comma-separated list.`, { cause: err });
  }
}

export async function loadDetectorFromFlags(o: CommonModelOptions): Promise<Detector> {
  return Detector.load(o.model, {
    threads: o.threads,
    streams: o.streams,
    maxPixels: o.maxPixels,
    profile: await overridesFromFlags(o),
  });
}
