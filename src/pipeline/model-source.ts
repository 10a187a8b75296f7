/**
 * Where models and their sidecar profiles come from: the bundled default model, and
 * `<model>.json` sidecars next to a model file.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { TearlessError } from '../core/errors.js';
import { parseOverrides, type ProfileOverrides } from '../core/profile/overrides.js';

/** The bundled YOLOX-nano (COCO, Apache-2.0), shipped in `models/`. */
export const BUNDLED_MODEL_PATH = fileURLToPath(new URL('../../models/yolox_nano_416_coco.onnx', import.meta.url));

/** Sidecar path for a model file: `model.onnx` → `model.json`. */
export function sidecarPath(modelPath: string): string {
  return path.join(path.dirname(modelPath), `${path.basename(modelPath, path.extname(modelPath))}.json`);
}

/** Read and validate the sidecar profile, or null when there is none. */
export async function readSidecar(modelPath: string): Promise<ProfileOverrides | null> {
  const file = sidecarPath(modelPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TearlessError('TL_ERR_PROFILE_INVALID', `Sidecar profile "${file}" is not valid JSON (${(err as Error).message}). Fix the file or remove it.`, { cause: err });
  }
  return parseOverrides(json, `in "${file}"`);
}

/** Merge override layers; later layers win, field by field. */
export function mergeOverrides(...layers: (ProfileOverrides | null | undefined)[]): ProfileOverrides | undefined {
  let out: ProfileOverrides | undefined;
  for (const l of layers) {
    if (!l) continue;
    out = {
      input: { ...(out?.input ?? {}), ...(l.input ?? {}) },
      output: { ...(out?.output ?? {}), ...(l.output ?? {}) },
      labels: l.labels ?? out?.labels,
      nms: l.nms ?? out?.nms,
    };
  }
  return out;
}
