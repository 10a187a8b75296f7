/**
 * Encoded image bytes → 8-bit RGB pixels, with sharp (libvips). Applies EXIF orientation,
 * drops alpha (as OpenCV's imread does, which reference pipelines use), expands greyscale to
 * three channels, takes the first frame of animations, and refuses images over the pixel
 * limit from the header, before any pixel is decoded.
 */
import sharp from 'sharp';
import { TearlessError } from '../core/errors.js';
import type { PixelBuffer } from '../core/resize.js';

/** Default pixel limit: 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 100 MP). */
  maxPixels?: number;
  /** Name of the input for error messages (a path, "request body", …). */
  sourceName?: string;
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
