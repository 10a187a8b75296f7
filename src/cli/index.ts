/** The `tearless` command line: thin wrappers over the library. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { isTearlessError } from '../core/errors.js';
import { runPredict } from './predict.js';
import { runInfo } from './info.js';
import { benchCommand } from './bench.js';
import { runCompare } from './compare.js';
import { runEval } from './eval.js';
import { serveCommand } from './serve.js';
import { optimizeCommand } from './optimize.js';
import { integerIn, numberIn } from './options.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function modelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <file>', 'ONNX model (default: the bundled YOLOX-nano, COCO)')
    .option('--threads <n>', 'intra-op threads per inference stream (default: cores ÷ streams)', integerIn('--threads', 1, 1024))
    .option('--streams <n>', 'parallel inference streams', integerIn('--streams', 1, 64))
    .option('--max-pixels <n>', 'refuse images with more pixels than this', integerIn('--max-pixels', 1, 2 ** 40), 100_000_000)
    .option('--profile <file>', 'model profile JSON (default: <model>.json next to the model, if any)')
    .addOption(new Option('--family <name>', 'output family override').choices(['yolox', 'yolov5', 'yolov8', 'end2end', 'detr', 'gfl', 'ssd']))
    .option('--input-size <N|WxH>', 'network input size override')
    .addOption(new Option('--channels <order>', 'channel order override').choices(['rgb', 'bgr']))
    .option('--labels <file|a,b,c>', 'class names: a file with one per line, or a comma-separated list');
}

export function buildProgram(): Command {
  const program = new Command('tearless')
    .description('Deploy trained object detectors (ONNX) without tears.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');

  modelOptions(
    program
      .command('predict')
      .description('detect objects in images (files, folders, globs)')
      .argument('<inputs...>', 'image files, folders or globs'),
  )
    .option('--conf <score>', 'minimum score', numberIn('--conf', 0, 1), 0.25)
    .option('--iou <iou>', 'NMS IoU threshold', numberIn('--iou', 0, 1), 0.45)
    .option('--max-det <n>', 'maximum detections per image', integerIn('--max-det', 1, 100000), 300)
    .option('--classes <list>', 'keep only these classes (names or ids, comma-separated)')
    .option('--agnostic', 'class-agnostic NMS')
    .option('--json', 'print JSON Lines (one object per image) to stdout')
    .option('-o, --out <dir>', 'write annotated copies of the images to this folder')
    .option('--no-progress', 'no progress bar; print each image as it is done')
    .addHelpText('after', `
Examples:
  $ tearless predict photo.jpg
  $ tearless predict -m my_model.onnx images/ --json > dets.jsonl
  $ tearless predict 'images/**/*.png' --classes person,car -o annotated/`)
    .action(async (inputs: string[], flags) => {
      process.exitCode = await runPredict(inputs, flags);
    });

  modelOptions(program.command('info').description('show how a model is read: inputs, outputs, profile, classes'))
    .option('--json', 'print the resolved profile as JSON')
    .action(async (flags) => {
      process.exitCode = await runInfo(flags);
    });

  program
    .command('eval')
    .description('score models on a labelled dataset (COCO mAP, exactly as pycocotools)')
    .option('-m, --model <file>', 'model to evaluate (repeat for a side-by-side table; default: the bundled one)', (v: string, prev: string[] = []) => [...prev, v])
    .requiredOption('--data <path>', 'COCO instances .json, YOLO data.yaml or image folder, or Pascal VOC folder')
    .option('--images <dir>', 'image folder for a COCO .json (default: found beside it)')
    .option('--split <name>', 'split for YOLO data.yaml / VOC ImageSets (default: val)')
    .option('--detections <file>', 'score an existing COCO results .json instead of running a model')
    .option('--conf <score>', 'minimum score kept for scoring', numberIn('--conf', 0, 1), 0.001)
    .option('--iou <iou>', 'NMS IoU threshold', numberIn('--iou', 0, 1), 0.65)
    .option('--max-det <n>', 'detections per image (COCO maxDets)', integerIn('--max-det', 1, 100000), 100)
    .option('--class-map <json|file>', 'model label (or index) → dataset category name/id, or null to drop')
    .option('--json', 'print {"stats": [12 numbers], "map", "map50", "map75", "perClass", "images", "detections"}')
    .option('--save-results <file>', 'write the detections as COCO results JSON')
    .option('--plots <dir>', 'write precision–recall curves and a per-class AP chart (SVG)')
    .option('--threads <n>', 'intra-op threads per stream', integerIn('--threads', 1, 1024))
    .option('--streams <n>', 'parallel inference streams', integerIn('--streams', 1, 64))
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', `
Examples:
  $ tearless eval -m model.onnx --data instances_val.json --images val/
  $ tearless eval --detections results.json --data instances_val.json
  $ tearless eval -m model.onnx --data data.yaml
  $ tearless eval -m model.onnx --data VOCdevkit/VOC2012 --class-map '{"motorbike": "motorcycle"}'
  $ tearless eval -m a.onnx -m b.onnx --data instances_val.json --images val/`)
    .action(async (flags) => {
      process.exitCode = await runEval(flags);
    });

  program
    .command('compare')
    .description('match the boxes of two models (or a model and reference detections) image by image')
    .option('-m, --model <file>', 'a model (give two, or one with --reference)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--reference <file>', 'reference detections: JSON Lines from `tearless predict --json`')
    .option('--images <dir|glob|file>', 'images to compare on')
    .option('--conf <score>', 'minimum score on both sides', numberIn('--conf', 0, 1), 0.3)
    .option('--iou <iou>', 'NMS IoU threshold', numberIn('--iou', 0, 1), 0.45)
    .option('--match-iou <iou>', 'minimum IoU for two boxes to be the same object', numberIn('--match-iou', 0, 1), 0.5)
    .option('--threads <n>', 'intra-op threads per model', integerIn('--threads', 1, 1024))
    .option('--json', 'print the comparison as JSON')
    .addHelpText('after', `
Examples:
  $ tearless compare -m model_fp32.onnx -m model_int8.onnx --images val/
  $ tearless predict -m exported.onnx val/ --json > ref.jsonl && tearless compare --reference ref.jsonl -m other.onnx --images val/`)
    .action(async (flags) => {
      process.exitCode = await runCompare(flags);
    });

  program.addCommand(benchCommand());
  program.addCommand(serveCommand());
  program.addCommand(optimizeCommand());

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (isTearlessError(err)) {
      process.stderr.write(`${pc.red('error')} ${err.message} [${err.code}]\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
