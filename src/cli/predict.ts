/**
 * `tearless predict`: run the detector over files, folders and globs; print a table or JSON
 * Lines, optionally write annotated copies, and summarise counts per class.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import { TearlessError } from '../core/errors.js';
import type { Detection } from '../core/types.js';
import type { Detector, DetectResult } from '../pipeline/detector.js';
import { availableCores } from '../runtime/node/onnx-backend.js';
import { annotateImage } from '../pipeline/annotate.js';
import { expandInputs } from '../pipeline/image-files.js';
import { orderedMap } from './ordered-map.js';
import { parseClasses, type CommonModelOptions, loadDetectorFromFlags } from './options.js';

export interface PredictFlags extends CommonModelOptions {
  conf: number;
  iou: number;
  maxDet: number;
  classes?: string;
  agnostic?: boolean;
  json?: boolean;
  out?: string;
  progress?: boolean;
}

/** The JSON Lines record, exactly as documented. */
export function jsonRecord(source: string, r: Pick<DetectResult, 'width' | 'height' | 'detections'>): string {
  return JSON.stringify({
    source,
    width: r.width,
    height: r.height,
    detections: r.detections.map((d) => ({ label: d.label, classId: d.classId, score: round(d.score, 5), box: d.box.map((v) => round(v, 2)) })),
  });
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

export async function runPredict(inputs: string[], flags: PredictFlags): Promise<number> {
  const { files, missing } = await expandInputs(inputs);
  for (const m of missing) process.stderr.write(`${pc.red('error')} ${m}: no such file, folder or matching glob [TL_ERR_INPUT_NOT_FOUND]\n`);
  if (files.length === 0) {
    throw new TearlessError('TL_ERR_INPUT_NOT_FOUND', 'No input images found. Pass image files, folders or globs, e.g. `tearless predict photo.jpg images/`.');
  }
  // Many inputs: throughput matters, and one single-threaded inference stream per core beats
  // one multi-threaded stream (measured with `npm run bench`: ~75 vs ~60 img/s on 2 cores).
  // One input: latency matters, so one stream uses all cores.
  const cores = availableCores();
  const throughput = files.length > 1 && flags.streams === undefined && flags.threads === undefined;
  const detector = await loadDetectorFromFlags(throughput ? { ...flags, streams: cores, threads: 1 } : flags);
  try {
    return await predictAll(detector, files, missing, flags);
  } finally {
    await detector.close();
  }
}

async function predictAll(detector: Detector, files: string[], missing: string[], flags: PredictFlags): Promise<number> {
  const classes = parseClasses(flags.classes, detector.profile.labels);
  const detectOpts = { conf: flags.conf, iou: flags.iou, maxDet: flags.maxDet, classes, agnostic: flags.agnostic };
  if (flags.out) await mkdir(flags.out, { recursive: true });

  const showProgress = flags.progress !== false && files.length > 1 && process.stderr.isTTY === true;
  const bar = showProgress ? new cliProgress.SingleBar({ format: 'predict |{bar}| {value}/{total} images | {eta_formatted} left', stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
  bar?.start(files.length, 0);

  const counts = new Map<string, number>();
  let failed = 0;
  let totalMs = 0;
  const usedNames = new Set<string>();
  const startedAt = performance.now();
  const inFlight = detector.streams + 2; // keep every stream busy while the next images decode

  await orderedMap(
    files,
    inFlight,
    async (file) => {
      const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new TearlessError(err.code === 'ENOENT' ? 'TL_ERR_INPUT_NOT_FOUND' : 'TL_ERR_IMAGE_UNREADABLE', `cannot read (${err.code ?? err.message})`);
      });
      const result = await detector.detect(bytes, detectOpts).catch((err: unknown) => {
        // Name the file in the message (detect() only saw bytes).
        if (err instanceof TearlessError) err.message = err.message.replace(/^image\b/, `"${file}"`);
        throw err;
      });
      if (flags.out) {
        const outFile = uniqueName(flags.out, file, usedNames);
        await writeFile(outFile, await annotateImage(bytes, result, result.detections, outFile.endsWith('.png') ? 'png' : 'jpeg'));
      }
      return result;
    },
    (settled, file) => {
      bar?.increment();
      if (settled.status === 'rejected') {
        failed++;
        const err = settled.reason as Error & { code?: string };
        bar?.stop();
        process.stderr.write(`${pc.red('error')} ${file}: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
        return;
      }
      const r = settled.value;
      totalMs += r.timings.decodeMs + r.timings.preprocessMs + r.timings.inferMs + r.timings.postprocessMs;
      for (const d of r.detections) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
      if (flags.json) process.stdout.write(jsonRecord(file, r) + '\n');
      else if (!showProgress) process.stdout.write(formatTable(file, r));
    },
  );
  bar?.stop();

  const elapsed = (performance.now() - startedAt) / 1000;
  const ok = files.length - failed;
  // The summary goes to stderr with --json so stdout stays valid JSON Lines.
  const summaryStream = flags.json ? process.stderr : process.stdout;
  if (!flags.json || process.stderr.isTTY) {
    summaryStream.write(formatSummary(counts, ok, failed, elapsed, ok ? totalMs / ok : 0, flags.out));
  }
  return failed > 0 || missing.length > 0 ? 1 : 0;
}

function uniqueName(dir: string, file: string, used: Set<string>): string {
  const ext = path.extname(file).toLowerCase() === '.png' ? '.png' : '.jpg';
  const stem = path.basename(file, path.extname(file));
  let name = `${stem}${ext}`;
  for (let i = 2; used.has(name); i++) name = `${stem}_${i}${ext}`;
  used.add(name);
  return path.join(dir, name);
}

export function formatTable(file: string, r: DetectResult): string {
  const lines = [`${pc.bold(file)} ${pc.dim(`${r.width}×${r.height}, ${r.detections.length} detection${r.detections.length === 1 ? '' : 's'}, ${(r.timings.inferMs).toFixed(1)} ms inference`)}`];
  if (r.detections.length > 0) {
    const w = Math.max(5, ...r.detections.map((d) => d.label.length));
    lines.push(pc.dim(`  ${'label'.padEnd(w)}  score  box (x1, y1, x2, y2)`));
    for (const d of r.detections) lines.push(`  ${d.label.padEnd(w)}  ${d.score.toFixed(3)}  ${fmtBox(d)}`);
  }
  return lines.join('\n') + '\n';
}

const fmtBox = (d: Detection): string => d.box.map((v) => v.toFixed(1).padStart(7)).join(' ');

function formatSummary(counts: Map<string, number>, ok: number, failed: number, seconds: number, meanMs: number, out?: string): string {
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const classes = sorted.length ? sorted.map(([l, n]) => `${n} ${l}`).join(', ') : 'no detections';
  const lines = [
    `${pc.bold('summary')} ${ok} image${ok === 1 ? '' : 's'}${failed ? pc.red(`, ${failed} failed`) : ''} in ${seconds.toFixed(2)} s (${meanMs.toFixed(1)} ms/image of work): ${classes}`,
  ];
  if (out) lines.push(`annotated images written to ${out}`);
  return lines.join('\n') + '\n';
}
