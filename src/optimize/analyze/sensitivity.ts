/**
 * Per-layer quantization error, each layer in isolation. For every node that would run in int8,
 * a "shadow" copy is added to the float graph: it reads the float inputs through
 * QuantizeLinear → DequantizeLinear with the calibrated ranges, uses fake-quantized weights
 * (int8, symmetric, per output channel — exactly what the quantizer stores), and its output goes
 * through its own Q → DQ. One run of that graph gives, for every layer at once, the error the
 * layer's own quantization adds on exact float inputs, as a signal-to-quantization-noise ratio
 * (SQNR) against the float output.
 *
 * Why in isolation: measured along the quantized graph, the SQNR of a layer includes the noise of
 * every quantized layer before it, so every layer after the first bad one looks bad. Isolated,
 * the numbers point at the layers to keep float (on YOLOX-nano: pointwise convolutions after
 * depthwise ones, whose large BN-folded weights amplify the input's quantization noise).
 */
import * as ort from 'onnxruntime-node';
import { TearlessError } from '../../core/errors.js';
import { attrInt, makeNode, NameScope } from '../onnx/graph.js';
import { cloneModel, getInitializer, makeTensor, tensorDims, tensorToFloat32, writeModel, type OnnxModel } from '../onnx/model.js';
import type { NodeProto } from '../onnx/schema.js';
import { activationParams, WEIGHT_QMAX } from '../quantize/params.js';
import { nodeId } from '../quantize/index.js';
import type { LayerSensitivity, RangeTable } from '../types.js';

type Feeds = Record<string, ort.Tensor>;

/** SQNR in dB from accumulated signal and noise energy; 99 dB stands for "no measurable noise". */
export function sqnrDb(signal: number, noise: number): number {
  if (noise <= 0) return 99;
  if (signal <= 0) return -99;
  return Math.min(99, Math.max(-99, 10 * Math.log10(signal / noise)));
}

/** Weights fake-quantized as the quantizer stores them: int8 symmetric per channel of `axis`. */
export function fakeQuantizeWeights(w: Float32Array, dims: readonly number[], axis: number): Float32Array {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const absMax = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    absMax[c] = Math.max(absMax[c], Math.abs(w[i]));
  }
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const scale = absMax[c] > 0 ? absMax[c] / WEIGHT_QMAX : 1;
    out[i] = Math.max(-WEIGHT_QMAX, Math.min(WEIGHT_QMAX, Math.round(w[i] / scale))) * scale;
  }
  return out;
}

/** The axis of the output channels of a node's weight (input 1), or null when it has none. */
function weightAxis(node: NodeProto, model: OnnxModel): number | null {
  const w = node.input?.[1] ? getInitializer(model, node.input[1]) : undefined;
  if (!w) return null;
  if (node.op_type === 'Conv') return 0;
  if (node.op_type === 'MatMul' && tensorDims(w).length === 2) return 1;
  if (node.op_type === 'Gemm' && tensorDims(w).length === 2) return attrInt(node, 'transB', 0) ? 0 : 1;
  return null;
}

/**
 * Isolated SQNR of each node in `nodes` (ids, as quantizeStatic reports them) whose first output
 * and float activation inputs have ranges; worst first. `feeds`: a few calibration images.
 */
export async function layerSensitivity(
  floatModel: OnnxModel,
  ranges: RangeTable,
  nodes: readonly string[],
  feeds: readonly Feeds[],
  opts: { threads: number },
): Promise<LayerSensitivity[]> {
  if (feeds.length === 0) throw new TearlessError('TL_ERR_BAD_OPTION', 'sensitivity analysis needs at least one calibration image.');
  const model = cloneModel(floatModel);
  const graph = model.graph;
  const scope = new NameScope(graph);
  const wanted = new Set(nodes);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const pairs: { node: NodeProto; float: string; shadow: string }[] = [];
  const extra: NodeProto[] = [];
  const fq = (tensor: string, prefix: string, rangeOf = tensor): string => {
    const p = activationParams(ranges.get(rangeOf)!, 'uint8');
    const s = scope.fresh(`${prefix}_scale`);
    const z = scope.fresh(`${prefix}_zp`);
    graph.initializer!.push(makeTensor(s, new Float32Array([p.scale]), []), makeTensor(z, new Uint8Array([p.zeroPoint]), []));
    const q = scope.fresh(`${prefix}_q`);
    const dq = scope.fresh(`${prefix}_dq`);
    extra.push(makeNode('QuantizeLinear', [tensor, s, z], [q]), makeNode('DequantizeLinear', [q, s, z], [dq]));
    return dq;
  };
  for (const node of graph.node ?? []) {
    const out = node.output?.[0];
    if (!out || !wanted.has(nodeId(node)) || !ranges.has(out)) continue;
    const axis = weightAxis(node, model);
    const inputs = node.input ?? [];
    const activations = inputs.filter((i, k) => i && !initializers.has(i) && !(axis !== null && k === 1));
    if (!activations.every((i) => ranges.has(i))) continue;
    const tag = scope.fresh(`sens_${nodeId(node)}`);
    const shadowInputs = inputs.map((i, k) => {
      if (!i) return i;
      if (axis !== null && k === 1) {
        const w = getInitializer(model, i)!;
        const name = scope.fresh(`${tag}_w`);
        graph.initializer!.push(makeTensor(name, fakeQuantizeWeights(tensorToFloat32(w), tensorDims(w), axis), tensorDims(w)));
        return name;
      }
      return initializers.has(i) ? i : fq(i, `${tag}_in${k}`);
    });
    const shadowOut = scope.fresh(`${tag}_out`);
    extra.push({ ...node, name: scope.fresh(`${tag}_node`), input: shadowInputs, output: [shadowOut, ...(node.output ?? []).slice(1).map((o) => (o ? scope.fresh(`${tag}_extra`) : o))] });
    pairs.push({ node, float: out, shadow: fq(shadowOut, `${tag}_o`, out) });
  }
  if (pairs.length === 0) return [];
  graph.node = [...(graph.node ?? []), ...extra];
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  for (const name of pairs.flatMap((p) => [p.float, p.shadow])) {
    if (!outputs.has(name)) graph.output!.push({ name });
    outputs.add(name);
  }

  const energy = pairs.map(() => ({ signal: 0, noise: 0 }));
  // 'basic': no fusion may merge a shadow Q/DQ pair away (that would hide the error measured).
  const session = await ort.InferenceSession.create(writeModel(model), { intraOpNumThreads: opts.threads, graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
  try {
    for (const f of feeds) {
      const r = await session.run(f);
      pairs.forEach((p, k) => {
        const a = r[p.float]?.data;
        const b = r[p.shadow]?.data;
        if (!(a instanceof Float32Array) || !(b instanceof Float32Array) || a.length !== b.length) return;
        let signal = 0;
        let noise = 0;
        for (let i = 0; i < a.length; i++) {
          const d = a[i] - b[i];
          signal += a[i] * a[i];
          noise += d * d;
        }
        energy[k].signal += signal;
        energy[k].noise += noise;
      });
    }
  } finally {
    await session.release();
  }
  return pairs
    .map((p, k) => ({ node: nodeId(p.node), opType: p.node.op_type ?? '?', sqnrDb: sqnrDb(energy[k].signal, energy[k].noise), keptFloat: false }))
    .sort((a, b) => a.sqnrDb - b.sqnrDb);
}
