/**
 * Parity of tearless' pipeline with the golden YOLOX-nano reference (an independent
 * Python/OpenCV re-implementation of the official YOLOX demo, test/golden/README.md):
 * share of reference boxes with score ≥ 0.3 that tearless reproduces (same class, IoU ≥ 0.9).
 *
 *   node --import tsx scripts/parity.ts [images-dir]   (default ../shared/data/coco/val2017)
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Detector } from '../src/pipeline/detector.js';
import { iou } from '../src/core/iou.js';

interface RefDet { classId: number; score: number; box: number[] }
interface RefImage { file: string; detections: RefDet[] }

export interface ParityReport { images: number; reference: number; matched: number; ratio: number; unmatched: { file: string; det: RefDet; best: number }[] }

export async function measureParity(imagesDir: string, files?: string[]): Promise<ParityReport> {
  const golden = JSON.parse(readFileSync(new URL('../test/golden/yolox_nano_416_reference.json', import.meta.url), 'utf8')) as { images: RefImage[] };
  const det = await Detector.load(undefined, { threads: 2 });
  let reference = 0;
  let matched = 0;
  let images = 0;
  const unmatched: ParityReport['unmatched'] = [];
  try {
    for (const img of golden.images) {
      if (files && !files.includes(img.file)) continue;
      const p = path.join(imagesDir, img.file);
      if (!existsSync(p)) continue;
      images++;
      // Keep candidates a little below 0.3 so a score that rounds across the threshold still matches.
      const { detections } = await det.detect(p, { conf: 0.2, iou: 0.45 });
      for (const r of img.detections.filter((d) => d.score >= 0.3)) {
        reference++;
        let best = 0;
        for (const d of detections) if (d.classId === r.classId) best = Math.max(best, iou(d.box, r.box));
        if (best >= 0.9) matched++;
        else unmatched.push({ file: img.file, det: r, best });
      }
    }
  } finally {
    await det.close();
  }
  return { images, reference, matched, ratio: reference ? matched / reference : 0, unmatched };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../shared/data/coco/val2017');
  const r = await measureParity(dir);
  console.log(`parity: ${r.matched}/${r.reference} reference boxes (score ≥ 0.3) matched at IoU ≥ 0.9 on ${r.images} images = ${(100 * r.ratio).toFixed(2)}%`);
  for (const u of r.unmatched) console.log(`  unmatched ${u.file} class ${u.det.classId} score ${u.det.score.toFixed(3)} best IoU ${u.best.toFixed(3)}`);
}
