/**
 * INT8 post-training quantization of ONNX graphs, in TypeScript.
 *
 *   quantizableTensors  which activations calibration must measure (only those)
 *   quantizeStatic      calibrated ranges → QDQ or QOperator int8 graph (per-channel int8
 *                       weights, int32 biases, uint8 or int8 activations)
 *   quantizeDynamic     MatMul/Gemm → DynamicQuantizeMatMul (no calibration)
 *
 * Every function works on a copy: the input model is never modified. Graph input and output
 * names and types, metadata_props and node names are kept.
 *
 * Differences from onnxruntime's Python quantizer, on purpose:
 *   - the output tail (the node writing a graph output and the data-movement / Concat nodes
 *     only feeding it) stays float by default: detector heads concatenate box regressions with
 *     0..1 scores there, and one 8-bit scale over both destroys the scores;
 *   - data-movement ops inherit their input's scale instead of using their own range, which is
 *     what onnxruntime needs to run them on 8-bit tensors;
 *   - a data-movement op is only quantized next to an int8 node (no lossy Q/DQ round trips in
 *     float regions), and a node is only quantized when every float tensor it touches has a range.
 */
import { TearlessError } from '../../core/errors.js';
import { cloneModel, getOpset, graphInputs, type OnnxModel } from '../onnx/model.js';
import { convertOpset } from '../onnx/graph.js';
import type { NodeProto } from '../onnx/schema.js';
import type { ActivationType, QuantFormat, RangeTable } from '../types.js';
import { GraphContext, nodeId, planStatic, type StaticPlan } from './ops.js';
import { rewriteQdq } from './qdq.js';
import { rewriteQOperator } from './qoperator.js';

export { nodeId, QUANT_OPS, type QuantKind, type QuantOp } from './ops.js';
export { quantizeDynamic, type DynamicQuantOptions } from './dynamic.js';
export { activationParams, quantizeWeights, quantizeBias, roundHalfEven, type QuantParams } from './params.js';

export interface StaticQuantOptions {
  format: QuantFormat;
  /**
   * Default 'uint8' (asymmetric). Weights are always int8, symmetric. On x86, onnxruntime only
   * fuses QDQ Conv / MatMul with uint8 activations (QDQIsInt8Allowed() is false off ARM): with
   * 'int8' and the QDQ format they run as float between Q/DQ pairs, slower than the float
   * model. QOperator int8 graphs run on integer kernels everywhere.
   */
  activationType?: ActivationType;
  /** Per output channel weight scales (default true). */
  perChannel?: boolean;
  /** Which nodes to quantize; default every node whose op type the registry supports. */
  include?: (node: NodeProto) => boolean;
  /**
   * Node names (or, for unnamed nodes, their first output name) kept in float. The int8 readers
   * of an excluded compute node's outputs stay float too: between DequantizeLinear inputs and
   * QuantizeLinear outputs onnxruntime would fuse the node back into int8 (QDQ format).
   */
  exclude?: ReadonlySet<string>;
  /**
   * Also quantize the output tail (the node writing a graph output and the data-movement /
   * Concat nodes only feeding it). Default false: see ops.ts PlanOptions.
   */
  quantizeOutputTail?: boolean;
}

export interface QuantizeResult {
  model: OnnxModel;
  /** Ids (`nodeId`) of the nodes now running in int8 (folded Relu/Clip included). */
  quantized: string[];
  /** Ids of nodes of quantizable op types on float tensors that stay float. */
  float: string[];
}

/**
 * A working copy at opset ≥ 13 when possible: per-axis QuantizeLinear/DequantizeLinear (per-
 * channel weights in QDQ) and 8-bit MaxPool need it. When the conversion is impossible (an op
 * without a conversion rule) the copy keeps its opset and per-channel QDQ falls back to per
 * tensor (QDQ exists since opset 10).
 */
function workingCopy(model: OnnxModel): { work: OnnxModel; opset: number } {
  const work = cloneModel(model);
  const opset = getOpset(work, '') ?? 0;
  if (opset >= 13) return { work, opset };
  try {
    convertOpset(work, 13);
    return { work, opset: 13 };
  } catch (err) {
    if (opset < 10) {
      // QuantizeLinear / QLinearConv exist from opset 10; convertOpset only starts at 11.
      throw new TearlessError(
        'TL_ERR_NOT_IMPLEMENTED',
        `The model uses opset ${opset}, but static quantization needs opset 10 or later (QuantizeLinear, QLinearConv; 13 for per-channel weights) and the model cannot be converted (${(err as Error).message.replace(/\.$/, '')}). Re-export it with opset 13 or later.`,
        { cause: err },
      );
    }
    return { work: cloneModel(model), opset };
  }
}

function checkFormat(opts: StaticQuantOptions): void {
  if (opts.format !== 'qdq' && opts.format !== 'qoperator') {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Unknown quantization format ${JSON.stringify(opts.format)}: use "qdq" or "qoperator".`);
  }
  if (opts.activationType !== undefined && opts.activationType !== 'uint8' && opts.activationType !== 'int8') {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Unknown activation type ${JSON.stringify(opts.activationType)}: use "uint8" or "int8".`);
  }
}

function summary(plan: StaticPlan): string {
  const counts = new Map<string, number>();
  for (const reason of plan.floatNodes.values()) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} × ${r}`).join('; ');
}

/**
 * The activation tensors calibration must measure for `quantizeStatic` with these options:
 * graph inputs and intermediate values read or written by nodes that may be quantized (names of
 * the input model, in graph order). Calibrating only these keeps calibration cheap.
 */
export function quantizableTensors(model: OnnxModel, opts: Pick<StaticQuantOptions, 'include' | 'exclude' | 'quantizeOutputTail'> = {}): string[] {
  const { work } = workingCopy(model);
  const plan = planStatic(new GraphContext(work), null, { activationType: 'uint8', ...opts });
  const wanted = new Set(plan.tensors.keys());
  // A folded Relu's input too: if the producer ends up float, the Relu's neighbours still need it.
  for (const p of plan.folds.keys()) if (p.output?.[0]) wanted.add(p.output[0]);
  const out: string[] = [];
  const seen = new Set<string>();
  const take = (name: string | undefined): void => {
    if (name && wanted.has(name) && !seen.has(name)) {
      seen.add(name);
      out.push(name);
    }
  };
  for (const vi of graphInputs(model)) take(vi.name);
  for (const node of model.graph.node ?? []) for (const o of node.output ?? []) take(o);
  return out;
}

/**
 * Quantize a float model statically with calibrated activation ranges. Returns a new model;
 * `model` is not modified. Nodes whose tensors lack a range stay float (reported in `float`).
 * Throws TL_ERR_BAD_OPTION when nothing at all can be quantized.
 */
export function quantizeStatic(model: OnnxModel, ranges: RangeTable, opts: StaticQuantOptions): QuantizeResult {
  checkFormat(opts);
  const activationType = opts.activationType ?? 'uint8';
  const { work, opset } = workingCopy(model);
  // Per-axis DequantizeLinear exists from opset 13; QLinearConv/QLinearMatMul/QGemm take per-
  // channel scales at any opset.
  const perChannel = (opts.perChannel ?? true) && (opts.format === 'qoperator' || opset >= 13);
  const ctx = new GraphContext(work);
  const plan = planStatic(ctx, ranges, {
    activationType,
    include: opts.include,
    exclude: opts.exclude,
    quantizeOutputTail: opts.quantizeOutputTail,
  });
  if (plan.quantized.size === 0) {
    const why = plan.floatNodes.size
      ? `${plan.floatNodes.size} candidate node(s) stay float: ${summary(plan)}`
      : 'the graph has no node of a quantizable op type (Conv, MatMul, Gemm, Add, Mul, Concat, pooling, Sigmoid, LeakyRelu) on float tensors';
    const hint = ranges.size === 0 ? ' The range table is empty: calibrate the tensors listed by quantizableTensors() first.' : '';
    throw new TearlessError('TL_ERR_BAD_OPTION', `Nothing to quantize: ${why}.${hint}`);
  }
  const position = new Map(ctx.order.map((n, i) => [n, i]));
  const inOrder = (nodes: Iterable<NodeProto>): string[] => [...nodes].sort((a, b) => position.get(a)! - position.get(b)!).map(nodeId);
  const quantized = inOrder([...plan.quantized.keys(), ...plan.folds.values()]);
  const float = inOrder(plan.floatNodes.keys());
  if (opts.format === 'qdq') rewriteQdq(plan, perChannel, activationType);
  else rewriteQOperator(plan, perChannel, activationType);
  return { model: work, quantized, float };
}
