/**
 * `tearless compare`: run two models (or a model against reference detections from
 * `predict --json`) over the same images and match their boxes one by one.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pc from 'picocolors';
import { TearlessError } from '../core/errors.js';
import type { Detection } from '../core/types.js';
import { compareDetections, summarize, type ImageComparison } from '../eval/compare.js';
import { Detector } from '../pipeline/detector.js';
import { expandInputs } from '../pipeline/image-files.js';

export interface CompareFlags {
  model: string[];
  images?: string;
  reference?: string;
  conf: number;
  iou: number;
  matchIou: number;
  json?: boolean;
  threads?: number;
}

interface Side {
  name: string;
  detect: (file: string) => Promise<Detection[]>;
  close: () => Promise<void>;
}

/** Reference detections: JSON Lines from `predict --json`, or a JSON array of the same records. */
export async function readReference(file: string): Promise<Map<string, Detection[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `--reference: cannot read "${file}" (${(err as NodeJS.ErrnoException).code}).`, { cause: err });
  }
  const trimmed = text.trim();
  const records: { source?: unknown; detections?: unknown }[] = [];
  if (trimmed.startsWith('[')) {
    records.push(...(JSON.parse(trimmed) as typeof records));
  } else {
    trimmed.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        records.push(JSON.parse(line));
      } catch {
        throw new TearlessError('TL_ERR_DATASET_INVALID', `--reference: line ${i + 1} of "${file}" is not JSON. Expected the output of \`tearless predict --json\`.`);
      }
    });
  }
  const map = new Map<string, Detection[]>();
  records.forEach((r, i) => {
    if (typeof r.source !== 'string' || !Array.isArray(r.detections)) {
      throw new TearlessError('TL_ERR_DATASET_INVALID', `--reference: record ${i + 1} of "${file}" lacks "source" or "detections". Expected the output of \`tearless predict --json\`.`);
    }
    map.set(path.basename(r.source), r.detections as Detection[]);
  });
  return map;
}

export async function runCompare(flags: CompareFlags): Promise<number> {
  const models = flags.model ?? [];
  if (models.length + (flags.reference ? 1 : 0) !== 2) {
    throw new TearlessError('TL_ERR_BAD_OPTION', 'compare needs exactly two sides: `-m a.onnx -m b.onnx`, or `--reference dets.jsonl -m b.onnx`.');
  }
  if (!flags.images) throw new TearlessError('TL_ERR_BAD_OPTION', 'compare needs --images <folder|glob|file>.');
  const { files } = await expandInputs([flags.images]);
  if (files.length === 0) throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', `--images: no images found in "${flags.images}".`);
  const opts = { conf: flags.conf, iou: flags.iou };
  const sides: Side[] = [];
  try {
    if (flags.reference) {
      const ref = await readReference(flags.reference);
      sides.push({ name: flags.reference, detect: async (f) => ref.get(path.basename(f)) ?? [], close: async () => {} });
    }
    for (const m of models) {
      const det = await Detector.load(m, { threads: flags.threads });
      sides.push({ name: m, detect: async (f) => (await det.detect(f, opts)).detections, close: () => det.close() });
    }
    const perImage: { file: string; result: ImageComparison }[] = [];
    for (const file of files) {
      const [a, b] = await Promise.all([sides[0].detect(file), sides[1].detect(file)]);
      const filt = (d: Detection[]): Detection[] => d.filter((x) => x.score >= flags.conf);
      perImage.push({ file, result: compareDetections(filt(a), filt(b), { iou: flags.matchIou }) });
    }
    const summary = summarize(perImage.map((p) => p.result));
    if (flags.json) {
      process.stdout.write(JSON.stringify({
        a: sides[0].name,
        b: sides[1].name,
        summary,
        images: perImage.map(({ file, result }) => ({
          source: file,
          pairs: result.pairs.map((p) => ({ label: p.a.label, iou: round(p.iou), scoreA: round(p.a.score), scoreB: round(p.b.score), boxA: p.a.box.map(round), boxB: p.b.box.map(round) })),
          missing: result.missing,
          extra: result.extra,
        })),
      }) + '\n');
    } else {
      process.stdout.write(formatComparison(sides[0].name, sides[1].name, perImage, summary));
    }
    return 0;
  } finally {
    await Promise.all(sides.map((s) => s.close()));
  }
}

const round = (v: number): number => Number(v.toFixed(4));

function formatComparison(a: string, b: string, perImage: { file: string; result: ImageComparison }[], s: ReturnType<typeof summarize>): string {
  const lines = [`${pc.bold('A')} ${a}`, `${pc.bold('B')} ${b}`, ''];
  // Worst images first: where a pre-processing mismatch shows.
  const ranked = perImage
    .map((p) => ({ ...p, bad: p.result.missing.length + p.result.extra.length + p.result.pairs.filter((x) => x.iou < 0.9).length }))
    .filter((p) => p.bad > 0)
    .sort((x, y) => y.bad - x.bad)
    .slice(0, 10);
  for (const { file, result } of ranked) {
    lines.push(`${file}: ${result.pairs.length} matched, ${result.missing.length} missing, ${result.extra.length} extra`);
    for (const m of result.missing) lines.push(pc.red(`  − ${m.label} ${m.score.toFixed(3)} [${m.box.map((v) => v.toFixed(1)).join(', ')}] only in A`));
    for (const e of result.extra) lines.push(pc.yellow(`  + ${e.label} ${e.score.toFixed(3)} [${e.box.map((v) => v.toFixed(1)).join(', ')}] only in B`));
    for (const p of result.pairs.filter((x) => x.iou < 0.9)) lines.push(`  ~ ${p.a.label} IoU ${p.iou.toFixed(3)}, score ${p.a.score.toFixed(3)} → ${p.b.score.toFixed(3)}`);
  }
  lines.push(
    '',
    `${pc.bold('summary')} ${s.images} images; A ${s.boxesA} boxes, B ${s.boxesB}; matched ${s.matched} (${(100 * s.recallOfA).toFixed(1)}% of A), missing ${s.missing}, extra ${s.extra}`,
    `        mean IoU ${s.meanIou.toFixed(4)}, ${(100 * s.pairsAtIou90).toFixed(1)}% of pairs at IoU ≥ 0.9, mean |Δscore| ${s.meanAbsScoreDelta.toFixed(4)} (max ${s.maxAbsScoreDelta.toFixed(4)})`,
  );
  return lines.join('\n') + '\n';
}
