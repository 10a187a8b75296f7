/**
 * `tearless optimize`: measured graph optimization and INT8 quantization with an accuracy
 * guard. Thin: parses flags, runs the search (src/optimize/search/run.ts), prints the report.
 */
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { optimizeReportHtml, optimizeReportJson, optimizeReportText } from '../optimize/report/index.js';
import { runOptimize } from '../optimize/search/run.js';
import type { CalibrationMethod, QuantFormat } from '../optimize/types.js';
import { integerList, positiveNumber } from './bench.js';
import { readClassMap } from './eval.js';
import { integerIn, numberIn } from './options.js';

export interface OptimizeFlags {
  model?: string;
  calib: string;
  calibImages: number;
  data?: string;
  images?: string;
  split?: string;
  classMap?: string;
  maxMapDrop: number;
  minAgreement: number;
  threads?: number[];
  methods: CalibrationMethod[];
  formats: QuantFormat[];
  also?: string[];
  keepFloat?: string[];
  quantizeOps?: string[];
  output?: string;
  keep?: string;
  runs: number;
  duration: number;
  json?: boolean;
  report?: string;
  progress: boolean;
}

const METHODS: CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];
const FORMATS: QuantFormat[] = ['qdq', 'qoperator'];

const choiceList = <T extends string>(name: string, allowed: readonly T[]) => (v: string): T[] => {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = parts.filter((p) => !allowed.includes(p as T));
  if (parts.length === 0 || bad.length) throw new InvalidArgumentError(`${name} takes a comma-separated list of ${allowed.join(', ')}; "${bad.join(', ') || v}" is not one.`);
  return [...new Set(parts)] as T[];
};

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
const commaList = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), ...v.split(',').map((x) => x.trim()).filter(Boolean)];

export async function runOptimizeCommand(flags: OptimizeFlags): Promise<number> {
  const bar = flags.progress && process.stderr.isTTY && !flags.json
    ? new cliProgress.SingleBar({ format: 'optimize |{bar}| {value}/{total} {label}', stream: process.stderr, clearOnComplete: true, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  let started = false;
  const report = await runOptimize({
    model: flags.model,
    calib: flags.calib,
    calibCount: flags.calibImages,
    data: flags.data,
    images: flags.images,
    split: flags.split,
    classMap: flags.classMap ? await readClassMap(flags.classMap) : undefined,
    maxMapDrop: flags.maxMapDrop,
    minAgreement: flags.minAgreement,
    threads: flags.threads,
    methods: flags.methods,
    formats: flags.formats,
    references: flags.also,
    keepFloat: flags.keepFloat,
    quantizeOps: flags.quantizeOps,
    output: flags.output,
    keepDir: flags.keep,
    speed: { runs: flags.runs, durationMs: flags.duration * 1000 },
    onStep: ({ index, total, label }) => {
      if (bar) {
        if (!started) bar.start(total, 0, { label });
        started = true;
        bar.setTotal(total);
        bar.update(index - 1, { label });
      } else if (!flags.json) {
        process.stderr.write(pc.dim(`[${index}/${total}] ${label}\n`));
      }
    },
    onWarning: (m) => process.stderr.write(`${pc.yellow('warning')} ${m}\n`),
  }).finally(() => bar?.stop());

  if (flags.report) {
    await writeFile(flags.report, optimizeReportHtml(report));
    process.stderr.write(`report written to ${flags.report}\n`);
  }
  process.stdout.write(flags.json ? optimizeReportJson(report) + '\n' : optimizeReportText(report, { color: pc.isColorSupported && process.stdout.isTTY }) + '\n');
  return 0;
}

export function optimizeCommand(): Command {
  return new Command('optimize')
    .description('make a model faster on this machine (graph variants, INT8), measured; keeps accuracy within a budget')
    .option('-m, --model <file>', 'ONNX model (default: the bundled YOLOX-nano)')
    .requiredOption('--calib <dir|glob>', 'calibration images, like those the model will see in use')
    .option('--calib-images <n>', 'calibration images used (at least 16)', integerIn('--calib-images', 16, 100000), 64)
    .option('--data <path>', 'labelled data for the mAP guard: COCO .json, YOLO data.yaml, VOC folder (without it: agreement with the original model on --calib images)')
    .option('--images <dir>', 'image folder for a COCO .json')
    .option('--split <name>', 'split for YOLO data.yaml / VOC ImageSets')
    .option('--class-map <json|file>', 'model label → dataset category, as for eval')
    .option('--max-map-drop <x>', 'largest mAP loss accepted (with --data)', numberIn('--max-map-drop', 0, 1), 0.01)
    .option('--min-agreement <x>', "smallest share of the original's boxes a candidate must find (class and IoU ≥ 0.9; without --data)", numberIn('--min-agreement', 0, 1), 0.97)
    .option('--threads <list>', 'intra-op threads to measure at, e.g. 1,2; the first decides (default: all cores)', integerList('--threads', 1, 1024))
    .addOption(new Option('--methods <list>', 'calibration methods').argParser(choiceList('--methods', METHODS)).default(METHODS, METHODS.join(',')))
    .addOption(new Option('--formats <list>', 'static INT8 formats').argParser(choiceList('--formats', FORMATS)).default(FORMATS, FORMATS.join(',')))
    .option('--keep-float <names>', 'node names never quantized, comma-separated (as `tearless info`/Netron show them)', commaList)
    .option('--quantize-ops <types>', 'quantize only these op types statically, e.g. Conv,MatMul (default: every supported type)', commaList)
    .option('--also <file>', 'another model to measure beside the candidates (e.g. another tool\'s INT8 model); repeatable, never chosen', collect)
    .option('-o, --output <file>', 'where the chosen model goes, with its profile beside it (default: <model>.opt.onnx)')
    .option('--keep <dir>', 'keep every candidate model in this folder')
    .option('--runs <n>', 'speed runs per candidate (median)', integerIn('--runs', 1, 100), 3)
    .option('--duration <seconds>', 'measured time per model per run', positiveNumber('--duration', 600), 1.5)
    .option('--json', 'print the report as JSON')
    .option('--report <file>', 'write an HTML report (speed vs accuracy, per-layer sensitivity, per-op profiles)')
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', `
Examples:
  $ tearless optimize --calib frames/                                   # bundled model, agreement guard
  $ tearless optimize -m plates.onnx --calib frames/ --data val.json --images val/ -o plates.opt.onnx
  $ tearless optimize -m model.onnx --calib images/ --report report.html --json`)
    .action(async (flags: OptimizeFlags) => {
      process.exitCode = await runOptimizeCommand(flags);
    });
}
