/**
 * Geometry between the original image and the network input: how the image is placed
 * (letterbox or stretch) and how boxes map back. Pure arithmetic, isomorphic.
 */
import type { InputSpec } from './types.js';

/** Placement of the resized image inside the network input canvas. */
export interface Placement {
  /** Source image size. */
  srcWidth: number;
  srcHeight: number;
  /** Size of the resized image (before padding). */
  resizedWidth: number;
  resizedHeight: number;
  /** Offset of the resized image inside the canvas. */
  padX: number;
  padY: number;
  /** Scale factors from source pixels to network pixels. */
  scaleX: number;
  scaleY: number;
}

/**
 * Compute where the image goes. Letterbox follows the YOLOX/Ultralytics conventions:
 * ratio r = min(W/w, H/h); top-left anchoring truncates the resized size (YOLOX's `int(w*r)`),
 * centred anchoring rounds it and splits the padding with Ultralytics' `round(dw - 0.1)`.
 */
export function computePlacement(srcWidth: number, srcHeight: number, input: Pick<InputSpec, 'width' | 'height' | 'resize' | 'anchor'>): Placement {
  const { width: W, height: H } = input;
  if (input.resize === 'stretch') {
    return { srcWidth, srcHeight, resizedWidth: W, resizedHeight: H, padX: 0, padY: 0, scaleX: W / srcWidth, scaleY: H / srcHeight };
  }
  const r = Math.min(W / srcWidth, H / srcHeight);
  // YOLOX (top-left) truncates `int(w*r)`; Ultralytics-style centred letterbox rounds.
  const fit = input.anchor === 'center' ? Math.round : Math.floor;
  const resizedWidth = Math.max(1, Math.min(W, fit(srcWidth * r)));
  const resizedHeight = Math.max(1, Math.min(H, fit(srcHeight * r)));
  let padX = 0;
  let padY = 0;
  if (input.anchor === 'center') {
    padX = Math.max(0, Math.round((W - resizedWidth) / 2 - 0.1));
    padY = Math.max(0, Math.round((H - resizedHeight) / 2 - 0.1));
  }
  // Boxes map back with the same ratio the reference pipelines divide by (r), not the
  // rounded size ratio: YOLOX divides by r, and so do Ultralytics' scale_boxes.
  return { srcWidth, srcHeight, resizedWidth, resizedHeight, padX, padY, scaleX: r, scaleY: r };
}

/**
 * Map boxes (xyxy, network pixels, interleaved in `boxes`) back to source pixels in place,
 * clipped to the image.
 */
export function mapBoxesToSource(boxes: Float32Array, count: number, p: Placement): void {
  const maxX = p.srcWidth;
  const maxY = p.srcHeight;
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    boxes[o] = clamp((boxes[o] - p.padX) / p.scaleX, 0, maxX);
    boxes[o + 1] = clamp((boxes[o + 1] - p.padY) / p.scaleY, 0, maxY);
    boxes[o + 2] = clamp((boxes[o + 2] - p.padX) / p.scaleX, 0, maxX);
    boxes[o + 3] = clamp((boxes[o + 3] - p.padY) / p.scaleY, 0, maxY);
  }
}

/** Clip boxes that are already in source pixels. */
export function clipBoxes(boxes: Float32Array, count: number, width: number, height: number): void {
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    boxes[o] = clamp(boxes[o], 0, width);
    boxes[o + 1] = clamp(boxes[o + 1], 0, height);
    boxes[o + 2] = clamp(boxes[o + 2], 0, width);
    boxes[o + 3] = clamp(boxes[o + 3], 0, height);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
