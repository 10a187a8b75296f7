/**
 * Canvas rendering of the picture and its boxes. The canvas backing store follows the size the
 * canvas is shown at (× devicePixelRatio), so lines and labels stay crisp and the same size on
 * screen at any zoom; labels are placed greedily so that confident ones do not hide each other.
 */
import type { Detection } from '../../src/client/index.js';
import { classColour, textColourOn } from './palette.js';

export interface Scene {
  /** The decoded picture, or null when the browser cannot decode the format (boxes on grey). */
  bitmap: ImageBitmap | null;
  /** Size the detections refer to (the server's oriented image size). */
  width: number;
  height: number;
  detections: readonly Detection[];
}

/** Longest backing-store side, to bound memory on huge screens. */
const MAX_SIDE = 2400;

interface Rect { x: number; y: number; w: number; h: number }

/** Area two rectangles share. */
const overlap = (a: Rect, b: Rect): number =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

/** Size the canvas for `scene` at its on-screen size and draw it. */
export function drawScene(canvas: HTMLCanvasElement, scene: Scene): void {
  const srcW = Math.max(1, scene.bitmap?.width ?? scene.width);
  const srcH = Math.max(1, scene.bitmap?.height ?? scene.height);
  // Shown at most as wide as the stage and 75% of the viewport height, keeping the aspect ratio.
  canvas.style.width = `min(100%, calc(75vh * ${(srcW / srcH).toFixed(5)}))`;
  const shownWidth = canvas.getBoundingClientRect().width;
  const dpr = Math.max(1, window.devicePixelRatio || 1);
  let w = shownWidth > 0 ? Math.round(shownWidth * dpr) : srcW;
  w = Math.min(w, Math.round(MAX_SIDE * Math.min(1, srcW / srcH)));
  const h = Math.max(1, Math.round((w * srcH) / srcW));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;

  ctx.clearRect(0, 0, w, h);
  if (scene.bitmap !== null) {
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(scene.bitmap, 0, 0, w, h);
  } else {
    ctx.fillStyle = '#5b636e';
    ctx.fillRect(0, 0, w, h);
  }

  // Backing-store pixels per CSS pixel.
  const ratio = shownWidth > 0 ? w / shownWidth : 1;
  const line = Math.max(1, 2 * ratio);
  const font = Math.round((shownWidth > 0 && shownWidth < 480 ? 11 : 13) * ratio);
  const pad = 3 * ratio;
  const sx = w / Math.max(1, scene.width);
  const sy = h / Math.max(1, scene.height);

  // Boxes: lowest scores first, so confident boxes are on top.
  const ordered = [...scene.detections].sort((a, b) => a.score - b.score);
  ctx.lineWidth = line;
  const boxes = new Map<Detection, Rect>();
  for (const d of ordered) {
    const [x1, y1, x2, y2] = d.box;
    const r = { x: x1 * sx, y: y1 * sy, w: (x2 - x1) * sx, h: (y2 - y1) * sy };
    boxes.set(d, r);
    ctx.strokeStyle = classColour(d.classId);
    ctx.strokeRect(r.x, r.y, r.w, r.h);
  }

  // Labels: most confident placed first, each at the first spot that hides no other label: above
  // the box, inside its top, below it, inside its bottom (left-, right-, centre-aligned), then
  // stacked further above; else where it hides the least.
  ctx.font = `600 ${font}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  ctx.textBaseline = 'top';
  const placed: { d: Detection; text: string; rect: Rect }[] = [];
  for (const d of [...ordered].reverse()) {
    const b = boxes.get(d);
    if (b === undefined) continue;
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const tw = ctx.measureText(text).width + 2 * pad;
    const th = font + 2 * pad;
    const clampX = (x: number): number => Math.min(Math.max(0, x), Math.max(0, w - tw));
    const clampY = (y: number): number => Math.min(Math.max(0, y), Math.max(0, h - th));
    const xs = [clampX(b.x - line / 2), clampX(b.x + b.w + line / 2 - tw), clampX(b.x + (b.w - tw) / 2)];
    const ys = [b.y - th - line / 2, b.y + line / 2, b.y + b.h + line / 2, b.y + b.h - th - line / 2].map(clampY);
    const candidates: Rect[] = [];
    for (const y of ys) for (const x of xs) candidates.push({ x, y, w: tw, h: th });
    for (let k = 1; k <= 3; k++) candidates.push({ x: xs[0], y: clampY(b.y - (k + 1) * th - line / 2), w: tw, h: th });
    const hidden = (r: Rect): number => placed.reduce((sum, p) => sum + overlap(p.rect, r), 0);
    let best = candidates[0];
    let bestHidden = Infinity;
    for (const r of candidates) {
      const o = hidden(r);
      if (o < bestHidden) {
        best = r;
        bestHidden = o;
        if (o === 0) break;
      }
    }
    placed.push({ d, text, rect: best });
  }
  for (const { d, text, rect } of placed.reverse()) {
    const colour = classColour(d.classId);
    ctx.fillStyle = colour;
    ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    ctx.fillStyle = textColourOn(colour);
    ctx.fillText(text, rect.x + pad, rect.y + pad + 0.5 * ratio);
  }
}
