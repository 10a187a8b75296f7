/**
 * `tearless bench`: the project's speed instrument. Model mode compares `session.run` on a
 * fixed tensor with the whole pipeline (bytes → detections) per threads × streams × batch;
 * `--url` mode load-tests a running server. Text table, `--json`, `--html` report.
 */
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { TearlessError } from '../core/errors.js';
import { machineFingerprint } from '../bench/fingerprint.js';
import { loadBenchImages } from '../bench/images.js';
import { checkUrl, runLoad } from '../bench/load.js';
import { benchReportHtml, loadReportHtml } from '../bench/report-html.js';
import { formatBenchReport, formatLoadReport } from '../bench/report-text.js';
import { BENCH_DEFAULTS, runBench } from '../bench/run.js';
import type { LoadReport, LoadResult } from '../bench/types.js';

export interface BenchFlags {
  model?: string[];
  threads?: number[];
  streams?: number[];
  batch: number[];
  duration: number;
  runs: number;
  slice: number;
  images?: string[];
  spinning: boolean;
  json?: boolean;
  html?: string;
  progress: boolean;
  url?: string;
  concurrency: number[];
  timeout: number;
}

/** Commander parser: comma-separated integers within [min, max], e.g. `1,2,4`. */
export const integerList = (name: string, min: number, max: number) => (v: string): number[] => {
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((x) => !Number.isInteger(x) || x < min || x > max)) {
    throw new InvalidArgumentError(`${name} must be a comma-separated list of integers between ${min} and ${max} (e.g. ${min},${Math.min(max, min * 2)}), got "${v}".`);
  }
  return [...new Set(nums)];
};

/** Commander parser: a number > 0 and ≤ max. */
export const positiveNumber = (name: string, max: number) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0 || x > max) throw new InvalidArgumentError(`${name} must be a number greater than 0 and at most ${max}, got "${v}".`);
  return x;
};

const integerIn = (name: string, min: number, max: number) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < min || x > max) throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}, got "${v}".`);
  return x;
};

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The `bench` command, ready for `program.addCommand`. */
export function benchCommand(): Command {
  return (
    new Command('bench')
      .description('measure speed: model-only vs end-to-end per threads × streams × batch, or load-test a server (--url)')
      .option('-m, --model <file>', 'ONNX model; repeat to compare models (default: the bundled YOLOX-nano)', collect)
      .option('--threads <list>', 'intra-op threads per stream to sweep, e.g. 1,2', integerList('--threads', 1, 1024))
      .option('--streams <list>', 'parallel inference streams to sweep, e.g. 1,2', integerList('--streams', 1, 64))
      .addOption(new Option('--batch <list>', 'model-only batch sizes (models with a symbolic batch dimension); end-to-end stays batch 1').argParser(integerList('--batch', 1, 1024)).default([1], '1'))
      .option('--duration <seconds>', 'measured time of each measurement per run', positiveNumber('--duration', 3600), BENCH_DEFAULTS.durationS)
      .option('--runs <n>', 'repetitions; medians are reported', integerIn('--runs', 1, 1000), BENCH_DEFAULTS.runs)
      .option('--slice <ms>', 'length of the alternating model-only / end-to-end slices', integerIn('--slice', 10, 600_000), BENCH_DEFAULTS.sliceMs)
      .option('--images <path>', 'image file, folder or glob to feed; repeatable (default: the sample images)', collect)
      .option('--no-spinning', 'intra-op threads do not spin-wait between runs')
      .option('--json', 'print one JSON object to stdout instead of the table')
      .option('--html <file>', 'also write a self-contained HTML report (tables and SVG charts)')
      .option('--no-progress', 'no progress bar on stderr')
      .option('--url <endpoint>', 'load mode: POST images to this running server endpoint instead of loading a model')
      .addOption(new Option('--concurrency <list>', 'load mode: requests in flight, e.g. 1,4,16').argParser(integerList('--concurrency', 1, 1024)).default([4], '4'))
      .option('--timeout <seconds>', 'load mode: per-request time limit', positiveNumber('--timeout', 3600), 30)
      .addHelpText(
        'after',
        `
With neither --threads nor --streams, two configurations are measured: one stream on all
cores, and one single-threaded stream per core. --duration is per measurement: each run
measures model-only (per batch size) and end-to-end for --duration seconds each.

Examples:
  $ tearless bench
  $ tearless bench -m a.onnx -m b.onnx --threads 1,2 --streams 1,2 --duration 10 --json
  $ tearless bench --html report.html
  $ tearless bench --url http://127.0.0.1:8080/v1/detect --concurrency 4 --duration 10`,
      )
      // Usage errors exit with code 2 like every other tearless option error: commander's
      // message becomes a TearlessError that main() prints and turns into the exit code.
      .configureOutput({ outputError: () => {} })
      .exitOverride((err: CommanderError) => {
        if (err.exitCode === 0) return; // --help: commander exits 0 itself
        // "error: option '--threads <list>' argument '0' is invalid. --threads must be…" → keep our sentence.
        const message = err.message.replace(/^error: /, '').replace(/^option '[^']+' argument '[^']*' is invalid\. /, '');
        throw new TearlessError('TL_ERR_BAD_OPTION', `${message} (run \`tearless bench --help\` for usage)`);
      })
      .action(async (flags: BenchFlags, cmd: Command) => {
        process.exitCode = await runBenchCommand(flags, cmd);
      })
  );
}

const fromCli = (cmd: Command | undefined, name: string): boolean => cmd?.getOptionValueSource(name) === 'cli';

/** Run the command with parsed flags. `cmd` tells which flags were given explicitly. */
export async function runBenchCommand(flags: BenchFlags, cmd?: Command): Promise<number> {
  if (flags.url !== undefined) {
    const modelFlags = ['model', 'threads', 'streams', 'batch', 'runs', 'slice', 'spinning'].filter((f) => fromCli(cmd, f));
    if (modelFlags.length) {
      const names = modelFlags.map((f) => (f === 'spinning' ? '--no-spinning' : `--${f}`)).join(', ');
      throw new TearlessError('TL_ERR_BAD_OPTION', `--url measures a running server; ${names} ${modelFlags.length > 1 ? 'apply' : 'applies'} only to model benchmarks.`);
    }
    return runLoadCommand(flags);
  }
  if (fromCli(cmd, 'concurrency') || fromCli(cmd, 'timeout')) throw new TearlessError('TL_ERR_BAD_OPTION', '--concurrency and --timeout apply to load mode only; add --url <endpoint>.');

  if (flags.html) await checkWritable(flags.html);
  const bar = progressBar(flags, 'bench |{bar}| {percentage}% | {config} | {eta_formatted} left');
  let report;
  try {
    report = await runBench({
      models: flags.model,
      threads: flags.threads,
      streams: flags.streams,
      batches: flags.batch,
      spinning: flags.spinning,
      durationS: flags.duration,
      runs: flags.runs,
      sliceMs: flags.slice,
      images: flags.images,
      onPlan: (total) => bar?.start(total, 0, { config: 'loading' }),
      onProgress: (slices, g) => bar?.increment(slices, { config: `${g.model.split(/[\\/]/).pop()} ${g.threads} thr × ${g.streams} str` }),
    });
  } finally {
    bar?.stop();
  }
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(formatBenchReport(report));
  if (flags.html) await writeReport(flags.html, benchReportHtml(report));
  // Everything skipped (e.g. --batch 4 on fixed-batch models): say so to scripts too.
  return report.results.length === 0 ? 1 : 0;
}

async function runLoadCommand(flags: BenchFlags): Promise<number> {
  const url = checkUrl(flags.url!);
  if (flags.html) await checkWritable(flags.html);
  const images = await loadBenchImages(flags.images);
  const results: LoadResult[] = [];
  const bar = progressBar(flags, 'load  |{bar}| {percentage}% | concurrency {config} | {eta_formatted} left');
  const total = Math.round(flags.concurrency.length * flags.duration * 10);
  bar?.start(total, 0, { config: flags.concurrency[0] });
  try {
    for (const [i, concurrency] of flags.concurrency.entries()) {
      // The bar advances with time: a load run's length is its duration, whatever the server does.
      const startedAt = performance.now();
      const timer = bar ? setInterval(() => bar.update(Math.min(total, Math.round(i * flags.duration * 10 + (performance.now() - startedAt) / 100)), { config: concurrency }), 200) : null;
      try {
        results.push(await runLoad({ url, concurrency, durationS: flags.duration, images: images.images, timeoutS: flags.timeout }));
      } finally {
        if (timer) clearInterval(timer);
      }
    }
  } finally {
    bar?.stop();
  }
  const report: LoadReport = {
    machine: machineFingerprint(),
    url,
    results,
    settings: { durationS: flags.duration, images: images.images.length, imagesFrom: images.from, timeoutS: flags.timeout },
  };
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(formatLoadReport(report));
  if (flags.html) await writeReport(flags.html, loadReportHtml(report));
  return 0;
}

function progressBar(flags: BenchFlags, format: string): cliProgress.SingleBar | null {
  if (flags.progress === false || process.stderr.isTTY !== true) return null;
  return new cliProgress.SingleBar({ format, stream: process.stderr, clearOnComplete: true, hideCursor: true }, cliProgress.Presets.shades_classic);
}

/** Fail before measuring, not after minutes of it, when the report cannot be written. */
async function checkWritable(file: string): Promise<void> {
  try {
    await access(path.dirname(path.resolve(file)), constants.W_OK);
  } catch (err) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--html: cannot write to the folder of "${file}" (${(err as NodeJS.ErrnoException).code}).`, { cause: err });
  }
}

async function writeReport(file: string, html: string): Promise<void> {
  try {
    await writeFile(file, html);
  } catch (err) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--html: cannot write "${file}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, { cause: err });
  }
  process.stderr.write(`${pc.dim('HTML report written to')} ${file}\n`);
}
