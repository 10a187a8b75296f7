/**
 * Encoded image bytes → 8-bit RGB pixels, with sharp (libvips). Applies EXIF orientation,
 * drops alpha (as OpenCV's imread does, which reference pipelines use), expands greyscale to
 * three channels, takes the first frame of animations, and refuses images over the pixel
 * limit from the header, before any pixel is decoded.
 *
 * Baseline JPEGs (the bulk of real traffic) take a faster decoder: @napi-rs/image decodes a
 * 640×480 JPEG in ≈ 3 ms of CPU where sharp's libvips pipeline needs ≈ 5.7 ms (measured
 * here; OpenCV's libjpeg-turbo ≈ 2.9 ms). Its pixels differ from libjpeg's by at most a few
 * levels on ~1% of values, which leaves YOLOX parity with the OpenCV reference unchanged
 * (test/parity.test.ts). Everything else — other formats, EXIF-rotated or CMYK JPEGs, and any
 * JPEG the fast decoder rejects — goes through sharp. `decoder: 'sharp'` forces sharp.
 */
import { Transformer } from '@napi-rs/image';
import sharp, { type Metadata } from 'sharp';
import { TearlessError } from '../core/errors.js';
import type { PixelBuffer } from '../core/resize.js';

/** Default pixel limit: 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 100 MP). */
  maxPixels?: number;
  /** Name of the input for error messages (a path, "request body", …). */
  sourceName?: string;
  /** 'auto' (default): fast JPEG path where it applies, else sharp. 'sharp': always sharp. */
  decoder?: 'auto' | 'sharp';
}

export interface DecodedImage extends PixelBuffer {
  /** Detected container format (jpeg, png, webp, gif, tiff, heif, …). */
  format: string;
}

// libvips spawns worker threads per image by default; images are decoded in parallel
// across requests instead, leaving the cores to onnxruntime.
sharp.concurrency(1);

export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const name = opts.sourceName ?? 'image';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) {
    throw new TearlessError('TL_ERR_IMAGE_EMPTY', `${name} is empty (0 bytes). Send the encoded image file (JPEG, PNG, WebP, AVIF, TIFF or GIF).`);
  }
  if (opts.decoder !== 'sharp' && isJpeg(bytes)) {
    const fast = await decodeJpegFast(bytes, name, maxPixels);
    if (fast) return fast;
  }
  return decodeWithSharp(bytes, name, maxPixels);
}

/**
 * Raster formats only. sharp would also render SVG (librsvg) and PDF, which can reference
 * other files — never for untrusted uploads.
 */
const ALLOWED_FORMATS = new Set(['jpeg', 'png', 'webp', 'avif', 'heif', 'tiff', 'gif']);

async function decodeWithSharp(bytes: Uint8Array, name: string, maxPixels: number): Promise<DecodedImage> {
  let format: string | undefined;
  try {
    format = (await sharp(bytes, { limitInputPixels: maxPixels }).metadata()).format;
  } catch (err) {
    throw classifySharpError(err, name, maxPixels);
  }
  if (!format || !ALLOWED_FORMATS.has(format)) {
    throw new TearlessError('TL_ERR_IMAGE_UNSUPPORTED_FORMAT', `${name} is ${format ? `a ${format.toUpperCase()} file` : 'not an image'}; tearless reads JPEG, PNG, WebP, AVIF, TIFF and GIF. Convert it to JPEG or PNG.`);
  }
  try {
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', pages: 1, animated: false });
    const { data, info } = await image
      .rotate() // EXIF orientation
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels, format: info.format };
  } catch (err) {
    throw classifySharpError(err, name, maxPixels);
  }
}

const isJpeg = (b: Uint8Array): boolean => b.length > 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * The fast path for plain JPEGs, or null when sharp should handle the file. The header is read
 * by sharp (size checked against the limit, orientation, colour space); a file that does not
 * end with the EOI marker is truncated and refused, as libjpeg's strict mode would.
 */
async function decodeJpegFast(bytes: Uint8Array, name: string, maxPixels: number): Promise<DecodedImage | null> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (err) {
    throw classifySharpError(err, name, maxPixels);
  }
  const { width, height } = meta;
  // Greyscale JPEGs (≈ 2% of COCO) go to sharp directly: the fast decoder's one-channel output
  // is biased a level darker than libjpeg's, and decoding them twice cost 7 ms each.
  if (!width || !height || (meta.orientation ?? 1) !== 1 || meta.space !== 'srgb') return null;
  if (width * height > maxPixels) throw classifySharpError(new Error('pixel limit'), name, maxPixels);
  if (!endsWithEoi(bytes)) {
    throw new TearlessError('TL_ERR_IMAGE_UNREADABLE', `${name} cannot be decoded: it looks corrupt or truncated (the JPEG data ends before its end marker). Re-export or re-download the file.`);
  }
  let px: Buffer;
  try {
    px = await new Transformer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).rawPixels();
  } catch {
    return null; // let sharp decode it, or explain why it cannot
  }
  const channels = px.length / (width * height);
  if (channels === 3 || channels === 4) {
    return { data: new Uint8Array(px.buffer, px.byteOffset, px.byteLength), width, height, channels, format: 'jpeg' };
  }
  return null;
}

/** JPEG files end with FF D9; allow trailing padding some encoders and cameras append. */
function endsWithEoi(b: Uint8Array): boolean {
  for (let i = b.length - 2, stop = Math.max(0, b.length - 4096); i >= stop; i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  }
  return false;
}

/** Read only the header: format and size (after EXIF orientation). */
export async function probeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<{ format: string; width: number; height: number }> {
  const name = opts.sourceName ?? 'image';
  try {
    const m = await sharp(bytes, { limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS }).metadata();
    const swap = (m.orientation ?? 1) >= 5;
    return { format: m.format ?? 'unknown', width: swap ? m.height! : m.width!, height: swap ? m.width! : m.height! };
  } catch (err) {
    throw classifySharpError(err, name, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  }
}

function classifySharpError(err: unknown, name: string, maxPixels: number): TearlessError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) {
    return new TearlessError('TL_ERR_IMAGE_TOO_LARGE', `${name} has more than ${maxPixels.toLocaleString('en-US')} pixels (the limit). Downscale it, or raise the limit with --max-pixels / maxPixels if you trust the source.`, { cause: err });
  }
  if (/unsupported image format|bad seek|not a known file format/i.test(msg)) {
    return new TearlessError('TL_ERR_IMAGE_UNSUPPORTED_FORMAT', `${name} is not an image format tearless can read (JPEG, PNG, WebP, AVIF, TIFF, GIF). Convert it to JPEG or PNG.`, { cause: err });
  }
  return new TearlessError('TL_ERR_IMAGE_UNREADABLE', `${name} cannot be decoded: it looks corrupt or truncated (${msg.split('\n')[0]}). Re-export or re-download the file.`, { cause: err });
}
