/**
 * Draw detections onto a copy of the image: boxes, labels and scores, one stable colour per
 * class (readable: dark text on light fills, light text on dark ones). Rendered as an SVG
 * overlay composited by sharp, so no pixel loops in JS.
 */
import sharp from 'sharp';
import type { Detection } from '../core/types.js';

// A palette of distinct, saturated colours (Ultralytics-like), indexed by class id.
const PALETTE = ['#FF3838', '#FF9D97', '#FF701F', '#FFB21D', '#CFD231', '#48F90A', '#92CC17', '#3DDB86', '#1A9334', '#00D4BB',
  '#2C99A8', '#00C2FF', '#344593', '#6473FF', '#0018EC', '#8438FF', '#520085', '#CB38FF', '#FF95C8', '#FF37C7'];

export function classColour(classId: number): string {
  return PALETTE[classId % PALETTE.length];
}

function textColourOn(hex: string): string {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#000000' : '#FFFFFF';
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** SVG overlay for an image of `width × height`. */
export function detectionsSvg(width: number, height: number, detections: readonly Detection[]): string {
  const line = Math.max(2, Math.round(Math.min(width, height) / 250));
  const font = Math.max(11, Math.round(Math.min(width, height) / 40));
  const parts: string[] = [];
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box;
    const colour = classColour(d.classId);
    const text = `${escapeXml(d.label)} ${d.score.toFixed(2)}`;
    const tw = Math.ceil(text.length * font * 0.6) + 6;
    const th = font + 6;
    const ty = y1 - th >= 0 ? y1 - th : y1; // label above the box, or inside when at the top edge
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${line}"/>`,
      `<rect x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" width="${tw}" height="${th}" fill="${colour}"/>`,
      `<text x="${(x1 + 3).toFixed(1)}" y="${(ty + font + 1).toFixed(1)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${font}" fill="${textColourOn(colour)}">${text}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Encode an annotated copy of `bytes` as JPEG, PNG or WebP. */
export async function annotateImage(
  bytes: Uint8Array,
  size: { width: number; height: number },
  detections: readonly Detection[],
  format: 'jpeg' | 'png' | 'webp' = 'jpeg',
): Promise<Buffer> {
  // `size` is the EXIF-oriented size the detections refer to (as returned by detect()).
  const overlay = Buffer.from(detectionsSvg(size.width, size.height, detections));
  return sharp(bytes, { pages: 1 }).rotate().removeAlpha().composite([{ input: overlay, top: 0, left: 0 }]).toFormat(format).toBuffer();
}
