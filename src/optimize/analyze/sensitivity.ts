/**
 * Per-layer quantization error: the float model and its QDQ version run on the same calibration
 * images with every quantized node's output exposed, and each output is compared with its float
 * counterpart as a signal-to-quantization-noise ratio. The QDQ rewrite keeps tensor names (the
 * DequantizeLinear writes the original name), so the same name means the same value in both.
 *
 * SQNR at a layer includes the noise of every quantized layer before it; what a layer ADDS is
 * its inputs' worst SQNR minus its own. Ranking by the added noise finds the layers that should
 * stay float (e.g. a tensor whose range one 8-bit scale cannot cover), rather than blaming every
 * layer after the first bad one.
 */
import * as ort from 'onnxruntime-node';
import { TearlessError } from '../../core/errors.js';
import { exposeAsOutputs } from '../onnx/graph.js';
import { cloneModel, writeModel, type OnnxModel } from '../onnx/model.js';
import { nodeId } from '../quantize/index.js';
import type { LayerSensitivity } from '../types.js';

type Feeds = Record<string, ort.Tensor>;

/** SQNR in dB from accumulated signal and noise energy; 99 dB stands for "no measurable noise". */
export function sqnrDb(signal: number, noise: number): number {
  if (noise <= 0) return 99;
  if (signal <= 0) return -99;
  return Math.min(99, Math.max(-99, 10 * Math.log10(signal / noise)));
}

async function session(model: OnnxModel, names: string[], threads: number): Promise<ort.InferenceSession> {
  const m = cloneModel(model);
  exposeAsOutputs(m, names);
  // 'basic' keeps the QDQ graph unfused: the int8 arithmetic is simulated in float, which is
  // what the rounding of each Q/DQ pair means and is the same for every execution provider.
  return ort.InferenceSession.create(writeModel(m), { intraOpNumThreads: threads, graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
}

/**
 * Sensitivity of each quantized node of `quantModel` (ids from quantizeStatic's `quantized`),
 * worst first by added noise. `feeds` are a few pre-processed calibration images.
 */
export async function layerSensitivity(
  floatModel: OnnxModel,
  quantModel: OnnxModel,
  quantized: readonly string[],
  feeds: readonly Feeds[],
  opts: { threads: number },
): Promise<LayerSensitivity[]> {
  if (feeds.length === 0) throw new TearlessError('TL_ERR_BAD_OPTION', 'sensitivity analysis needs at least one calibration image.');
  const wanted = new Set(quantized);
  const floatOutputs = new Set((floatModel.graph.node ?? []).flatMap((n) => n.output ?? []));
  const layers = (floatModel.graph.node ?? []).filter((n) => wanted.has(nodeId(n)) && n.output?.[0] && floatOutputs.has(n.output[0]));
  const quantTensors = new Set((quantModel.graph.node ?? []).flatMap((n) => n.output ?? []));
  const names = layers.map((n) => n.output![0]).filter((t) => quantTensors.has(t));
  const graphOutputs = new Set((floatModel.graph.output ?? []).map((o) => o.name));
  const exposed = names.filter((n) => !graphOutputs.has(n));

  const energy = new Map<string, { signal: number; noise: number }>();
  const fs = await session(floatModel, exposed, opts.threads);
  try {
    const qs = await session(quantModel, exposed, opts.threads);
    try {
      for (const f of feeds) {
        const a = await fs.run(f);
        const b = await qs.run(f);
        for (const name of names) {
          const ref = a[name]?.data;
          const q = b[name]?.data;
          if (!(ref instanceof Float32Array) || !(q instanceof Float32Array) || ref.length !== q.length) continue;
          const e = energy.get(name) ?? { signal: 0, noise: 0 };
          for (let i = 0; i < ref.length; i++) {
            const d = ref[i] - q[i];
            e.signal += ref[i] * ref[i];
            e.noise += d * d;
          }
          energy.set(name, e);
        }
      }
    } finally {
      await qs.release();
    }
  } finally {
    await fs.release();
  }

  const sqnrOf = new Map<string, number>();
  for (const [name, e] of energy) sqnrOf.set(name, sqnrDb(e.signal, e.noise));
  const out: LayerSensitivity[] = [];
  for (const node of layers) {
    const s = sqnrOf.get(node.output![0]);
    if (s === undefined) continue;
    const inputs = (node.input ?? []).map((i) => sqnrOf.get(i)).filter((v): v is number => v !== undefined);
    // A layer fed only by the graph input (or by float layers) inherits no measured noise.
    const inSqnr = inputs.length ? Math.min(...inputs) : 99;
    out.push({ node: nodeId(node), opType: node.op_type ?? '?', sqnrDb: s, addedNoiseDb: inSqnr - s, keptFloat: false });
  }
  return out.sort((x, y) => (y.addedNoiseDb ?? 0) - (x.addedNoiseDb ?? 0));
}
