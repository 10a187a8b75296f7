/**
 * Static quantization in the QDQ format: the float graph stays, with QuantizeLinear →
 * DequantizeLinear pairs on the activations that enter or leave int8 nodes and int8 weights
 * behind DequantizeLinear. onnxruntime's graph optimizer (level ≥ extended, the default 'all')
 * then fuses each `DQ… → op → Q` group into the integer kernel (QLinearConv, QLinearMatMul, QGemm,
 * QLinearAdd, …) and drops the pairs around data-movement ops, so the graph runs in int8 while
 * staying a standard ONNX graph every runtime can read.
 *
 * What the fusion needs, and why the code below does what it does:
 *   - ONE Q → DQ pair per tensor, every int8 reader reading the DQ output: onnxruntime duplicates
 *     a shared DQ per reader itself (EnsureUniqueDQForNodeUnit), but the producer of a quantized
 *     tensor must feed ONLY the Q (CheckQDQNodes: output edges == Q nodes, no graph output), so
 *     when the producer is int8 even float readers read the DQ output. This is done by renaming
 *     the producer's output and letting the DQ write the original name: every reader, graph
 *     outputs included, keeps its name and float type.
 *   - Weights: int8, symmetric, per output channel (DQ `axis`: 0 for Conv [M, C, kh, kw], 1 for a
 *     MatMul/Gemm B of [K, N]) — per-axis DequantizeLinear needs opset 13. A Gemm with
 *     transB = 1 gets its B transposed to [K, N] and transB = 0: QGemm checks a per-column scale
 *     against the LAST dimension of B as stored, which is K for a transposed B.
 *   - Bias: int32 with scale x_scale · w_scale[c] and zero point 0 behind a DQ (axis 0); a float
 *     bias makes the Conv/Gemm selector refuse the group (every input must come from a DQ).
 *   - Constant inputs of Add/Mul/Concat are quantized like activations (their own min/max), for
 *     the same every-input-from-a-DQ rule.
 */
import { TearlessError } from '../../core/errors.js';
import { NameScope, attrInt, consumerMap, makeAttribute, makeNode, producerMap, setAttribute, sortTopologically, subgraphsOf } from '../onnx/graph.js';
import { int64ToBigInt, makeTensor, removeInitializer } from '../onnx/model.js';
import type { GraphProto, NodeProto } from '../onnx/schema.js';
import type { ActivationType } from '../types.js';
import { constantRange, type StaticPlan } from './ops.js';
import {
  activationParams,
  biasSafeWeightScales,
  quantizeBias,
  quantizeValues,
  quantizeWeights,
  transpose2d,
  type QuantParams,
  type QuantizedWeights,
} from './params.js';

/** Scale and zero-point initializer names of one tensor's parameters. */
export interface ParamNames {
  scale: string;
  zeroPoint: string;
  params: QuantParams;
}

/** A quantized weight (and optional bias) as initializers. */
export interface WeightInits {
  /** int8 values, scales (float [C] or scalar) and zero points (int8 zeros, same shape). */
  values: string;
  scale: string;
  zeroPoint: string;
  /** The DequantizeLinear axis (null: per tensor). */
  axis: number | null;
  /** int32 bias and its scale (x_scale · w_scale), when the node has one. */
  bias?: { values: string; scale: string };
  /** Gemm only: B was transposed to [K, N] (set transB = 0 on the node). */
  transposed: boolean;
}

/**
 * The pieces both static formats emit: parameter initializers (one scale/zero point per owner
 * tensor, shared by the data-movement tensors inheriting them), quantized weights and biases,
 * quantized constants. Also applies the Relu/Clip folds of the plan.
 */
export class Emitter {
  readonly graph: GraphProto;
  readonly names: NameScope;
  /** Initializers and Constant outputs replaced by quantized copies (removed when unused at the end). */
  private readonly replaced = new Set<string>();
  private readonly paramNames = new Map<string, ParamNames>();

  constructor(readonly plan: StaticPlan, readonly perChannel: boolean) {
    this.graph = plan.ctx.graph;
    this.names = new NameScope(this.graph);
    // IR < 4 wants every initializer listed as a graph input; the new ones are not.
    if (int64ToBigInt(plan.ctx.model.ir_version) < 4n) plan.ctx.model.ir_version = 4;
  }

  /** Add an initializer under a fresh name derived from `base`. */
  init(base: string, data: Int8Array | Uint8Array | Int32Array | Float32Array, dims: readonly number[]): string {
    const name = this.names.fresh(base);
    (this.graph.initializer ??= []).push(makeTensor(name, data, dims));
    return name;
  }

  /** Scale / zero-point initializers of an activation tensor of the plan. */
  params(tensor: string): ParamNames {
    const tq = this.plan.tensors.get(tensor);
    if (!tq) throw new TearlessError('TL_ERR_INTERNAL', `Tensor "${tensor}" has no quantization parameters in the plan.`);
    const known = this.paramNames.get(tq.owner);
    if (known) return known;
    const p = tq.params;
    const zp = p.type === 'uint8' ? Uint8Array.of(p.zeroPoint) : Int8Array.of(p.zeroPoint);
    const names: ParamNames = {
      scale: this.init(`${tq.owner}_scale`, Float32Array.of(p.scale), []),
      zeroPoint: this.init(`${tq.owner}_zero_point`, zp, []),
      params: p,
    };
    this.paramNames.set(tq.owner, names);
    return names;
  }

  /**
   * Quantize the weight at `node.input[weightIndex]` (and the bias at `biasIndex`) for an input
   * of scale `inputScale`. `kind`: Conv (channel axis 0), MatMul or Gemm (B is [K, N] after
   * an optional transpose, channel axis 1).
   */
  weights(node: NodeProto, kind: 'conv' | 'matmul' | 'gemm', inputScale: number, biasIndex?: number): WeightInits {
    const ctx = this.plan.ctx;
    const wName = node.input?.[1] ?? '';
    const w = ctx.floatConstant(wName);
    if (!w) throw new TearlessError('TL_ERR_INTERNAL', `The weight "${wName}" is not a float constant.`);
    let { data, dims } = w;
    let transposed = false;
    if (kind === 'gemm' && attrInt(node, 'transB', 0) === 1) {
      data = transpose2d(data, dims[0], dims[1]);
      dims = [dims[1], dims[0]];
      transposed = true;
    }
    const channelAxis = kind === 'conv' ? 0 : 1;
    const axis = this.perChannel ? channelAxis : null;
    const biasName = biasIndex !== undefined ? node.input?.[biasIndex] : undefined;
    const bias = biasName ? ctx.floatConstant(biasName) : null;
    // Raise a channel's weight scale when its int32 bias would otherwise overflow.
    let minScales: Float64Array | undefined;
    if (bias) {
      const need = biasSafeWeightScales(bias.data, inputScale);
      minScales = axis === null ? Float64Array.of(Math.max(...need)) : need;
    }
    const q: QuantizedWeights = quantizeWeights(data, dims, axis, minScales);
    const shape = axis === null ? [] : [q.scales.length];
    const out: WeightInits = {
      values: this.init(`${wName}_quantized`, q.values, dims),
      scale: this.init(`${wName}_scale`, q.scales, shape),
      zeroPoint: this.init(`${wName}_zero_point`, new Int8Array(q.scales.length), shape),
      axis,
      transposed,
    };
    this.replaced.add(wName);
    if (bias && biasName) {
      const b = quantizeBias(bias.data, inputScale, q.scales);
      out.bias = {
        values: this.init(`${biasName}_quantized`, b.values, [b.values.length]),
        scale: axis === null ? this.init(`${biasName}_scale`, b.scales.slice(0, 1), []) : this.init(`${biasName}_scale`, b.scales, [b.scales.length]),
      };
      this.replaced.add(biasName);
    }
    return out;
  }

  /** A float constant input of Add/Mul/Concat quantized with its own range (activation type). */
  constant(name: string, type: ActivationType): ParamNames & { values: string } {
    const c = this.plan.ctx.floatConstant(name);
    if (!c) throw new TearlessError('TL_ERR_INTERNAL', `"${name}" is not a float constant.`);
    const params = activationParams(constantRange(c.data), type);
    const zp = type === 'uint8' ? Uint8Array.of(params.zeroPoint) : Int8Array.of(params.zeroPoint);
    this.replaced.add(name);
    return {
      values: this.init(`${name}_quantized`, quantizeValues(c.data, params), c.dims),
      scale: this.init(`${name}_scale`, Float32Array.of(params.scale), []),
      zeroPoint: this.init(`${name}_zero_point`, zp, []),
      params,
    };
  }

  /** Remove the folded Relu/Clip nodes: their producer writes their output directly. */
  applyFolds(): void {
    const removed = new Set<NodeProto>();
    for (const [producer, relu] of this.plan.folds) {
      producer.output![0] = relu.output?.[0] ?? '';
      removed.add(relu);
    }
    this.graph.node = (this.graph.node ?? []).filter((n) => !removed.has(n));
  }

  /**
   * Drop what the rewrite left unused: replaced initializers and Constant nodes nobody reads,
   * and value_info of values that no longer exist.
   */
  cleanup(): void {
    const graph = this.graph;
    const used = new Set<string>();
    const collect = (g: GraphProto): void => {
      for (const n of g.node ?? []) {
        for (const i of n.input ?? []) used.add(i);
        for (const sub of subgraphsOf(n)) collect(sub);
        for (const sub of subgraphsOf(n)) for (const o of sub.output ?? []) used.add(o.name ?? '');
      }
    };
    collect(graph);
    for (const o of graph.output ?? []) used.add(o.name ?? '');
    for (const name of this.replaced) if (!used.has(name)) removeInitializer(graph, name);
    graph.node = (graph.node ?? []).filter(
      (n) => !(n.op_type === 'Constant' && this.replaced.has(n.output?.[0] ?? '') && !used.has(n.output?.[0] ?? '')),
    );
    const produced = new Set((graph.node ?? []).flatMap((n) => n.output ?? []));
    if (graph.value_info) graph.value_info = graph.value_info.filter((vi) => produced.has(vi.name ?? ''));
    sortTopologically(graph);
  }
}

/** Rewrite the plan's model in place into the QDQ format. Returns nothing: see `plan.ctx.model`. */
export function rewriteQdq(plan: StaticPlan, perChannel: boolean, activationType: ActivationType): void {
  const em = new Emitter(plan, perChannel);
  const graph = em.graph;
  em.applyFolds();
  const newNodes: NodeProto[] = [];
  const dq = (input: string, scale: string, zp: string | undefined, output: string, axis: number | null): NodeProto =>
    makeNode('DequantizeLinear', zp ? [input, scale, zp] : [input, scale], [output], {
      name: em.names.fresh(`${output}_DequantizeLinear`),
      ...(axis !== null ? { attributes: { axis } } : {}),
    });

  // Weights, biases, constants: int8 / int32 initializers behind a DequantizeLinear.
  for (const [node, { op, shape }] of plan.quantized) {
    const inputs = node.input!;
    if (op.kind === 'conv' || op.kind === 'gemm' || (op.kind === 'matmul' && !shape.activations.includes(1))) {
      const xScale = plan.tensors.get(inputs[0])!.params.scale;
      const w = em.weights(node, op.kind, xScale, op.kind === 'matmul' ? undefined : 2);
      const wOut = em.names.fresh(`${inputs[1]}_DequantizeLinear_Output`);
      newNodes.push(dq(w.values, w.scale, w.zeroPoint, wOut, w.axis));
      inputs[1] = wOut;
      if (w.transposed) setAttribute(node, makeAttribute('transB', 0));
      if (w.bias) {
        const bOut = em.names.fresh(`${inputs[2]}_DequantizeLinear_Output`);
        newNodes.push(dq(w.bias.values, w.bias.scale, undefined, bOut, w.axis === null ? null : 0));
        inputs[2] = bOut;
      }
    }
    for (const i of shape.constants) {
      const c = em.constant(inputs[i], activationType);
      const out = em.names.fresh(`${inputs[i]}_DequantizeLinear_Output`);
      newNodes.push(dq(c.values, c.scale, c.zeroPoint, out, null));
      inputs[i] = out;
    }
  }

  // Activations: one Q → DQ pair per tensor.
  const producers = producerMap(graph);
  const consumers = consumerMap(graph);
  for (const tensor of plan.tensors.keys()) {
    const { scale, zeroPoint } = em.params(tensor);
    const producer = producers.get(tensor);
    const q = em.names.fresh(`${tensor}_QuantizeLinear_Output`);
    if (producer && plan.quantized.has(producer)) {
      // int8 producer: it must feed only the Q. Rename its output; the DQ writes the old name.
      const pre = em.names.fresh(`${tensor}_float`);
      producer.output = producer.output!.map((o) => (o === tensor ? pre : o));
      newNodes.push(makeNode('QuantizeLinear', [pre, scale, zeroPoint], [q], { name: em.names.fresh(`${tensor}_QuantizeLinear`) }));
      newNodes.push(dq(q, scale, zeroPoint, tensor, null));
    } else {
      // float producer or graph input: float readers keep the float tensor, int8 readers read the DQ.
      const out = em.names.fresh(`${tensor}_DequantizeLinear_Output`);
      newNodes.push(makeNode('QuantizeLinear', [tensor, scale, zeroPoint], [q], { name: em.names.fresh(`${tensor}_QuantizeLinear`) }));
      newNodes.push(dq(q, scale, zeroPoint, out, null));
      for (const reader of consumers.get(tensor) ?? []) {
        const e = plan.quantized.get(reader);
        if (!e) continue;
        for (const i of e.shape.activations) if (reader.input![i] === tensor) reader.input![i] = out;
      }
    }
  }
  (graph.node ??= []).push(...newNodes);
  em.cleanup();
}
