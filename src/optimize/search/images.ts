/**
 * The images `tearless optimize` calibrates on: decoded and pre-processed exactly as `predict`
 * does (same decoder, same letterbox, same tensor layout), so the activation ranges are those
 * the deployed model will see.
 */
import { readFile, stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { isDynamicPattern } from 'tinyglobby';
import { TearlessError } from '../../core/errors.js';
import type { CoreTensor, ModelProfile } from '../../core/types.js';
import { decodeImage } from '../../pipeline/image-decode.js';
import { expandInputs } from '../../pipeline/image-files.js';
import { prepareFeeds } from '../../pipeline/preprocess.js';

export type Feeds = Record<string, ort.Tensor>;

export interface CalibrationSet {
  files: string[];
  feeds: Feeds[];
  /** Images that could not be decoded (skipped), with the reason. */
  skipped: string[];
}

/** onnxruntime tensors from the pipeline's isomorphic tensors (same buffers, no copy). */
export function toOrtFeeds(feeds: Record<string, CoreTensor>): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

/** Image files of a folder (or glob / file list), sorted; clear errors when there are none. */
export async function listImages(source: string, flag: string): Promise<string[]> {
  const st = await stat(source).catch(() => null);
  if (!st && !isDynamicPattern(source)) {
    throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `${flag}: "${source}" does not exist. Pass a folder of images like the ones the model will see in use.`);
  }
  const { files } = await expandInputs([source]);
  if (files.length === 0) {
    throw new TearlessError('TL_ERR_DATASET_INVALID', `${flag}: no images in "${source}" (looked for .jpg, .png, .webp, …). Pass a folder of images like the ones the model will see in use.`);
  }
  return files;
}

/**
 * Decode and pre-process up to `count` images of `source`. Unreadable files are skipped and
 * listed; fewer than `min` usable images is an error (a handful of images gives ranges that
 * fit those images, not the data).
 */
export async function loadCalibrationSet(source: string, profile: ModelProfile, opts: { count: number; min: number }): Promise<CalibrationSet> {
  const files = await listImages(source, '--calib');
  const used: string[] = [];
  const feeds: Feeds[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    if (feeds.length >= opts.count) break;
    try {
      const pixels = await decodeImage(await readFile(file));
      feeds.push(toOrtFeeds(prepareFeeds(pixels, profile).feeds));
      used.push(file);
    } catch (err) {
      skipped.push(`${file}: ${(err as Error).message}`);
    }
  }
  if (feeds.length < opts.min) {
    throw new TearlessError(
      'TL_ERR_DATASET_INVALID',
      `--calib: only ${feeds.length} usable image(s) in "${source}"${skipped.length ? ` (${skipped.length} unreadable)` : ''}; calibration needs at least ${opts.min} (64–500 representative images is typical).`,
    );
  }
  return { files: used, feeds, skipped };
}
