/**
 * Profile overrides from a sidecar JSON (`my_model.json`) or flags, merged over the
 * auto-detected profile, then validated so a typo fails loudly instead of silently.
 */
import { TearlessError, describeValue } from '../errors.js';
import { COCO80_LABELS } from '../labels.js';
import type { InputSpec, ModelInfo, ModelProfile, OutputFamily, OutputSpec } from '../types.js';
import { detectProfile, findImageInput } from './detect.js';
import { notUnderstoodMessage } from './describe.js';

export interface ProfileOverrides {
  input?: Partial<InputSpec>;
  output?: Partial<OutputSpec>;
  labels?: string[];
  nms?: boolean;
}

const FAMILIES: OutputFamily[] = ['yolox', 'yolov5', 'yolov8', 'end2end', 'detr', 'gfl', 'ssd'];
const INPUT_KEYS = new Set(['name', 'width', 'height', 'layout', 'dtype', 'channels', 'scale', 'mean', 'std', 'resize', 'anchor', 'padValue', 'origSizeInput']);
const OUTPUT_KEYS = new Set(['family', 'strides', 'decoded', 'classOffset', 'numClasses', 'transposed', 'boxFormat', 'normalized', 'boxesInOriginal', 'names', 'regMax', 'priors', 'backgroundClass', 'activation']);

function invalid(where: string, msg: string): never {
  throw new TearlessError('TL_ERR_PROFILE_INVALID', `Invalid model profile ${where}: ${msg}`);
}

/** Validate the shape of sidecar JSON; unknown keys are errors (they are usually typos). */
export function parseOverrides(json: unknown, where: string): ProfileOverrides {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid(where, `expected a JSON object but received ${describeValue(json)}.`);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['input', 'output', 'labels', 'nms', '$schema', 'description'].includes(k)) invalid(where, `unknown key "${k}" (allowed: input, output, labels, nms).`);
  }
  const check = (obj: unknown, keys: Set<string>, name: string): void => {
    if (obj === undefined) return;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) invalid(where, `"${name}" must be an object.`);
    for (const k of Object.keys(obj)) if (!keys.has(k)) invalid(where, `unknown key "${name}.${k}" (allowed: ${[...keys].join(', ')}).`);
  };
  check(o.input, INPUT_KEYS, 'input');
  check(o.output, OUTPUT_KEYS, 'output');
  if (o.labels !== undefined && (!Array.isArray(o.labels) || !o.labels.every((l) => typeof l === 'string'))) invalid(where, '"labels" must be an array of strings.');
  if (o.nms !== undefined && typeof o.nms !== 'boolean') invalid(where, '"nms" must be true or false.');
  return o as ProfileOverrides;
}

/** Detect the profile and apply overrides. A sidecar naming a family rescues undetectable models. */
export function resolveProfile(info: ModelInfo, overrides?: ProfileOverrides, where = 'for this model'): ModelProfile {
  let base: ModelProfile;
  try {
    base = detectProfile(info);
  } catch (err) {
    const family = overrides?.output?.family;
    if (!family) throw err;
    base = fallbackProfile(info, family);
  }
  if (!overrides) return validateProfile(base, where);
  const merged: ModelProfile = {
    input: { ...base.input, ...(overrides.input ?? {}) },
    output: overrides.output?.family && overrides.output.family !== base.output.family
      ? { ...(overrides.output as OutputSpec) }
      : { ...base.output, ...(overrides.output ?? {}) },
    labels: overrides.labels ?? base.labels,
    nms: overrides.nms ?? (overrides.output?.family && overrides.output.family !== base.output.family ? defaultNms(overrides.output.family) : base.nms),
    source: `${base.source ?? 'auto-detected'} + overrides ${where}`,
  };
  return validateProfile(merged, where);
}

function defaultNms(family: OutputFamily): boolean {
  return family !== 'end2end' && family !== 'detr';
}

function fallbackProfile(info: ModelInfo, family: OutputFamily): ModelProfile {
  const image = findImageInput(info);
  if (!image) throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', notUnderstoodMessage('No image input found.', info));
  const nhwc = image.shape[3] === 3 && image.shape[1] !== 3;
  const h = image.shape[nhwc ? 1 : 2];
  const w = image.shape[nhwc ? 2 : 3];
  return {
    input: {
      name: image.name,
      width: typeof w === 'number' ? w : 640,
      height: typeof h === 'number' ? h : 640,
      layout: nhwc ? 'nhwc' : 'nchw',
      dtype: image.type === 'float16' ? 'float16' : image.type === 'uint8' ? 'uint8' : 'float32',
      channels: 'rgb', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', anchor: 'center', padValue: 114,
    },
    output: { family },
    labels: [...COCO80_LABELS],
    nms: defaultNms(family),
    source: 'sidecar',
  };
}

/** Check every field a decoder or the pre-processing relies on. */
export function validateProfile(p: ModelProfile, where: string): ModelProfile {
  const i = p.input;
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 16384;
  if (!posInt(i.width) || !posInt(i.height)) invalid(where, `input.width/height must be positive integers but are ${describeValue(i.width)} and ${describeValue(i.height)}.`);
  if (i.channels !== 'rgb' && i.channels !== 'bgr') invalid(where, `input.channels must be "rgb" or "bgr" but is ${describeValue(i.channels)}.`);
  if (i.layout !== 'nchw' && i.layout !== 'nhwc') invalid(where, `input.layout must be "nchw" or "nhwc" but is ${describeValue(i.layout)}.`);
  if (!['float32', 'float16', 'uint8'].includes(i.dtype)) invalid(where, `input.dtype must be float32, float16 or uint8 but is ${describeValue(i.dtype)}.`);
  if (i.resize !== 'letterbox' && i.resize !== 'stretch') invalid(where, `input.resize must be "letterbox" or "stretch" but is ${describeValue(i.resize)}.`);
  if (i.anchor !== 'topleft' && i.anchor !== 'center') invalid(where, `input.anchor must be "topleft" or "center" but is ${describeValue(i.anchor)}.`);
  if (typeof i.scale !== 'number' || !(i.scale > 0)) invalid(where, `input.scale must be a positive number (e.g. 1 or 1/255) but is ${describeValue(i.scale)}.`);
  for (const k of ['mean', 'std'] as const) {
    const v = i[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) invalid(where, `input.${k} must be 3 numbers but is ${describeValue(v)}.`);
  }
  if (i.std.some((x) => x === 0)) invalid(where, 'input.std must not contain 0.');
  if (typeof i.padValue !== 'number' || i.padValue < 0 || i.padValue > 255) invalid(where, `input.padValue must be 0–255 but is ${describeValue(i.padValue)}.`);
  if (!FAMILIES.includes(p.output.family)) invalid(where, `output.family must be one of ${FAMILIES.join(', ')} but is ${describeValue(p.output.family)}.`);
  if (!Array.isArray(p.labels)) invalid(where, 'labels must be an array of class names.');
  return p;
}
