/**
 * Which ops the static quantizer handles and how (the registry), and the plan both output
 * formats share: which nodes run in int8, which Relu/Clip fold into their producer, and the one
 * scale / zero point of every activation tensor that enters or leaves the int8 region.
 *
 * The registry follows what onnxruntime's CPU execution provider fuses (1.30,
 * core/optimizer/qdq_transformer/selectors_actions): a QDQ node group is turned into an integer
 * kernel only when EVERY input of the node comes from a DequantizeLinear and its output goes
 * ONLY to QuantizeLinear (not to a float consumer, not to a graph output). Hence:
 *   - compute ops (`conv`, `matmul`, `gemm`, `binary`, `unary`, `concat`) get their own output
 *     scale and become QLinearConv / QLinearMatMul / QGemm / QLinearAdd / QLinearMul /
 *     QLinearSigmoid / QLinearLeakyRelu / QLinearConcat / QLinearAveragePool /
 *     QLinearGlobalAveragePool; constant inputs of Add/Mul/Concat are quantized too, and a Conv
 *     or Gemm bias is int32 (the selectors refuse a float bias);
 *   - data-movement ops (`move`) only run on the integer tensor when the Q after them has the
 *     SAME scale and zero point as the DQ before them ("DropQDQNodes", IsQDQPairSupported), so
 *     their outputs inherit their input's parameters instead of using their own range;
 *   - Relu / Clip (`fold`) have no integer kernel: they are removed and the producer's output is
 *     quantized with the Relu/Clip output range, whose clamp to [0, max] does the same thing
 *     (onnxruntime's own Python quantizer and its "redundant Clip" selector do the same).
 */
import { TearlessError } from '../../core/errors.js';
import { attrFloat, attrInt, attrInts, consumerMap, getAttribute, isDefaultDomain, producerMap, subgraphsOf, topologicalOrder } from '../onnx/graph.js';
import { getOpset, tensorDims, tensorToFloat32, tensorTypeOf, type OnnxModel } from '../onnx/model.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto } from '../onnx/schema.js';
import type { ActivationType, RangeTable, TensorRange } from '../types.js';
import { activationParams, sanitizeRange, type QuantParams } from './params.js';

// ------------------------------------------------------------------------------------------
// registry
// ------------------------------------------------------------------------------------------

export type QuantKind = 'conv' | 'matmul' | 'gemm' | 'binary' | 'unary' | 'concat' | 'move' | 'fold';

export interface QuantOp {
  kind: QuantKind;
  /** The integer operator of the QOperator format (compute kinds only). */
  qlinear?: { opType: string; domain: '' | 'com.microsoft' };
  /** Lowest default-domain opset whose version of the op accepts 8-bit integer tensors. */
  minOpset?: number;
  /** Output parameters fixed by the integer kernel, whatever the calibrated range. */
  fixedOutput?: (type: ActivationType) => QuantParams;
}

/**
 * QLinearSoftmax turns y_scale into floor(1 / y_scale) and computes round(e^x · that / Σe^x):
 * it is only right for y_scale = 1/256 (onnxruntime's Python quantizer pins the same values).
 * onnxruntime fuses any DQ → Softmax → Q it finds, so a quantized tensor written by a Softmax
 * always uses these parameters, even when the Softmax itself is kept float.
 */
export function softmaxOutputParams(type: ActivationType): QuantParams {
  return { scale: 1 / 256, zeroPoint: type === 'uint8' ? 0 : -128, type };
}

const MS = 'com.microsoft';

/** Op type (default domain) → how it is quantized. */
export const QUANT_OPS: ReadonlyMap<string, QuantOp> = new Map<string, QuantOp>([
  ['Conv', { kind: 'conv', qlinear: { opType: 'QLinearConv', domain: '' } }],
  ['MatMul', { kind: 'matmul', qlinear: { opType: 'QLinearMatMul', domain: '' } }],
  ['Gemm', { kind: 'gemm', qlinear: { opType: 'QGemm', domain: MS } }],
  ['Add', { kind: 'binary', qlinear: { opType: 'QLinearAdd', domain: MS } }],
  ['Mul', { kind: 'binary', qlinear: { opType: 'QLinearMul', domain: MS } }],
  ['Sigmoid', { kind: 'unary', qlinear: { opType: 'QLinearSigmoid', domain: MS } }],
  ['LeakyRelu', { kind: 'unary', qlinear: { opType: 'QLinearLeakyRelu', domain: MS } }],
  ['AveragePool', { kind: 'unary', qlinear: { opType: 'QLinearAveragePool', domain: MS } }],
  ['GlobalAveragePool', { kind: 'unary', qlinear: { opType: 'QLinearGlobalAveragePool', domain: MS } }],
  ['Concat', { kind: 'concat', qlinear: { opType: 'QLinearConcat', domain: MS } }],
  ['Softmax', { kind: 'unary', qlinear: { opType: 'QLinearSoftmax', domain: MS }, fixedOutput: softmaxOutputParams }],
  ['Relu', { kind: 'fold' }],
  ['Clip', { kind: 'fold' }],
  // Data movement: the ops onnxruntime runs on 8-bit tensors when the surrounding Q/DQ share
  // their parameters (DropQDQNodesRules + the Split selector). DepthToSpace / SpaceToDepth have
  // no integer kernel; Pad would pad with 0 instead of the zero point: both stay float.
  ['MaxPool', { kind: 'move', minOpset: 12 }],
  ['Resize', { kind: 'move' }],
  ['Reshape', { kind: 'move' }],
  ['Transpose', { kind: 'move' }],
  ['Slice', { kind: 'move' }],
  ['Flatten', { kind: 'move' }],
  ['Squeeze', { kind: 'move' }],
  ['Unsqueeze', { kind: 'move' }],
  ['Split', { kind: 'move' }],
  ['Gather', { kind: 'move' }],
  ['GatherElements', { kind: 'move' }],
  ['Expand', { kind: 'move' }],
  ['Tile', { kind: 'move' }],
]);

/** The registry entry of a node, or undefined (other domains, unknown ops). */
export function quantOpOf(node: NodeProto): QuantOp | undefined {
  return isDefaultDomain(node.domain) ? QUANT_OPS.get(node.op_type ?? '') : undefined;
}

/** The id the quantizer reports and `exclude` matches: the node name, else its first output. */
export function nodeId(node: NodeProto): string {
  return node.name || node.output?.[0] || '';
}

/** Whether `exclude` names the node (by id, or by first output name for named nodes too). */
export function isExcluded(node: NodeProto, exclude: ReadonlySet<string> | undefined): boolean {
  if (!exclude || exclude.size === 0) return false;
  return exclude.has(nodeId(node)) || (!!node.output?.[0] && exclude.has(node.output[0]));
}

// ------------------------------------------------------------------------------------------
// element types (no shape inference in the repo: a small forward propagation is enough to tell
// float activations from the int64 shape arithmetic that shares op types like Mul or Gather)
// ------------------------------------------------------------------------------------------

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const DTYPE_ATTR_OPS = new Set(['EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial']);

/** Element type of a Constant node's value. */
function constantType(node: NodeProto): number | undefined {
  for (const a of node.attribute ?? []) {
    if (a.name === 'value' && a.t) return a.t.data_type ?? undefined;
    if (a.name === 'value_float' || a.name === 'value_floats') return DataType.FLOAT;
    if (a.name === 'value_int' || a.name === 'value_ints') return DataType.INT64;
    if (a.name === 'value_string' || a.name === 'value_strings') return DataType.STRING;
  }
  return undefined;
}

/**
 * Value name → element type: from value_info / inputs / outputs / initializers where the model
 * states it, else propagated (most ops output their first input's type). Unknown names are
 * absent and are never treated as float activations.
 */
export function inferElemTypes(graph: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer ?? []) if (t.name) types.set(t.name, t.data_type ?? 0);
  const declared = new Map<string, number>();
  for (const list of [graph.input, graph.output, graph.value_info]) {
    for (const vi of list ?? []) {
      const tt = tensorTypeOf(vi);
      if (vi.name && tt?.elemType) declared.set(vi.name, tt.elemType);
    }
  }
  for (const [k, v] of declared) if (!types.has(k)) types.set(k, v);
  const typeOf = (name: string | undefined): number | undefined => (name ? types.get(name) : undefined);
  for (const node of topologicalOrder(graph)) {
    const op = isDefaultDomain(node.domain) ? (node.op_type ?? '') : '';
    const inputs = node.input ?? [];
    const outs = node.output ?? [];
    let result: (number | undefined)[];
    if (op === 'Constant') result = [constantType(node)];
    else if (op === 'Cast') result = [attrInt(node, 'to', 0) || undefined];
    else if (op === 'CastLike') result = [typeOf(inputs[1])];
    else if (op === 'ConstantOfShape') result = [getAttribute(node, 'value')?.t?.data_type ?? DataType.FLOAT];
    else if (op === 'QuantizeLinear') result = [typeOf(inputs[2]) ?? (attrInt(node, 'output_dtype', 0) || DataType.UINT8)];
    else if (op === 'DequantizeLinear') result = [typeOf(inputs[1]) ?? DataType.FLOAT];
    else if (op === 'DynamicQuantizeLinear') result = [DataType.UINT8, DataType.FLOAT, DataType.UINT8];
    else if (BOOL_OPS.has(op)) result = [DataType.BOOL];
    else if (INT64_OPS.has(op)) result = [DataType.INT64];
    else if (op === 'TopK' || op === 'MaxPool') result = [typeOf(inputs[0]), DataType.INT64];
    else if (op === 'Unique') result = [typeOf(inputs[0]), DataType.INT64, DataType.INT64, DataType.INT64];
    else if (op === 'Where') result = [typeOf(inputs[1]) ?? typeOf(inputs[2])];
    else if (DTYPE_ATTR_OPS.has(op)) result = [attrInt(node, 'dtype', 0) || typeOf(inputs[0]) || DataType.FLOAT];
    else if (subgraphsOf(node).length > 0) result = []; // If / Loop / Scan: only declared types
    else {
      const first = inputs.find((i) => i && typeOf(i) !== undefined);
      result = outs.map(() => typeOf(first));
    }
    outs.forEach((o, i) => {
      if (!o || types.has(o)) return;
      const t = declared.get(o) ?? result[i] ?? (i === 0 ? undefined : result[0]);
      if (t) types.set(o, t);
    });
  }
  return types;
}

// ------------------------------------------------------------------------------------------
// graph context
// ------------------------------------------------------------------------------------------

/** Lookups over one graph, built once per plan. */
export class GraphContext {
  readonly graph: GraphProto;
  readonly opset: number;
  readonly types: Map<string, number>;
  readonly producers: Map<string, NodeProto>;
  readonly consumers: Map<string, NodeProto[]>;
  readonly graphOutputs: Set<string>;
  readonly order: NodeProto[];
  private readonly initializers = new Map<string, TensorProto>();
  private readonly constantNodes = new Map<string, TensorProto>();

  constructor(readonly model: OnnxModel) {
    this.graph = model.graph;
    this.opset = getOpset(model, '') ?? 0;
    this.types = inferElemTypes(this.graph);
    this.producers = producerMap(this.graph);
    this.consumers = consumerMap(this.graph);
    this.graphOutputs = new Set((this.graph.output ?? []).map((vi) => vi.name ?? ''));
    this.order = topologicalOrder(this.graph);
    for (const t of this.graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    for (const n of this.graph.node ?? []) {
      const value = n.op_type === 'Constant' && isDefaultDomain(n.domain) ? getAttribute(n, 'value')?.t : undefined;
      if (value && n.output?.[0]) this.constantNodes.set(n.output[0], value);
    }
  }

  /**
   * A constant tensor: an initializer or a Constant node's value. Initializers also listed as
   * graph inputs (every initializer, in IR < 4 exports such as PaddlePaddle's) count as
   * constants too, as in onnxruntime's own quantizer: feeding a weight at run time is not a use
   * case of a deployed detector.
   */
  constant(name: string | undefined): TensorProto | undefined {
    if (!name) return undefined;
    return this.initializers.get(name) ?? this.constantNodes.get(name);
  }

  /** A float32 constant with its values and dims, or null (not constant, other type, external data). */
  floatConstant(name: string | undefined): { data: Float32Array; dims: number[] } | null {
    const t = this.constant(name);
    if (!t || t.data_type !== DataType.FLOAT) return null;
    try {
      return { data: tensorToFloat32(t), dims: tensorDims(t) };
    } catch {
      return null; // external data or malformed: the node simply stays float
    }
  }

  isFloat(name: string | undefined): boolean {
    return !!name && this.types.get(name) === DataType.FLOAT;
  }

  consumersOf(name: string): NodeProto[] {
    return this.consumers.get(name) ?? [];
  }
}

// ------------------------------------------------------------------------------------------
// per-node structure
// ------------------------------------------------------------------------------------------

/** How one node's inputs are treated once it is quantized. */
export interface NodeShape {
  /** Input positions holding float activations (each gets the tensor's Q/DQ). */
  activations: number[];
  /** Input positions holding float constants quantized with activation parameters (Add/Mul/Concat). */
  constants: number[];
}

/** Clip bounds (attributes before opset 11, constant inputs after), or null when not constant. */
export function clipBounds(ctx: GraphContext, node: NodeProto): { min: number; max: number } | null {
  if (node.op_type === 'Relu') return { min: 0, max: Infinity };
  if (ctx.opset < 11) return { min: attrFloat(node, 'min', -Infinity), max: attrFloat(node, 'max', Infinity) };
  const bound = (i: number, fallback: number): number | null => {
    const name = node.input?.[i];
    if (!name) return fallback;
    const c = ctx.floatConstant(name);
    return c && c.data.length === 1 ? c.data[0] : null;
  };
  const min = bound(1, -Infinity);
  const max = bound(2, Infinity);
  return min === null || max === null ? null : { min, max };
}

/**
 * The structure of a node the registry knows, or a reason why it cannot be quantized (weights
 * not constant, unsupported attributes, non-float tensors…). `null` shape = not a float op at
 * all (e.g. int64 shape arithmetic): such nodes are not reported.
 */
export function nodeShape(ctx: GraphContext, node: NodeProto, op: QuantOp): { shape: NodeShape } | { reason: string } | null {
  const inputs = node.input ?? [];
  const outputs = node.output ?? [];
  const isAct = (i: number): boolean => ctx.isFloat(inputs[i]) && !ctx.constant(inputs[i]);
  if (op.kind !== 'binary' && op.kind !== 'concat') {
    // Not a float computation on an activation (shape arithmetic, int tensors, a Gather from a
    // constant table): not the quantizer's business, not reported. Below, input 0 is one.
    if (!isAct(0) || !outputs.every((o) => !o || ctx.isFloat(o))) return null;
  }
  if (op.minOpset && ctx.opset < op.minOpset) return { reason: `${node.op_type}-${ctx.opset} has no 8-bit version (needs opset ${op.minOpset})` };
  switch (op.kind) {
    case 'conv': {
      const w = ctx.floatConstant(inputs[1]);
      if (!w || w.dims.length < 3) return { reason: 'the weight is not a constant float tensor' };
      if (inputs[2]) {
        const b = ctx.floatConstant(inputs[2]);
        if (!b || b.data.length !== w.dims[0]) return { reason: 'the bias is not a constant float vector' };
      }
      return { shape: { activations: [0], constants: [] } };
    }
    case 'matmul': {
      if (isAct(1)) return { shape: { activations: [0, 1], constants: [] } };
      const w = ctx.floatConstant(inputs[1]);
      if (!w || w.dims.length !== 2) return { reason: 'B is neither an activation nor a constant 2-D float matrix' };
      return { shape: { activations: [0], constants: [] } };
    }
    case 'gemm': {
      const w = ctx.floatConstant(inputs[1]);
      if (!w || w.dims.length !== 2) return { reason: 'B is not a constant 2-D float matrix' };
      if (attrInt(node, 'transA', 0) !== 0) return { reason: 'transA = 1 is not supported' };
      if (attrFloat(node, 'alpha', 1) !== 1) return { reason: 'alpha ≠ 1 is not supported' };
      if (inputs[2]) {
        const n = attrInt(node, 'transB', 0) ? w.dims[0] : w.dims[1];
        const c = ctx.floatConstant(inputs[2]);
        if (attrFloat(node, 'beta', 1) !== 1) return { reason: 'beta ≠ 1 is not supported' };
        if (!c || c.dims.length !== 1 || c.dims[0] !== n) return { reason: 'C is not a constant 1-D bias of N values' };
      }
      return { shape: { activations: [0], constants: [] } };
    }
    case 'binary':
    case 'concat': {
      const activations: number[] = [];
      const constants: number[] = [];
      for (let i = 0; i < inputs.length; i++) {
        if (!inputs[i]) return { reason: 'an input is empty' };
        if (isAct(i)) activations.push(i);
        else if (ctx.floatConstant(inputs[i])) constants.push(i);
        else return null; // int tensors (shape arithmetic)
      }
      if (activations.length === 0) return null; // constant folding's business
      if (!outputs.every((o) => ctx.isFloat(o))) return null;
      return { shape: { activations, constants } };
    }
    case 'unary':
      if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1n)) return { reason: 'dilated pooling has no integer kernel' };
      return { shape: { activations: [0], constants: [] } };
    case 'fold': {
      const b = clipBounds(ctx, node);
      if (!b) return { reason: 'the Clip bounds are not constant' };
      if (b.min > 0 || b.max <= 0) return { reason: 'the Clip range does not contain 0' };
      return { shape: { activations: [0], constants: [] } };
    }
    case 'move':
      if (node.op_type === 'MaxPool' && outputs.filter(Boolean).length > 1) return { reason: 'MaxPool with Indices output' };
      return { shape: { activations: [0], constants: [] } };
  }
}

// ------------------------------------------------------------------------------------------
// the plan
// ------------------------------------------------------------------------------------------

export interface PlanOptions {
  activationType: ActivationType;
  include?: (node: NodeProto) => boolean;
  exclude?: ReadonlySet<string>;
  /**
   * Also quantize the "output tail": the node producing a graph output and the data-movement /
   * Concat nodes that only feed it. Default false — detector heads concatenate boxes with 0..1
   * scores right before the output (YOLOX: Concat → Reshape → Concat → Transpose), and one
   * uint8 scale over both wipes out the scores when the boxes are decoded in the graph: the
   * HyperLPR3 YOLOv5 plate detector's output spans [−75, 843], a scale of 3.6, and its best
   * objectness drops from 0.89 to 0 (onnxruntime's own quantizer does exactly that). Kept
   * float, it stays 0.88; the tail only moves data, so it costs nothing measurable.
   */
  quantizeOutputTail?: boolean;
}

/** Tensor → parameters, with the name of the tensor whose scale/zero-point initializers it shares. */
export interface TensorQuant {
  params: QuantParams;
  /** Data-movement outputs share their input's parameters (and initializers): the owner's name. */
  owner: string;
}

export interface StaticPlan {
  ctx: GraphContext;
  /** Nodes running in 8-bit (compute and data movement), with their input layout. */
  quantized: Map<NodeProto, { op: QuantOp; shape: NodeShape }>;
  /** Producer → the Relu/Clip folded into it (removed; the producer writes its output). */
  folds: Map<NodeProto, NodeProto>;
  /** Every activation tensor read or written by a quantized node (names as after folding). */
  tensors: Map<string, TensorQuant>;
  /** Nodes of registry op types on float tensors that stay float, with the reason. */
  floatNodes: Map<NodeProto, string>;
}

/**
 * Nodes in the output tail: a node producing a graph output, and every data-movement or Concat
 * node all of whose readers are in the tail.
 */
function outputTail(ctx: GraphContext): Set<NodeProto> {
  const tail = new Set<NodeProto>();
  for (let i = ctx.order.length - 1; i >= 0; i--) {
    const node = ctx.order[i];
    const outs = (node.output ?? []).filter(Boolean);
    if (outs.some((o) => ctx.graphOutputs.has(o))) {
      tail.add(node);
      continue;
    }
    const kind = quantOpOf(node)?.kind;
    if (kind !== 'move' && kind !== 'concat') continue;
    const readers = outs.flatMap((o) => ctx.consumersOf(o));
    if (readers.length > 0 && readers.every((r) => tail.has(r))) tail.add(node);
  }
  return tail;
}

/**
 * Decide what runs in int8. With `ranges` null every range counts as known (what calibration
 * must measure: `quantizableTensors`). A compute node is quantized when every float activation
 * it reads and writes has a range; a data-movement node when its input has parameters and it
 * touches the int8 region (its input comes from an int8 node or its output feeds one) — an
 * isolated Reshape between two float ops would only add a lossy round trip.
 */
export function planStatic(ctx: GraphContext, ranges: RangeTable | null, opts: PlanOptions): StaticPlan {
  const tail = opts.quantizeOutputTail ? new Set<NodeProto>() : outputTail(ctx);

  const eligible = new Map<NodeProto, { op: QuantOp; shape: NodeShape }>();
  const floatNodes = new Map<NodeProto, string>();
  for (const node of ctx.order) {
    const op = quantOpOf(node);
    if (!op) continue;
    const s = nodeShape(ctx, node, op);
    if (s === null) continue;
    if ('reason' in s) floatNodes.set(node, s.reason);
    else if (isExcluded(node, opts.exclude)) floatNodes.set(node, 'excluded');
    else if (opts.include && !opts.include(node)) floatNodes.set(node, 'not included');
    else if (tail.has(node)) floatNodes.set(node, 'feeds a graph output (output tail kept float)');
    else eligible.set(node, { op, shape: s.shape });
  }

  // Outputs of compute nodes the caller keeps float (exclude / include) get no parameters, so
  // their int8 readers stay float too. Otherwise the node would sit between DequantizeLinear
  // inputs and QuantizeLinear outputs, and onnxruntime fuses such a group whatever the graph
  // says: DQ → Sigmoid → Q becomes QLinearSigmoid, and DQ → Conv(float weight) → Q becomes
  // QLinearConv (its WeightBiasQuantization pass quantizes the float weight itself).
  const keptFloat = new Set<string>();
  for (const [node, reason] of floatNodes) {
    const kind = quantOpOf(node)?.kind;
    if ((reason === 'excluded' || reason === 'not included') && kind !== 'move' && kind !== 'fold') {
      for (const o of node.output ?? []) if (o) keptFloat.add(o);
    }
  }
  const rangeOf = (name: string): TensorRange | null => {
    if (keptFloat.has(name)) return null;
    if (ranges === null) return { min: 0, max: 1 };
    return sanitizeRange(ranges.get(name));
  };

  // Relu/Clip that can fold into their producer (decided with the producer below).
  const foldCandidate = (producer: NodeProto): NodeProto | undefined => {
    const out = producer.output ?? [];
    if (out.length !== 1 || !out[0] || ctx.graphOutputs.has(out[0])) return undefined;
    const readers = ctx.consumersOf(out[0]);
    if (readers.length !== 1) return undefined;
    const r = readers[0];
    const e = eligible.get(r);
    if (!e || e.op.kind !== 'fold' || r.input?.[0] !== out[0]) return undefined;
    return r;
  };

  const quantized = new Map<NodeProto, { op: QuantOp; shape: NodeShape }>();
  const folds = new Map<NodeProto, NodeProto>();
  const foldedInto = new Map<NodeProto, NodeProto>();
  /** The node writing a value once folds are applied (a folded Relu's output: its producer). */
  const producerOf = (name: string): NodeProto | undefined => {
    const p = ctx.producers.get(name);
    return p ? (foldedInto.get(p) ?? p) : undefined;
  };
  const isInt8 = (node: NodeProto | undefined): boolean => !!node && quantized.has(node);
  const hasParams = (name: string): boolean => isInt8(producerOf(name)) || rangeOf(name) !== null;

  for (let changed = true; changed; ) {
    changed = false;
    for (const node of ctx.order) {
      const e = eligible.get(node);
      if (!e || quantized.has(node) || e.op.kind === 'fold') continue;
      const inputs = node.input ?? [];
      if (!e.shape.activations.every((i) => hasParams(inputs[i]))) continue;
      const outs = (node.output ?? []).filter(Boolean);
      if (e.op.kind === 'move') {
        const fromInt8 = isInt8(producerOf(inputs[0]));
        const toInt8 = outs.some((o) => ctx.consumersOf(o).some((c) => quantized.has(c)));
        if (!fromInt8 && !toInt8) continue;
      } else {
        const fold = foldCandidate(node);
        const out = fold ? (fold.output?.[0] ?? '') : (outs[0] ?? '');
        if (outs.length !== 1 || (!e.op.fixedOutput && rangeOf(out) === null)) continue;
        if (fold) {
          folds.set(node, fold);
          foldedInto.set(fold, node);
        }
      }
      quantized.set(node, e);
      changed = true;
    }
  }
  for (const [node, e] of eligible) {
    if (quantized.has(node) || foldedInto.has(node)) continue;
    const why = e.op.kind === 'fold' ? 'no int8 producer to fold into' : e.op.kind === 'move' ? 'not next to an int8 node' : 'no range for an input or output';
    floatNodes.set(node, why);
  }

  // Parameters, in topological order so that data movement inherits from its (final) input.
  const tensors = new Map<string, TensorQuant>();
  const paramsOf = (name: string): TensorQuant => {
    const known = tensors.get(name);
    if (known) return known;
    let tq: TensorQuant;
    const p = producerOf(name);
    const fixed = p && quantOpOf(p)?.fixedOutput;
    if (fixed) {
      // Fixed by the kernel onnxruntime will use (even for a float Softmax between int8 neighbours).
      tq = { params: fixed(opts.activationType), owner: name };
    } else if (p && quantized.get(p)?.op.kind === 'move') {
      tq = paramsOf(p.input?.[0] ?? '');
    } else {
      let range = rangeOf(name);
      // A folded Relu/Clip: its producer now writes its output; clamp to the Relu/Clip bounds
      // so that the Q's saturation IS the activation (zero point at qmin for Relu).
      const folded = p && folds.get(p);
      if (folded && range) {
        const b = clipBounds(ctx, folded) ?? { min: -Infinity, max: Infinity };
        range = sanitizeRange({ min: Math.max(range.min, b.min), max: Math.min(range.max, b.max) });
      }
      if (!range) throw new TearlessError('TL_ERR_INTERNAL', `No range for "${name}" although a quantized node uses it.`);
      tq = { params: activationParams(range, opts.activationType), owner: name };
    }
    tensors.set(name, tq);
    return tq;
  };
  for (const node of ctx.order) {
    const e = quantized.get(node);
    if (!e) continue;
    for (const i of e.shape.activations) paramsOf(node.input?.[i] ?? '');
    const folded = folds.get(node)?.output?.[0];
    if (folded) paramsOf(folded);
    else for (const o of node.output ?? []) if (o) paramsOf(o);
  }
  return { ctx, quantized, folds, tensors, floatNodes };
}

/** Constant range of a float tensor (for constant inputs of Add/Mul/Concat), containing 0. */
export function constantRange(data: Float32Array): TensorRange {
  let min = 0;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < min) min = data[i];
    if (data[i] > max) max = data[i];
  }
  return { min, max };
}
