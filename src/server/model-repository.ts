/**
 * What a model repository holds: `repo/<name>/<version>/model.onnx` (Triton's layout, with an
 * optional profile `model.json` beside it), plain `repo/<name>.onnx` files, or model files
 * given directly. Names and versions are validated here so no request can reach outside the
 * repository through them.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TearlessError } from '../core/errors.js';

/** One model version found on disk. */
export interface RepositoryEntry {
  name: string;
  version: string;
  /** The .onnx file. */
  path: string;
  /** Changes when the model or its sidecar changes (hot reload). */
  signature: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const VERSION = /^[0-9]{1,9}$/;

/** Throw TL_ERR_BAD_REQUEST unless `name` is a safe model name. */
export function checkModelName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new TearlessError('TL_ERR_BAD_REQUEST', `Invalid model name "${name.slice(0, 64)}": use letters, digits, "_", "-" and "." (no path separators), up to 128 characters.`);
  }
  return name;
}

/** Throw TL_ERR_BAD_REQUEST unless `version` is a positive integer string. */
export function checkVersion(version: string): string {
  if (!VERSION.test(version)) throw new TearlessError('TL_ERR_BAD_REQUEST', `Invalid model version "${version.slice(0, 32)}": versions are numbers (1, 2, …).`);
  return version;
}

async function signature(file: string): Promise<string> {
  const parts: string[] = [];
  for (const f of [file, file.replace(/\.onnx$/i, '.json')]) {
    try {
      const s = await stat(f);
      parts.push(`${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

/** Scan every source (model files and repository folders) into entries. */
export async function scanSources(sources: readonly string[]): Promise<RepositoryEntry[]> {
  const entries: RepositoryEntry[] = [];
  for (const source of sources) {
    let st;
    try {
      st = await stat(source);
    } catch {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model or repository "${source}" does not exist.`);
    }
    if (st.isFile()) {
      const name = path.basename(source, path.extname(source));
      entries.push({ name: checkModelName(sanitize(name)), version: '1', path: source, signature: await signature(source) });
      continue;
    }
    for (const e of await readdir(source, { withFileTypes: true })) {
      const full = path.join(source, e.name);
      if (e.isFile() && e.name.toLowerCase().endsWith('.onnx')) {
        const name = sanitize(path.basename(e.name, path.extname(e.name)));
        if (NAME.test(name)) entries.push({ name, version: '1', path: full, signature: await signature(full) });
      } else if (e.isDirectory() && NAME.test(e.name)) {
        for (const v of await readdir(full, { withFileTypes: true })) {
          if (!v.isDirectory() || !VERSION.test(v.name)) continue;
          const file = path.join(full, v.name, 'model.onnx');
          try {
            await stat(file);
          } catch {
            continue; // a version folder still being copied in
          }
          entries.push({ name: e.name, version: String(Number(v.name)), path: file, signature: await signature(file) });
        }
      }
    }
  }
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.name}/${e.version}`;
    if (seen.has(key)) throw new TearlessError('TL_ERR_BAD_OPTION', `Two models are named "${e.name}" (version ${e.version}); rename one of the files.`);
    seen.add(key);
  }
  return entries;
}

/** File names like "yolox nano (v2).onnx" become "yolox_nano_v2_". */
function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
}
