/**
 * Graph utilities for optimization passes: topological order, producer/consumer maps, value
 * info, fresh names, node and attribute editing, exposing intermediate tensors as outputs
 * (calibration) and the opset conversion 11/12 → 13 that per-channel QDQ needs.
 *
 * Everything works on the decoded protobuf messages of model.ts and mutates them in place
 * (`cloneModel` first to keep the original). Subgraphs (If/Loop/Scan bodies) are followed where
 * it matters: names they read from the enclosing graph count as inputs of their node.
 */
import type protobuf from 'protobufjs';
import { TearlessError } from '../../core/errors.js';
import {
  getOpset,
  graphOf,
  int64,
  int64ToBigInt,
  int64ToNumber,
  makeTensor,
  makeTensorValueInfo,
  setOpset,
  tensorDims,
  tensorTypeOf,
  type OnnxModel,
} from './model.js';
import {
  AttributeType,
  TypeProtoType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from './schema.js';

// ------------------------------------------------------------------------------------------
// nodes and attributes
// ------------------------------------------------------------------------------------------

/** True for the default ONNX domain ('' or 'ai.onnx'). */
export function isDefaultDomain(domain: string | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

/** A short label for messages: `"name" (OpType)`, or `#index OpType` for unnamed nodes. */
export function nodeLabel(node: NodeProto, index?: number): string {
  const op = node.op_type ?? '?';
  if (node.name) return `"${node.name}" (${op})`;
  return index === undefined ? `unnamed ${op} → ${node.output?.[0] ?? '?'}` : `#${index} ${op}`;
}

export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a ? int64ToNumber(a.i) : fallback;
}

export function attrInts(node: NodeProto, name: string): bigint[] | undefined {
  const a = getAttribute(node, name);
  return a ? (a.ints ?? []).map(int64ToBigInt) : undefined;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttribute(node, name);
  return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : fallback;
}

/** Attribute values accepted by `makeAttribute` (arrays must be non-empty to infer their kind). */
export type AttributeValue =
  | number
  | bigint
  | string
  | TensorProto
  | GraphProto
  | { float: number }
  | { floats: number[] }
  | { ints: (number | bigint)[] }
  | { strings: string[] };

/**
 * Build an AttributeProto. A JS number is an INT when it is an integer (ONNX attributes are
 * typed: pass `{ float: 1 }` for a FLOAT that happens to be whole).
 */
export function makeAttribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'bigint') return { name, type: AttributeType.INT, i: int64(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: int64(value) } : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints.map((v) => int64(v)) };
  if ('strings' in value) return { name, type: AttributeType.STRINGS, strings: value.strings.map((s) => new TextEncoder().encode(s)) };
  if ('node' in value || 'output' in value) return { name, type: AttributeType.GRAPH, g: value as GraphProto };
  return { name, type: AttributeType.TENSOR, t: value as TensorProto };
}

/** Set (replace or add) an attribute. */
export function setAttribute(node: NodeProto, attr: AttributeProto): void {
  node.attribute ??= [];
  const i = node.attribute.findIndex((a) => a.name === attr.name);
  if (i >= 0) node.attribute[i] = attr;
  else node.attribute.push(attr);
}

/** Remove an attribute; returns it, or undefined when it was not set. */
export function removeAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  const list = node.attribute ?? [];
  const i = list.findIndex((a) => a.name === name);
  return i >= 0 ? list.splice(i, 1)[0] : undefined;
}

/** Build a node. */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: { name?: string; domain?: string; attributes?: Record<string, AttributeValue> } = {},
): NodeProto {
  const node: NodeProto = { input: [...inputs], output: [...outputs], op_type: opType };
  if (options.name) node.name = options.name;
  if (options.domain) node.domain = options.domain;
  const attrs = Object.entries(options.attributes ?? {});
  if (attrs.length) node.attribute = attrs.map(([k, v]) => makeAttribute(k, v));
  return node;
}

/** The subgraphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

/** Names a subgraph reads from enclosing scopes (used in it but not defined in it). */
function outerReferences(graph: GraphProto): Set<string> {
  const defined = new Set<string>();
  for (const vi of graph.input ?? []) defined.add(vi.name ?? '');
  for (const t of graph.initializer ?? []) defined.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) defined.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const used = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) if (i) used.add(i);
    for (const g of subgraphsOf(n)) for (const r of outerReferences(g)) used.add(r);
  }
  for (const vi of graph.output ?? []) if (vi.name) used.add(vi.name);
  for (const d of defined) used.delete(d);
  return used;
}

/** Every value a node reads: its inputs (without the '' placeholders) and its subgraphs' outer references. */
export function nodeInputs(node: NodeProto): string[] {
  const names = new Set((node.input ?? []).filter(Boolean));
  for (const g of subgraphsOf(node)) for (const r of outerReferences(g)) names.add(r);
  return [...names];
}

// ------------------------------------------------------------------------------------------
// producers, consumers, order
// ------------------------------------------------------------------------------------------

/** Value name → the node producing it. Throws when two nodes produce the same name. */
export function producerMap(target: ModelProto | GraphProto): Map<string, NodeProto> {
  const graph = graphOf(target);
  const map = new Map<string, NodeProto>();
  (graph.node ?? []).forEach((node, index) => {
    for (const o of node.output ?? []) {
      if (!o) continue;
      const other = map.get(o);
      if (other) {
        throw new TearlessError(
          'TL_ERR_MODEL_NOT_UNDERSTOOD',
          `Value "${o}" is produced by two nodes (${nodeLabel(other)} and ${nodeLabel(node, index)}); ONNX values are assigned once.`,
        );
      }
      map.set(o, node);
    }
  });
  return map;
}

/** Value name → the nodes reading it (each node once, subgraph reads included). */
export function consumerMap(target: ModelProto | GraphProto): Map<string, NodeProto[]> {
  const graph = graphOf(target);
  const map = new Map<string, NodeProto[]>();
  for (const node of graph.node ?? []) {
    for (const name of nodeInputs(node)) {
      const list = map.get(name);
      if (list) list.push(node);
      else map.set(name, [node]);
    }
  }
  return map;
}

/**
 * The nodes in a topological order: every node after the producers of everything it reads.
 * Depth-first in the original order, so an already sorted graph keeps its order exactly.
 * Values no node produces (graph inputs, initializers, outer-scope names) are available from the
 * start. Throws TL_ERR_MODEL_NOT_UNDERSTOOD naming the nodes of a cycle.
 */
export function topologicalOrder(target: ModelProto | GraphProto): NodeProto[] {
  const graph = graphOf(target);
  const nodes = graph.node ?? [];
  const producerIndex = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producerIndex.set(o, i);
  });
  const deps = nodes.map((n) => {
    const d: number[] = [];
    for (const name of nodeInputs(n)) {
      const p = producerIndex.get(name);
      if (p !== undefined) d.push(p);
    }
    return d;
  });
  const state = new Uint8Array(nodes.length); // 0 unvisited, 1 on the DFS stack, 2 placed
  const order: NodeProto[] = [];
  for (let start = 0; start < nodes.length; start++) {
    if (state[start]) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < deps[v].length) {
        top[1]++;
        const u = deps[v][k];
        if (state[u] === 0) {
          state[u] = 1;
          stack.push([u, 0]);
        } else if (state[u] === 1) {
          const from = stack.findIndex(([w]) => w === u);
          const cycle = stack.slice(from).map(([w]) => nodeLabel(nodes[w], w));
          throw new TearlessError(
            'TL_ERR_MODEL_NOT_UNDERSTOOD',
            `The graph has a cycle: ${[...cycle, cycle[0]].join(' ← ')} (each reads the next one's output); an ONNX graph must be acyclic.`,
          );
        }
      } else {
        state[v] = 2;
        order.push(nodes[v]);
        stack.pop();
      }
    }
  }
  return order;
}

/** Reorder `graph.node` topologically in place (a no-op on a sorted graph). */
export function sortTopologically(target: ModelProto | GraphProto): void {
  const graph = graphOf(target);
  const order = topologicalOrder(graph);
  graph.node ??= [];
  graph.node.splice(0, graph.node.length, ...order);
}

// ------------------------------------------------------------------------------------------
// value info
// ------------------------------------------------------------------------------------------

/**
 * Value name → ValueInfoProto, from initializers (type and shape of the tensor),
 * `graph.value_info`, `graph.input` and `graph.output` (later sources win).
 */
export function valueInfoMap(target: ModelProto | GraphProto): Map<string, ValueInfoProto> {
  const graph = graphOf(target);
  const map = new Map<string, ValueInfoProto>();
  for (const t of graph.initializer ?? []) {
    map.set(t.name ?? '', makeTensorValueInfo(t.name ?? '', t.data_type ?? 0, tensorDims(t)));
  }
  for (const s of graph.sparse_initializer ?? []) {
    const name = s.values?.name ?? '';
    map.set(name, makeTensorValueInfo(name, s.values?.data_type ?? 0, (s.dims ?? []).map(int64ToNumber)));
  }
  for (const list of [graph.value_info, graph.input, graph.output]) {
    for (const vi of list ?? []) if (vi.name) map.set(vi.name, vi);
  }
  return map;
}

// ------------------------------------------------------------------------------------------
// names
// ------------------------------------------------------------------------------------------

function collectNames(graph: GraphProto, into: Set<string>): void {
  for (const list of [graph.input, graph.output, graph.value_info]) for (const vi of list ?? []) into.add(vi.name ?? '');
  for (const t of graph.initializer ?? []) into.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) into.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) {
    if (n.name) into.add(n.name);
    for (const i of n.input ?? []) into.add(i);
    for (const o of n.output ?? []) into.add(o);
    for (const g of subgraphsOf(n)) collectNames(g, into);
  }
}

/**
 * Fresh names for a graph: `fresh('x')` is `x` when no value, node or initializer (here or in a
 * subgraph) uses it yet, else `x_1`, `x_2`, … Names handed out are remembered.
 */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(target: ModelProto | GraphProto) {
    collectNames(graphOf(target), this.used);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  fresh(base: string): string {
    const stem = base || 'v';
    let name = stem;
    for (let i = 1; this.used.has(name); i++) name = `${stem}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** One fresh name (builds a NameScope; use one NameScope for many names). */
export function uniqueName(target: ModelProto | GraphProto, base: string): string {
  return new NameScope(target).fresh(base);
}

// ------------------------------------------------------------------------------------------
// editing
// ------------------------------------------------------------------------------------------

/** Insert nodes at `index` of `graph.node` (default: the end). */
export function insertNodes(target: ModelProto | GraphProto, nodes: readonly NodeProto[], index?: number): void {
  const graph = graphOf(target);
  graph.node ??= [];
  graph.node.splice(index ?? graph.node.length, 0, ...nodes);
}

function indexOfNode(graph: GraphProto, node: NodeProto): number {
  const i = (graph.node ?? []).indexOf(node);
  if (i < 0) throw new TearlessError('TL_ERR_BAD_OPTION', `Node ${nodeLabel(node)} is not in this graph.`);
  return i;
}

/** Insert nodes right before `anchor` (keeps a sorted graph sorted when they feed `anchor`). */
export function insertNodesBefore(target: ModelProto | GraphProto, anchor: NodeProto, nodes: readonly NodeProto[]): void {
  const graph = graphOf(target);
  insertNodes(graph, nodes, indexOfNode(graph, anchor));
}

/** Insert nodes right after `anchor` (keeps a sorted graph sorted when they read `anchor`'s outputs). */
export function insertNodesAfter(target: ModelProto | GraphProto, anchor: NodeProto, nodes: readonly NodeProto[]): void {
  const graph = graphOf(target);
  insertNodes(graph, nodes, indexOfNode(graph, anchor) + 1);
}

/**
 * Make every reader of value `from` read `to` instead (node inputs, subgraph references that
 * are not shadowed there, and graph outputs when `includeGraphOutputs`). Returns the number of
 * rewired uses.
 */
export function replaceUses(
  target: ModelProto | GraphProto,
  from: string,
  to: string,
  options: { includeGraphOutputs?: boolean } = {},
): number {
  const graph = graphOf(target);
  let count = 0;
  const visit = (g: GraphProto, top: boolean): void => {
    if (!top) {
      const shadows =
        (g.input ?? []).some((vi) => vi.name === from) ||
        (g.initializer ?? []).some((t) => t.name === from) ||
        (g.node ?? []).some((n) => (n.output ?? []).includes(from));
      if (shadows) return;
    }
    for (const n of g.node ?? []) {
      const inputs = n.input ?? [];
      for (let i = 0; i < inputs.length; i++) {
        if (inputs[i] === from) {
          inputs[i] = to;
          count++;
        }
      }
      for (const sub of subgraphsOf(n)) visit(sub, false);
    }
    if (!top || options.includeGraphOutputs) {
      for (const vi of g.output ?? []) {
        if (vi.name === from) {
          vi.name = to;
          count++;
        }
      }
    }
  };
  visit(graph, true);
  return count;
}

/**
 * Remove a node. With `replaceOutputsWith`, the readers of its i-th output read
 * `replaceOutputsWith[i]` instead (e.g. the node's own input when bypassing an Identity).
 * Throws, changing nothing, when an output of the node is a graph output (rename or drop that
 * output first: `replaceUses(…, { includeGraphOutputs: true })`).
 */
export function removeNode(
  target: ModelProto | GraphProto,
  node: NodeProto,
  options: { replaceOutputsWith?: readonly string[] } = {},
): void {
  const graph = graphOf(target);
  const index = indexOfNode(graph, node);
  const outputs = node.output ?? [];
  const graphOutputs = new Set((graph.output ?? []).map((vi) => vi.name));
  const exposed = outputs.find((o) => o && graphOutputs.has(o));
  if (exposed) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Cannot remove node ${nodeLabel(node, index)}: its output "${exposed}" is a graph output.`,
    );
  }
  outputs.forEach((o, i) => {
    const replacement = options.replaceOutputsWith?.[i];
    if (o && replacement !== undefined) replaceUses(graph, o, replacement);
  });
  graph.node!.splice(index, 1);
}

// ------------------------------------------------------------------------------------------
// calibration outputs
// ------------------------------------------------------------------------------------------

function copyType(type: TypeProto): TypeProto {
  return TypeProtoType.decode(TypeProtoType.encode(type as unknown as protobuf.Message).finish()) as unknown as TypeProto;
}

/**
 * Add intermediate tensors as graph outputs (to read activations for calibration). Each gets
 * (a copy of) its value info's type when the graph has one, else an untyped ValueInfoProto
 * (onnxruntime infers the type). Names that already are outputs are skipped. Returns the
 * names added, in order. Throws TL_ERR_BAD_OPTION for unknown names and initializers.
 */
export function exposeAsOutputs(target: ModelProto | GraphProto, names: Iterable<string>): string[] {
  const graph = graphOf(target);
  graph.output ??= [];
  const outputs = new Set(graph.output.map((vi) => vi.name));
  const produced = new Set((graph.node ?? []).flatMap((n) => n.output ?? []));
  const inputs = new Set((graph.input ?? []).map((vi) => vi.name));
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const infos = valueInfoMap(graph);
  const added: string[] = [];
  for (const name of names) {
    if (outputs.has(name)) continue;
    if (initializers.has(name)) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `"${name}" is an initializer (a constant), not a tensor computed by the graph.`);
    }
    if (!name || (!produced.has(name) && !inputs.has(name))) {
      throw new TearlessError('TL_ERR_BAD_OPTION', `No tensor named "${name}" in the graph.`);
    }
    const type = infos.get(name)?.type;
    // a copy of the type, so that editing the output later does not edit graph.value_info
    const vi: ValueInfoProto = type ? { name, type: copyType(type) } : { name };
    graph.output.push(vi);
    outputs.add(name);
    added.push(name);
  }
  return added;
}

// ------------------------------------------------------------------------------------------
// opset conversion
// ------------------------------------------------------------------------------------------

/**
 * Default-domain ops whose schema did not change between opset 11 and 13 (latest version ≤ 11,
 * or only new types / backward-compatible additions in 12 and 13 — the "compatible" adapters of
 * onnx/version_converter/convert.h). Anything not listed here or converted below is refused.
 */
const COMPATIBLE_11_TO_13 = new Set([
  // unchanged since an opset ≤ 11
  'Acos', 'Acosh', 'And', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool', 'BitShift', 'Compress',
  'ConcatFromSequence', 'ConstantOfShape', 'Conv', 'ConvInteger', 'ConvTranspose', 'Cos', 'Cosh',
  'CumSum', 'Det', 'DynamicQuantizeLinear', 'Elu', 'EyeLike', 'GRU', 'GlobalAveragePool',
  'GlobalLpPool', 'GlobalMaxPool', 'HardSigmoid', 'InstanceNormalization', 'IsInf', 'LSTM',
  'LeakyRelu', 'LpNormalization', 'LpPool', 'MatMulInteger', 'MaxRoiPool', 'MaxUnpool',
  'Multinomial', 'NonMaxSuppression', 'Not', 'OneHot', 'Or', 'PRelu', 'QLinearConv', 'QLinearMatMul',
  'RNN', 'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Range',
  'ReverseSequence', 'RoiAlign', 'Round', 'Scan', 'Selu', 'SequenceAt', 'SequenceConstruct',
  'SequenceEmpty', 'SequenceErase', 'SequenceInsert', 'SequenceLength', 'Shrink', 'Sin', 'Sinh',
  'Softplus', 'Softsign', 'SplitToSequence', 'StringNormalizer', 'Tan', 'TfIdfVectorizer',
  'ThresholdedRelu', 'TopK', 'Unique', 'Where', 'Xor',
  // introduced in opset 12 (only in a 12 → 13 conversion), unchanged or compatible in 13
  'Celu', 'Einsum', 'GreaterOrEqual', 'LessOrEqual', 'NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss',
  // new versions in 12 or 13 that only add types or optional behaviour (onnx version converter)
  'Abs', 'Add', 'ArgMax', 'ArgMin', 'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Concat', 'Constant',
  'DepthToSpace', 'DequantizeLinear', 'Div', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor',
  'Gather', 'GatherElements', 'GatherND', 'Gemm', 'Greater', 'Identity', 'If', 'IsNaN', 'LRN', 'Less',
  'Log', 'Loop', 'MatMul', 'Max', 'MaxPool', 'Mean', 'MeanVarianceNormalization', 'Min', 'Mod', 'Mul',
  'Neg', 'NonZero', 'Pad', 'Pow', 'QuantizeLinear', 'Reciprocal', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'ScatterElements', 'ScatterND', 'Shape', 'Sigmoid',
  'Sign', 'Size', 'Slice', 'SpaceToDepth', 'Sqrt', 'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose',
]);

/** Ops with a known 11 → 13 change that `convertOpset` does not rewrite, and why. */
const NOT_CONVERTED: Record<string, string> = {
  Dropout: 'Dropout-12 takes ratio as an input instead of an attribute (fine from opset 12)',
  Upsample: 'Upsample is deprecated since opset 10 (use Resize)',
  Scatter: 'Scatter is deprecated since opset 11 (use ScatterElements)',
};

interface ConvertContext {
  graph: GraphProto;
  names: NameScope;
  rank: (name: string) => number | undefined;
}

function int64Initializer(ctx: ConvertContext, base: string, values: readonly bigint[]): string {
  const name = ctx.names.fresh(base);
  ctx.graph.initializer ??= [];
  ctx.graph.initializer.push(makeTensor(name, BigInt64Array.from(values), [values.length]));
  return name;
}

/** An attribute (axes, split) becomes the node's input `position` as an int64 initializer. */
function attributeToInput(ctx: ConvertContext, node: NodeProto, attr: string, position: number): void {
  const values = attrInts(node, attr);
  if (values === undefined) return; // absent attribute = absent optional input: same meaning
  removeAttribute(node, attr);
  const inputs = (node.input ??= []);
  while (inputs.length < position) inputs.push('');
  const stem = node.name || node.output?.[0] || node.op_type || 'node';
  inputs[position] = int64Initializer(ctx, `${stem}_${attr}`, values);
}

/**
 * Softmax/LogSoftmax/Hardmax 11 coerce the input to 2-D at `axis` (default 1) and normalize
 * over the flattened tail; 13 normalizes over the one `axis` (default -1). Same thing when
 * `axis` is the last dimension; otherwise Flatten → op(axis=-1) → Reshape(to Shape(x)).
 * (onnx's own converter registers Hardmax 12 → 13 as "compatible"; its axis semantics changed
 * exactly like Softmax's, so it is rewritten the same way here.)
 */
function convertSoftmaxFamily(ctx: ConvertContext, node: NodeProto, replacement: NodeProto[]): void {
  const axis = attrInt(node, 'axis', 1);
  const x = node.input?.[0] ?? '';
  const rank = ctx.rank(x);
  if (axis === -1 || (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1)) {
    setAttribute(node, makeAttribute('axis', -1));
    replacement.push(node);
    return;
  }
  const stem = node.name || node.output?.[0] || node.op_type || 'softmax';
  const shape = ctx.names.fresh(`${stem}_shape`);
  const flat = ctx.names.fresh(`${stem}_2d`);
  const out2d = ctx.names.fresh(`${stem}_out2d`);
  const y = node.output?.[0] ?? '';
  replacement.push(makeNode('Shape', [x], [shape], { name: ctx.names.fresh(`${stem}_Shape`) }));
  replacement.push(makeNode('Flatten', [x], [flat], { name: ctx.names.fresh(`${stem}_Flatten`), attributes: { axis } }));
  node.input = [flat];
  node.output = [out2d];
  setAttribute(node, makeAttribute('axis', -1));
  replacement.push(node);
  replacement.push(makeNode('Reshape', [out2d, shape], [y], { name: ctx.names.fresh(`${stem}_Reshape`) }));
}

/** Throw (before anything is changed) when a node of the graph or its subgraphs cannot be converted. */
function checkConvertibleTo13(graph: GraphProto, from: number): void {
  (graph.node ?? []).forEach((node, index) => {
    for (const sub of subgraphsOf(node)) checkConvertibleTo13(sub, from);
    const op = node.op_type ?? '';
    if (!isDefaultDomain(node.domain) || CONVERTED_11_TO_13.has(op) || COMPATIBLE_11_TO_13.has(op)) return;
    if (op === 'Dropout' && from >= 12) return; // Dropout-12 → 13 only adds types
    const why = NOT_CONVERTED[op] ?? 'no 11 → 13 rule for this operator';
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `Cannot convert node ${nodeLabel(node, index)} to opset 13: ${why}.`);
  });
}

const CONVERTED_11_TO_13 = new Set(['Split', 'Squeeze', 'Unsqueeze', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Hardmax']);

function convertGraphTo13(graph: GraphProto, names: NameScope): void {
  const infos = valueInfoMap(graph);
  const ctx: ConvertContext = { graph, names, rank: (name) => tensorTypeOf(infos.get(name))?.shape?.length };
  const result: NodeProto[] = [];
  for (const node of graph.node ?? []) {
    for (const sub of subgraphsOf(node)) convertGraphTo13(sub, names);
    if (isDefaultDomain(node.domain)) {
      switch (node.op_type) {
        case 'Split':
          attributeToInput(ctx, node, 'split', 1);
          break;
        case 'Squeeze':
        case 'Unsqueeze':
        case 'ReduceSum':
          attributeToInput(ctx, node, 'axes', 1);
          break;
        case 'Softmax':
        case 'LogSoftmax':
        case 'Hardmax':
          convertSoftmaxFamily(ctx, node, result);
          continue;
      }
    }
    result.push(node);
  }
  graph.node = result;
}

/**
 * Convert a model's default-domain opset to `target` in place. Supported: 11 or 12 → 13 (what
 * per-channel QuantizeLinear/DequantizeLinear needs): Split's `split`, Squeeze/Unsqueeze's and
 * ReduceSum's `axes` attributes become int64 initializer inputs, Softmax/LogSoftmax/Hardmax keep
 * their 11 semantics, every other op must be one whose meaning did not change (throws
 * TL_ERR_MODEL_NOT_UNDERSTOOD naming the node otherwise). Other domains, metadata_props and
 * everything else are kept; `ir_version` is raised to 7 (opset 13's) if lower. Validates the
 * whole graph before changing anything. Returns the model.
 *
 * The opset-11 detectors in ../shared/data/models (YOLOX-nano, NanoDet-m, PicoDet-s, the light
 * person detector) and the opset-12 HyperLPR3 plate YOLOv5 only need Split (NanoDet, PicoDet) and
 * compatible ops; their converted outputs are bit-identical in onnxruntime 1.30.
 */
export function convertOpset<M extends OnnxModel>(model: M, target: number): M {
  const current = getOpset(model, '');
  if (current === undefined) {
    throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', 'The model imports no default-domain (ai.onnx) opset.');
  }
  if (current === target) return model;
  if (target !== 13 || current < 11 || current > 13) {
    throw new TearlessError(
      'TL_ERR_NOT_IMPLEMENTED',
      `Opset conversion ${current} → ${target} is not supported; only 11 or 12 → 13 is.`,
    );
  }
  checkConvertibleTo13(model.graph, current);
  convertGraphTo13(model.graph, new NameScope(model.graph));
  setOpset(model, 13, '');
  if (int64ToBigInt(model.ir_version) < 7n) model.ir_version = 7;
  return model;
}
