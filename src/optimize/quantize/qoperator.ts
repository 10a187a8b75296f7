/**
 * Static quantization in the QOperator format: the same decisions as the QDQ format (one plan,
 * ops.ts), written directly as integer operators — QLinearConv / QLinearMatMul (ai.onnx), QGemm,
 * QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearAveragePool,
 * QLinearGlobalAveragePool (com.microsoft, opset 1) — with data-movement ops running on the
 * 8-bit tensors themselves (their output has the input's scale and zero point by construction).
 * QuantizeLinear sits where a float tensor enters the int8 region, DequantizeLinear where an
 * int8 tensor is read by a float node or is a graph output (which keeps its name and float type).
 *
 * The result does not depend on onnxruntime's QDQ fusion, but it only runs where the
 * com.microsoft kernels exist (onnxruntime CPU). Data-movement ops need versions that accept
 * 8-bit types (MaxPool ≥ 12), which is why the quantizer converts models below opset 13 first.
 */
import { getOpset, setOpset } from '../onnx/model.js';
import { consumerMap, makeNode, producerMap, type AttributeValue } from '../onnx/graph.js';
import type { AttributeProto, NodeProto } from '../onnx/schema.js';
import type { ActivationType } from '../types.js';
import { Emitter } from './qdq.js';
import type { StaticPlan } from './ops.js';

/** Attributes of the float node carried over to its integer replacement (by name). */
function keep(node: NodeProto, names: readonly string[]): AttributeProto[] {
  return (node.attribute ?? []).filter((a) => names.includes(a.name ?? ''));
}

// QLinearAveragePool has no `dilations` (AveragePool-19 added it): such nodes would fail to load.
const POOL_ATTRS = ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides'];

/** Rewrite the plan's model in place into the QOperator format. */
export function rewriteQOperator(plan: StaticPlan, perChannel: boolean, activationType: ActivationType): void {
  const em = new Emitter(plan, perChannel);
  const graph = em.graph;
  em.applyFolds();
  const producers = producerMap(graph);
  const consumers = consumerMap(graph);
  const graphOutputs = new Set((graph.output ?? []).map((vi) => vi.name ?? ''));
  const added: NodeProto[] = [];
  let usesMs = false;

  // The 8-bit name of every tensor of the plan, with its Q (float producer) or DQ (float readers).
  const qname = new Map<string, string>();
  for (const tensor of plan.tensors.keys()) {
    const q = em.names.fresh(`${tensor}_quantized`);
    qname.set(tensor, q);
    const { scale, zeroPoint } = em.params(tensor);
    const producer = producers.get(tensor);
    if (producer && plan.quantized.has(producer)) {
      const floatReaders = (consumers.get(tensor) ?? []).some((c) => !plan.quantized.has(c)) || graphOutputs.has(tensor);
      if (floatReaders) {
        added.push(makeNode('DequantizeLinear', [q, scale, zeroPoint], [tensor], { name: em.names.fresh(`${tensor}_DequantizeLinear`) }));
      }
    } else {
      added.push(makeNode('QuantizeLinear', [tensor, scale, zeroPoint], [q], { name: em.names.fresh(`${tensor}_QuantizeLinear`) }));
    }
  }
  /** [x_q, x_scale, x_zero_point] of an activation tensor. */
  const triple = (tensor: string): string[] => {
    const p = em.params(tensor);
    return [qname.get(tensor)!, p.scale, p.zeroPoint];
  };
  /** [y_scale, y_zero_point] of an output tensor. */
  const outParams = (tensor: string): string[] => {
    const p = em.params(tensor);
    return [p.scale, p.zeroPoint];
  };

  const replacement = new Map<NodeProto, NodeProto>();
  for (const [node, { op, shape }] of plan.quantized) {
    const inputs = node.input ?? [];
    const out = node.output?.[0] ?? '';
    if (op.kind === 'move') {
      // Same op on the 8-bit tensor: shape inputs (Reshape's shape, Slice's starts, …) unchanged.
      node.input = inputs.map((x, i) => (i === 0 ? qname.get(x)! : x));
      node.output = (node.output ?? []).map((o) => (o ? qname.get(o)! : o));
      continue;
    }
    const name = node.name || em.names.fresh(`${out}_${op.qlinear!.opType}`);
    const domain = op.qlinear!.domain;
    if (domain) usesMs = true;
    const make = (opType: string, ins: string[], attrs: AttributeProto[] = [], extra: Record<string, AttributeValue> = {}): NodeProto => {
      const n = makeNode(opType, ins, [qname.get(out)!], { name, domain, attributes: extra });
      n.attribute = [...attrs, ...(n.attribute ?? [])];
      return n;
    };
    /** Inputs in order as (value, scale, zero point) triples; constants quantized here. */
    const operand = (i: number): string[] => {
      if (shape.constants.includes(i)) {
        const c = em.constant(inputs[i], activationType);
        return [c.values, c.scale, c.zeroPoint];
      }
      return triple(inputs[i]);
    };
    let q: NodeProto;
    switch (op.kind) {
      case 'conv': {
        const x = triple(inputs[0]);
        const w = em.weights(node, 'conv', em.params(inputs[0]).params.scale, 2);
        q = make('QLinearConv', [...x, w.values, w.scale, w.zeroPoint, ...outParams(out), ...(w.bias ? [w.bias.values] : [])], node.attribute ?? []);
        break;
      }
      case 'matmul': {
        const a = triple(inputs[0]);
        if (shape.activations.includes(1)) {
          q = make('QLinearMatMul', [...a, ...triple(inputs[1]), ...outParams(out)]);
        } else {
          const w = em.weights(node, 'matmul', em.params(inputs[0]).params.scale);
          q = make('QLinearMatMul', [...a, w.values, w.scale, w.zeroPoint, ...outParams(out)]);
        }
        break;
      }
      case 'gemm': {
        const a = triple(inputs[0]);
        const w = em.weights(node, 'gemm', em.params(inputs[0]).params.scale, 2);
        // B is [K, N] now (transposed if it was transB); C is the int32 bias (scale a·b, zp 0).
        q = make('QGemm', [...a, w.values, w.scale, w.zeroPoint, w.bias?.values ?? '', ...outParams(out)], keep(node, ['alpha', 'transA']), {
          transB: 0,
        });
        break;
      }
      case 'binary':
        q = make(op.qlinear!.opType, [...operand(0), ...operand(1), ...outParams(out)]);
        break;
      case 'concat':
        q = make('QLinearConcat', [...outParams(out), ...inputs.flatMap((_, i) => operand(i))], keep(node, ['axis']));
        break;
      case 'unary': {
        const t = node.op_type;
        const attrs = t === 'LeakyRelu' ? keep(node, ['alpha']) : t === 'AveragePool' ? keep(node, POOL_ATTRS) : t === 'Softmax' ? keep(node, ['axis']) : [];
        const extra: Record<string, AttributeValue> =
          t === 'GlobalAveragePool' || t === 'AveragePool' ? { channels_last: 0 } : t === 'Softmax' ? { opset: plan.ctx.opset } : {};
        q = make(op.qlinear!.opType, [...triple(inputs[0]), ...outParams(out)], attrs, extra);
        break;
      }
      default:
        continue; // 'fold' never reaches here: folded nodes were removed
    }
    replacement.set(node, q);
  }
  graph.node = [...(graph.node ?? []).map((n) => replacement.get(n) ?? n), ...added];
  if (usesMs && (getOpset(plan.ctx.model, 'com.microsoft') ?? 0) < 1) setOpset(plan.ctx.model, 1, 'com.microsoft');
  em.cleanup();
}
