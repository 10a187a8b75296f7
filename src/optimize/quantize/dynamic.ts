/**
 * Dynamic quantization: MatMul / Gemm with a constant float B become com.microsoft
 * DynamicQuantizeMatMul(A, B_int8, b_scale, b_zero_point, bias). B is quantized once here
 * (int8, symmetric, per output column by default); A is quantized at run time from its own
 * min/max (uint8, inside the kernel), so no calibration is needed. Everything else stays float.
 *
 * This suits transformer-style blocks (the DETR decoders' linear layers) where activation ranges
 * vary too much per image for one static scale; for convolutions static quantization is the
 * tool. A per-column b_scale of shape [N] is what onnxruntime's kernel accepts for a 2-D B
 * (IsBQuantParamSupported: scalar, or 1-D with B's last dimension).
 */
import { TearlessError } from '../../core/errors.js';
import { attrFloat, attrInt, makeNode } from '../onnx/graph.js';
import { cloneModel, getOpset, setOpset, type OnnxModel } from '../onnx/model.js';
import type { NodeProto } from '../onnx/schema.js';
import { Emitter } from './qdq.js';
import { GraphContext, isExcluded, nodeId, type StaticPlan } from './ops.js';
import type { QuantizeResult } from './index.js';

export interface DynamicQuantOptions {
  /** Node names (or, for unnamed nodes, their first output name) kept in float. */
  exclude?: ReadonlySet<string>;
  /** One weight scale per output column (default true) or one per matrix. */
  perChannel?: boolean;
}

/** Why a MatMul/Gemm cannot become DynamicQuantizeMatMul, or null when it can. */
function unsupported(ctx: GraphContext, node: NodeProto): string | null {
  const inputs = node.input ?? [];
  if (!ctx.isFloat(inputs[0]) || ctx.constant(inputs[0])) return 'A is not a float activation';
  const w = ctx.floatConstant(inputs[1]);
  if (!w || w.dims.length !== 2) return 'B is not a constant 2-D float matrix';
  if (node.op_type === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) return 'transA = 1 is not supported';
    if (attrFloat(node, 'alpha', 1) !== 1) return 'alpha ≠ 1 is not supported';
    if (inputs[2]) {
      const n = attrInt(node, 'transB', 0) ? w.dims[0] : w.dims[1];
      const c = ctx.floatConstant(inputs[2]);
      if (attrFloat(node, 'beta', 1) !== 1) return 'beta ≠ 1 is not supported';
      if (!c || c.dims.length !== 1 || c.dims[0] !== n) return 'C is not a constant 1-D bias of N values';
    }
  }
  return null;
}

/**
 * Replace every MatMul / Gemm with a constant 2-D float B by DynamicQuantizeMatMul. Returns a
 * new model (the input is not modified). Throws TL_ERR_BAD_OPTION when no node qualifies.
 */
export function quantizeDynamic(model: OnnxModel, opts: DynamicQuantOptions = {}): QuantizeResult {
  const work = cloneModel(model);
  const ctx = new GraphContext(work);
  const plan: StaticPlan = { ctx, quantized: new Map(), folds: new Map(), tensors: new Map(), floatNodes: new Map() };
  const em = new Emitter(plan, opts.perChannel ?? true);
  const quantized: string[] = [];
  const float: string[] = [];
  const reasons = new Map<string, string>();
  const replacement = new Map<NodeProto, NodeProto>();
  for (const node of ctx.order) {
    if ((node.op_type !== 'MatMul' && node.op_type !== 'Gemm') || (node.domain && node.domain !== 'ai.onnx')) continue;
    if (!ctx.isFloat(node.output?.[0])) continue; // integer MatMul: not ours
    const why = isExcluded(node, opts.exclude) ? 'excluded' : unsupported(ctx, node);
    if (why) {
      float.push(nodeId(node));
      reasons.set(nodeId(node), why);
      continue;
    }
    const kind = node.op_type === 'Gemm' ? 'gemm' : 'matmul';
    // The input scale only matters for an int32 bias; DynamicQuantizeMatMul takes a float bias.
    const w = em.weights(node, kind, 1);
    const bias = kind === 'gemm' ? (node.input?.[2] ?? '') : '';
    const inputs = [node.input![0], w.values, w.scale, w.zeroPoint, ...(bias ? [bias] : [])];
    const out = node.output![0];
    replacement.set(node, makeNode('DynamicQuantizeMatMul', inputs, [out], { name: node.name || em.names.fresh(`${out}_DynamicQuantizeMatMul`), domain: 'com.microsoft' }));
    quantized.push(nodeId(node));
  }
  if (quantized.length === 0) {
    const detail = float.length ? ` (${float.length} kept float: ${[...reasons].slice(0, 3).map(([n, r]) => `"${n}": ${r}`).join('; ')})` : '';
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Dynamic quantization found no MatMul or Gemm with a constant 2-D float weight to quantize${detail}. Use static quantization (calibrated) for convolutional models.`,
    );
  }
  work.graph.node = (work.graph.node ?? []).map((n) => replacement.get(n) ?? n);
  if ((getOpset(work, 'com.microsoft') ?? 0) < 1) setOpset(work, 1, 'com.microsoft');
  em.cleanup();
  return { model: work, quantized, float };
}
