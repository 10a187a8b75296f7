/**
 * Activation calibration: run the float model on the calibration feeds with the tensors to
 * calibrate exposed as graph outputs, and reduce every output as soon as it arrives (running
 * min/max, histograms) — only one image's activations are ever alive at once.
 *
 *   pass 1  min / max per tensor (+ a log-scale |x| histogram when pass 2 follows)
 *   pass 2  percentile / entropy only: a 2048-bin histogram per tensor over the range pass 1
 *           found (see `histogramRange`), then the range of each method from it
 *
 * onnxruntime runs with graphOptimizationLevel 'basic': its fusions and eliminations never
 * remove a node whose output is a graph output, so every exposed name comes back — checked on
 * YOLOX-nano, where all 370 tensors come back bit-identical to 'disabled' (which compiles
 * slower), while 'all' changes some values by up to 7e-5 (fused kernels).
 */
import * as ort from 'onnxruntime-node';
import { TearlessError, checkInteger, checkNumber } from '../../core/errors.js';
import { exposeAsOutputs, topologicalOrder } from '../onnx/graph.js';
import { cloneModel, graphInputs, writeModel, type OnnxModel } from '../onnx/model.js';
import type { CalibrationMethod, RangeTable, TensorRange } from '../types.js';
import { TensorHistogram, TensorStats } from './histogram.js';
import { entropyRange, histogramRange, histogramTailFraction, minMaxRange, percentileRange } from './methods.js';

export type Feeds = Record<string, ort.Tensor>;

export interface CollectOptions {
  /** Which range tables to return. */
  methods: CalibrationMethod[];
  /** intraOpNumThreads of the calibration session (default 1). */
  threads?: number;
  /** Histogram bins for percentile / entropy (default 2048). */
  bins?: number;
  /** Percentile of the percentile method (default 99.999). */
  percentile?: number;
  /** Called after each image of each pass: `done` of `total` (= images × passes). */
  onProgress?: (done: number, total: number) => void;
}

const METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

/**
 * Names of every tensor computed by the graph or fed to it (graph inputs without the
 * initializers, then node outputs in topological order) — the candidates for calibration.
 * Tensors of subgraphs (If / Loop bodies) are not included. Non-float tensors (shapes,
 * indices) are in the list; `collectActivationRanges` skips them.
 */
export function activationTensors(model: OnnxModel): string[] {
  const names = new Set<string>();
  for (const vi of graphInputs(model)) if (vi.name) names.add(vi.name);
  for (const node of topologicalOrder(model)) for (const o of node.output ?? []) if (o) names.add(o);
  return [...names];
}

/**
 * Run the float model on every feed with `tensors` exposed as outputs; return one RangeTable
 * per method, each with an entry per float32 tensor, in the order of `tensors` (tensors of
 * other types are skipped). Every range contains 0 and is at least `MIN_RANGE_SPAN` wide.
 *
 * Errors: no feeds or bad options → TL_ERR_BAD_OPTION; a name that is not a tensor of the
 * graph → TL_ERR_BAD_OPTION from `exposeAsOutputs`; onnxruntime refusing the model →
 * TL_ERR_MODEL_NOT_ONNX; a failing run → TL_ERR_MODEL_RUN_FAILED (with the cause).
 */
export async function collectActivationRanges(
  model: OnnxModel,
  tensors: readonly string[],
  feeds: readonly Feeds[],
  opts: CollectOptions,
): Promise<Map<CalibrationMethod, RangeTable>> {
  const methods = [...new Set(opts.methods)];
  if (methods.length === 0 || methods.some((m) => !METHODS.includes(m))) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Expected calibration methods among ${METHODS.join(', ')} but received [${opts.methods.join(', ')}].`,
    );
  }
  if (feeds.length === 0) {
    throw new TearlessError('TL_ERR_BAD_OPTION', 'No calibration images: pass at least one (64–500 images like the ones the model will see in use are typical).');
  }
  const threads = checkInteger('threads', opts.threads ?? 1, 1, 1024);
  const bins = checkInteger('bins', opts.bins ?? 2048, 16, 1 << 20);
  const percentile = checkNumber('percentile', opts.percentile ?? 99.999, 50, 100);
  const wantPercentile = methods.includes('percentile');
  const wantEntropy = methods.includes('entropy');
  const twoPasses = wantPercentile || wantEntropy;

  const names = [...new Set(tensors)];
  const probe = cloneModel(model);
  exposeAsOutputs(probe, names); // throws for unknown names and initializers

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(writeModel(probe), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'basic',
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_ONNX',
      `onnxruntime cannot load the model with its activations exposed for calibration: ${(err as Error).message}`,
      { cause: err },
    );
  }

  const passes = twoPasses ? 2 : 1;
  const totalSteps = feeds.length * passes;
  let done = 0;
  /** Runs every feed, handing each float32 output to `reduce`, then drops it. */
  const pass = async (reduce: (name: string, values: Float32Array) => void): Promise<void> => {
    for (let i = 0; i < feeds.length; i++) {
      let outputs: ort.InferenceSession.ReturnType;
      try {
        outputs = await session.run(feeds[i], names);
      } catch (err) {
        throw new TearlessError(
          'TL_ERR_MODEL_RUN_FAILED',
          `onnxruntime failed on calibration image ${i + 1} of ${feeds.length}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      for (const name of names) {
        const t = outputs[name];
        if (t?.type === 'float32') reduce(name, t.data as Float32Array);
      }
      opts.onProgress?.(++done, totalSteps);
    }
  };

  const stats = new Map<string, TensorStats>();
  const histograms = new Map<string, TensorHistogram>();
  try {
    await pass((name, values) => {
      let s = stats.get(name);
      if (!s) stats.set(name, (s = new TensorStats({ magnitudes: twoPasses })));
      s.add(values);
    });
    if (twoPasses) {
      const tail = histogramTailFraction({ percentile: wantPercentile ? percentile : undefined, entropy: wantEntropy });
      for (const [name, s] of stats) {
        const range = histogramRange(s, tail);
        if (range) histograms.set(name, new TensorHistogram(range[0], range[1], bins));
      }
      await pass((name, values) => histograms.get(name)?.add(values));
    }
  } finally {
    await session.release();
  }

  const tables = new Map<CalibrationMethod, RangeTable>(methods.map((m) => [m, new Map<string, TensorRange>()]));
  for (const [name, s] of stats) {
    const h = histograms.get(name);
    for (const method of methods) {
      let range: TensorRange;
      if (method === 'minmax' || !h) range = minMaxRange(s.min, s.max); // degenerate: nothing to cut
      else if (method === 'percentile') range = percentileRange(h, s.min, s.max, percentile);
      else range = entropyRange(h, s.min, s.max);
      tables.get(method)!.set(name, range);
    }
  }
  return tables;
}
