/**
 * COCO evaluation speed on a COCO-val-sized synthetic set: 5000 images, 80 categories,
 * ~7 ground-truth boxes per image (1% crowd) and 100 detections per image (jittered copies of
 * the ground truth plus false positives, random scores). Target: under 10 s on 2 cores.
 *
 *   node --import tsx bench/eval.bench.ts [--images 5000] [--dets 100] [--classes 80] [--runs 3]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { accumulate, evaluate, formatSummary, summarize } from '../src/eval/cocoeval.js';
import type { CocoAnnotation, CocoDetection, CocoGroundTruth, XYWH } from '../src/eval/types.js';
import { seededRandom } from '../test/helpers.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '5000' },
    dets: { type: 'string', default: '100' },
    classes: { type: 'string', default: '80' },
    runs: { type: 'string', default: '3' },
  },
});

const rng = seededRandom;

export function synthesize(nImages: number, detsPerImage: number, nClasses: number, seed = 1): { gt: CocoGroundTruth; dts: CocoDetection[] } {
  const rand = rng(seed);
  const W = 640, H = 480;
  const box = (): XYWH => {
    // Log-uniform sizes so all three area buckets are populated.
    const w = Math.exp(Math.log(4) + rand() * Math.log(400 / 4)), h = w * (0.5 + rand());
    const x = rand() * Math.max(1, W - w), y = rand() * Math.max(1, H - h);
    return [x, y, Math.min(w, W), Math.min(h, H)];
  };
  const images = Array.from({ length: nImages }, (_, i) => ({ id: i + 1, width: W, height: H }));
  const categories = Array.from({ length: nClasses }, (_, k) => ({ id: k + 1, name: `class_${k}` }));
  const annotations: CocoAnnotation[] = [];
  const dts: CocoDetection[] = [];
  for (const im of images) {
    const nGt = 1 + Math.floor(rand() * 13);
    const mine: CocoAnnotation[] = [];
    for (let j = 0; j < nGt; j++) {
      const b = box();
      const ann: CocoAnnotation = { id: annotations.length + 1, image_id: im.id, category_id: 1 + Math.floor(rand() * nClasses), bbox: b, area: b[2] * b[3] * (0.6 + 0.4 * rand()), iscrowd: rand() < 0.01 ? 1 : 0 };
      annotations.push(ann);
      mine.push(ann);
    }
    for (let j = 0; j < detsPerImage; j++) {
      if (j < mine.length * 2 && rand() < 0.8) {
        const g = mine[j % mine.length];
        const [x, y, w, h] = g.bbox;
        const jit = (v: number, s: number): number => v + (rand() - 0.5) * 0.3 * s;
        dts.push({ image_id: im.id, category_id: rand() < 0.9 ? g.category_id : 1 + Math.floor(rand() * nClasses), bbox: [jit(x, w), jit(y, h), Math.max(1, jit(w, w)), Math.max(1, jit(h, h))], score: rand() });
      } else {
        dts.push({ image_id: im.id, category_id: 1 + Math.floor(rand() * nClasses), bbox: box(), score: rand() * 0.5 });
      }
    }
  }
  return { gt: { images, categories, annotations }, dts };
}

const nImages = Number(args.images), nDets = Number(args.dets), nClasses = Number(args.classes);
const { gt, dts } = synthesize(nImages, nDets, nClasses);
console.log(`${nImages} images, ${gt.annotations.length} ground truths, ${dts.length} detections, ${nClasses} classes`);
const totals: number[] = [];
for (let run = 0; run < Number(args.runs); run++) {
  const t0 = performance.now();
  const ev = evaluate(gt, dts);
  const t1 = performance.now();
  const acc = accumulate(ev);
  const t2 = performance.now();
  const stats = summarize(acc);
  const t3 = performance.now();
  totals.push(t3 - t0);
  console.log(`run ${run + 1}: evaluate ${(t1 - t0).toFixed(0)} ms, accumulate ${(t2 - t1).toFixed(0)} ms, summarize ${(t3 - t2).toFixed(0)} ms, total ${((t3 - t0) / 1000).toFixed(2)} s`);
  if (run === 0) console.log(formatSummary(stats, acc.params.iouThrs).join('\n'));
}
totals.sort((a, b) => a - b);
console.log(`median total: ${(totals[Math.floor(totals.length / 2)] / 1000).toFixed(2)} s (target < 10 s)`);
