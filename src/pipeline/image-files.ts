/** Expand image arguments (files, directories, globs) into an ordered list of paths. */
import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif', '.bmp', '.heic', '.heif']);

export interface ExpandedInputs {
  files: string[];
  /** Arguments that matched nothing, reported to the user. */
  missing: string[];
}

export async function expandInputs(args: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    let st;
    try {
      st = await stat(arg);
    } catch {
      st = null;
    }
    if (st?.isDirectory()) {
      const entries = (await readdir(arg, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
        .map((e) => path.join(e.parentPath ?? arg, e.name))
        .sort();
      files.push(...entries);
    } else if (st) {
      files.push(arg);
    } else if (isDynamicPattern(arg)) {
      const matched = (await glob(arg, { onlyFiles: true, expandDirectories: false })).sort();
      if (matched.length === 0) missing.push(arg);
      files.push(...matched);
    } else {
      missing.push(arg);
    }
  }
  return { files, missing };
}
