/**
 * `tearless optimize` on the three models issue 5 names, on the 128 COCO images of
 * ../shared/data (mAP guard, calibration on the first 64 of the same folder), with onnxruntime's
 * own INT8 models of YOLOX-nano measured in the same run for comparison. Prints each candidate
 * table and a summary line per model; `--report-dir` also writes the HTML reports.
 *
 *   npm run bench:optimize [-- --models yolox,nanodet,deim --runs 3 --duration 1.5 --report-dir reports/]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { optimizeReportHtml, optimizeReportText } from '../src/optimize/report/index.js';
import { runOptimize } from '../src/optimize/search/run.js';
import { BUNDLED_MODEL_PATH } from '../src/pipeline/model-source.js';
import { sharedData } from '../test/helpers.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'yolox,nanodet,deim' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '1.5' },
    'report-dir': { type: 'string' },
  },
});

const coco = sharedData('coco/instances_val2017_first128.json');
const images = sharedData('coco/val2017');
if (!coco || !images) {
  process.stderr.write('bench:optimize needs ../shared/data/coco (the 128 COCO val images and their annotations).\n');
  process.exit(1);
}

const references = ['minmax', 'percentile'].map((m) => sharedData(`reference/yolox_nano_int8_qdq_${m}.onnx`)).filter((p): p is string => p !== null);
const MODELS: Record<string, { model: string | null; references: string[] }> = {
  yolox: { model: BUNDLED_MODEL_PATH, references },
  nanodet: { model: sharedData('models/nanodet_m_416_coco.onnx'), references: [] },
  deim: { model: sharedData('models/deimv2_hgnetv2_atto_320_coco.onnx'), references: [] },
};

const summary: string[] = [];
for (const name of args.models.split(',')) {
  const entry = MODELS[name];
  if (!entry?.model) {
    process.stderr.write(`skipping ${name}: model not found\n`);
    continue;
  }
  process.stderr.write(`\n== ${name}: ${entry.model}\n`);
  const report = await runOptimize({
    model: entry.model,
    calib: images,
    data: coco,
    images,
    references: entry.references,
    output: path.join('.bench', `${name}.opt.onnx`),
    speed: { runs: Number(args.runs), durationMs: Number(args.duration) * 1000 },
    onStep: ({ index, total, label }) => process.stderr.write(`[${index}/${total}] ${label}\n`),
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  process.stdout.write(optimizeReportText(report) + '\n\n');
  if (args['report-dir']) {
    await mkdir(args['report-dir'], { recursive: true });
    await writeFile(path.join(args['report-dir'], `optimize-${name}.html`), optimizeReportHtml(report));
  }
  const best = report.candidates.filter((c) => c.kind.startsWith('int8') && c.map !== undefined).sort((a, b) => b.map! - a.map!)[0];
  summary.push(`${name}: ${report.verdict}${best ? ` Most accurate INT8: ${best.id} mAP ${best.map!.toFixed(3)} at ×${best.speedup?.toFixed(2) ?? '?'}.` : ''}`);
}
process.stdout.write(summary.join('\n') + '\n');
