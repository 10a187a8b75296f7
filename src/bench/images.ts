/**
 * The encoded images the benchmark feeds: user-given files/folders/globs, else the sample
 * images next to the package (test/fixtures/images in a checkout), else synthetic JPEGs
 * (the published package ships no sample images).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { TearlessError } from '../core/errors.js';
import { expandInputs } from '../pipeline/image-files.js';
import { decodeImage } from '../pipeline/image-decode.js';

/** Encoded images in memory (reading files is not what is being measured) and where they came from. */
export interface BenchImages {
  images: { name: string; bytes: Uint8Array }[];
  from: string;
}

/** `test/fixtures/images` of this checkout (src/bench/ and dist/bench/ are both two levels down). */
export const SAMPLE_IMAGES_DIR = fileURLToPath(new URL('../../test/fixtures/images', import.meta.url));

// JPEG only: the sample PNGs are 1–2 MB screenshots whose decode would dominate the timings.
const SAMPLE_EXT = /\.jpe?g$/i;

/** Load the images given on the command line, or the default set. */
export async function loadBenchImages(specs: readonly string[] | undefined): Promise<BenchImages> {
  if (specs && specs.length > 0) {
    const { files, missing } = await expandInputs(specs);
    if (missing.length) throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `--images: no such file, folder or matching glob: ${missing.join(', ')}.`);
    if (files.length === 0) throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `--images: no images found in ${specs.join(', ')}.`);
    const images = await readAll(files);
    await checkDecodable(images);
    return { images, from: specs.join(', ') };
  }
  if (existsSync(SAMPLE_IMAGES_DIR)) {
    const { files } = await expandInputs([SAMPLE_IMAGES_DIR]);
    const samples = files.filter((f) => SAMPLE_EXT.test(f));
    if (samples.length) return { images: await readAll(samples), from: SAMPLE_IMAGES_DIR };
  }
  return { images: await syntheticJpegs(4), from: 'synthetic 640×480 JPEGs (no sample images found)' };
}

/**
 * Decode each image once before measuring: a broken file should be named now, not end a
 * benchmark minutes in with an error about "image".
 */
async function checkDecodable(images: BenchImages['images']): Promise<void> {
  for (const img of images) await decodeImage(img.bytes, { sourceName: `--images: "${img.name}"` });
}

async function readAll(files: string[]): Promise<BenchImages['images']> {
  return Promise.all(
    files.map(async (f) => {
      try {
        return { name: f, bytes: new Uint8Array(await readFile(f)) };
      } catch (err) {
        throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `--images: cannot read "${f}" (${(err as NodeJS.ErrnoException).code}).`, { cause: err });
      }
    }),
  );
}

/**
 * Smooth gradients with a few blocks, JPEG-encoded: decode cost close to a photo of that size
 * (pure noise would compress badly and decode slower than any real picture).
 */
async function syntheticJpegs(count: number): Promise<BenchImages['images']> {
  const width = 640;
  const height = 480;
  const out: BenchImages['images'] = [];
  for (let k = 0; k < count; k++) {
    const px = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const block = ((x >> 6) + (y >> 6) + k) % 3 === 0 ? 60 : 0;
        px[i] = (x * 255) / width + block;
        px[i + 1] = (y * 255) / height;
        px[i + 2] = ((x + y + k * 97) & 255) ^ block;
      }
    }
    const bytes = await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    out.push({ name: `synthetic-${k}.jpg`, bytes: new Uint8Array(bytes) });
  }
  return out;
}

/** `Content-Type` for an image by file extension (load mode). */
export function contentTypeFor(name: string): string {
  const ext = path.extname(name).toLowerCase();
  if (ext === '.png') return 'image/png';
  if (ext === '.webp') return 'image/webp';
  if (ext === '.avif') return 'image/avif';
  if (ext === '.gif') return 'image/gif';
  if (ext === '.tif' || ext === '.tiff') return 'image/tiff';
  return 'image/jpeg';
}
