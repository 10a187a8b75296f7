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

/** A safe model name: no path separators, no "..", at most 128 characters. */
function isModelName(name: string): boolean {
  return NAME.test(name) && !name.includes('..');
}

/** Throw TL_ERR_BAD_REQUEST unless `name` is a safe model name. */
export function checkModelName(name: string): string {
  if (!isModelName(name)) {
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

/** Something in the repository that cannot be served as it is, with what to do about it. */
export interface RepositoryProblem {
  /** The model name and version concerned, when there are valid ones (a name collision). */
  name?: string;
  version?: string;
  path: string;
  reason: string;
}

/** Directory entries in a stable order (readdir's order depends on the file system). */
async function sortedDir(dir: string) {
  return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const INVALID_NAME = 'use letters, digits, "_", "-" and "." (starting with a letter or digit), up to 128 characters';

/**
 * Scan every source (model files and repository folders) into entries, in a stable order:
 * sources as given, each folder alphabetically. What cannot be served is reported as a problem
 * instead of failing the whole scan, so one bad entry never stops the others (nor hot reload).
 * A source that does not exist throws TL_ERR_MODEL_NOT_FOUND.
 */
export async function scanSources(sources: readonly string[]): Promise<{ entries: RepositoryEntry[]; problems: RepositoryProblem[] }> {
  const found: RepositoryEntry[] = [];
  const problems: RepositoryProblem[] = [];
  const addFile = async (name: string, file: string): Promise<void> => {
    if (isModelName(name)) found.push({ name, version: '1', path: file, signature: await signature(file) });
    else problems.push({ path: file, reason: `its file name does not give a valid model name ("${name.slice(0, 40)}${name.length > 40 ? '…' : ''}"): ${INVALID_NAME}. Rename the file.` });
  };
  for (const source of sources) {
    let st;
    try {
      st = await stat(source);
    } catch {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model or repository "${source}" does not exist.`);
    }
    if (st.isFile()) {
      await addFile(sanitize(path.basename(source, path.extname(source))), source);
      continue;
    }
    for (const e of await sortedDir(source)) {
      if (e.name.startsWith('.')) continue; // .git, editor and copy temporaries
      const full = path.join(source, e.name);
      if (e.isFile() && e.name.toLowerCase().endsWith('.onnx')) {
        await addFile(sanitize(path.basename(e.name, path.extname(e.name))), full);
      } else if (e.isDirectory()) {
        for (const v of await sortedDir(full)) {
          if (!v.isDirectory() || v.name.startsWith('.')) continue;
          const file = path.join(full, v.name, 'model.onnx');
          try {
            await stat(file);
          } catch {
            continue; // not a version folder, or one still being copied in
          }
          if (!isModelName(e.name)) {
            problems.push({ path: file, reason: `the folder name "${e.name.slice(0, 40)}" is not a valid model name: ${INVALID_NAME}. Rename the folder.` });
          } else if (!VERSION.test(v.name) || Number(v.name) < 1) {
            problems.push({ path: file, reason: `the version folder "${v.name.slice(0, 20)}" is not a version: versions are numbers from 1 (repo/<name>/<version>/model.onnx).` });
          } else {
            found.push({ name: e.name, version: String(Number(v.name)), path: file, signature: await signature(file) });
          }
        }
      }
    }
  }
  // Two files for one name and version: neither is taken, since either could be the one meant.
  const byKey = new Map<string, RepositoryEntry[]>();
  for (const e of found) byKey.set(`${e.name}/${e.version}`, [...(byKey.get(`${e.name}/${e.version}`) ?? []), e]);
  const entries: RepositoryEntry[] = [];
  for (const list of byKey.values()) {
    if (list.length === 1) entries.push(list[0]);
    else problems.push({ name: list[0].name, version: list[0].version, path: list.map((e) => e.path).join(', '), reason: `two models are named "${list[0].name}" (version ${list[0].version}): ${list.map((e) => e.path).join(' and ')}. Rename or remove one.` });
  }
  return { entries, problems };
}

/** File names like "yolox nano (v2).onnx" become "yolox_nano_v2_". */
function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
}
