/**
 * float32 → float16 conversion of a whole graph, for targets with fast half-precision math
 * (WebGPU, GPUs, recent ARM). Weights take half the space. On x86 CPUs it is usually SLOWER:
 * onnxruntime's CPU provider has no float16 kernel for most ops (Conv, Sigmoid, Resize… on
 * x86) and inserts Cast nodes around them itself, so the search measures it like any candidate.
 *
 * What changes: every float32 initializer, `Constant` / `ConstantOfShape` value, `Cast(to=float)`,
 * `dtype=float` of the random-number ops and float32 `value_info` becomes float16. Every value
 * computed from those then is float16 too, since ONNX ops take one float type for all their
 * float inputs — except inputs whose schema demands float32, listed in FLOAT32_INPUTS (Resize
 * `roi`/`scales`, Upsample `scales`, NonMaxSuppression's boxes/scores/thresholds): a constant
 * read only there stays float32, anything else gets a `Cast(to=float)` in front of that input.
 * With `keepIoTypes` (default) float32 graph inputs and outputs stay float32 through Cast nodes,
 * so the model is a drop-in replacement with the same profile.
 *
 * Values beyond the float16 range (|x| > 65504) are clamped to ±65504 (infinities stay
 * infinite); tiny values may round to 0 or to a subnormal. Attributes that are plain floats
 * (epsilon, alpha, Clip-6 bounds) are not tensors and stay as they are.
 */
import { TearlessError } from '../../core/errors.js';
import { toFloat16Bits } from '../../core/float16.js';
import {
  NameScope,
  consumerMap,
  getAttribute,
  isDefaultDomain,
  makeAttribute,
  makeNode,
  nodeLabel,
  producerMap,
  removeAttribute,
  setAttribute,
  subgraphsOf,
} from '../onnx/graph.js';
import { cloneModel, int64ToNumber, makeTensor, tensorDims, tensorToFloat32, tensorTypeOf, type OnnxModel } from '../onnx/model.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx/schema.js';

/** Default-domain op → indices of inputs that must stay float32 whatever the data type. */
const FLOAT32_INPUTS: Record<string, readonly number[]> = {
  Resize: [1, 2], // roi (T2; onnxruntime reads it as float), scales (tensor(float))
  Upsample: [1], // scales (tensor(float)), opset 9
  NonMaxSuppression: [0, 1, 3, 4], // boxes, scores, iou_threshold, score_threshold: tensor(float)
};

/** Ops that are already quantized or whose float inputs are tied to quantization scales. */
const REFUSED = new Set([
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul',
  'ConvInteger', 'MatMulInteger',
]);

/** Ops whose `dtype` attribute picks a float output type (default float for the first two). */
const DTYPE_DEFAULT_FLOAT = new Set(['RandomNormal', 'RandomUniform']);
const DTYPE_OPTIONAL = new Set(['RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'Bernoulli']);

const HALF_MAX = 65504;

function toHalfTensor(t: TensorProto, name = t.name ?? ''): TensorProto {
  const f32 = tensorToFloat32(t);
  const bits = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) {
    const v = f32[i];
    bits[i] = toFloat16Bits(Number.isFinite(v) ? Math.max(-HALF_MAX, Math.min(HALF_MAX, v)) : v);
  }
  const half = makeTensor(name, bits, tensorDims(t), DataType.FLOAT16);
  if (t.doc_string) half.doc_string = t.doc_string;
  if (t.metadata_props?.length) half.metadata_props = t.metadata_props;
  return half;
}

function setElemType(vi: ValueInfoProto, elemType: number): void {
  if (vi.type?.tensor_type) vi.type.tensor_type.elem_type = elemType;
}

const isFloat = (vi: ValueInfoProto | undefined): boolean => tensorTypeOf(vi)?.elemType === DataType.FLOAT;

/**
 * A float16 copy of `model` (the input is not changed). With `keepIoTypes` (default true) its
 * float32 inputs and outputs stay float32. Throws TL_ERR_NOT_IMPLEMENTED for quantized graphs,
 * control flow (If/Loop/Scan), float sparse initializers and float graph outputs that are
 * initializers or inputs; TL_ERR_MODEL_NOT_UNDERSTOOD for a graph output without a type.
 */
export function convertToFloat16(model: OnnxModel, opts: { keepIoTypes?: boolean } = {}): OnnxModel {
  const keepIoTypes = opts.keepIoTypes ?? true;
  const out = cloneModel(model);
  const graph: GraphProto = out.graph;
  const nodes = graph.node ?? [];
  nodes.forEach((node, index) => {
    const op = node.op_type ?? '';
    if (!isDefaultDomain(node.domain)) {
      throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `float16 conversion supports default-domain ops only; node ${nodeLabel(node, index)} is in domain "${node.domain}".`);
    }
    if (REFUSED.has(op)) {
      throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `The model is already quantized (node ${nodeLabel(node, index)}); convert the float model to float16 instead.`);
    }
    if (subgraphsOf(node).length > 0) {
      throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `float16 conversion of control flow (node ${nodeLabel(node, index)}) is not supported.`);
    }
  });
  for (const s of graph.sparse_initializer ?? []) {
    if (s.values?.data_type === DataType.FLOAT) {
      throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `float16 conversion of the sparse initializer "${s.values.name}" is not supported.`);
    }
  }

  const names = new NameScope(graph);
  const consumers = consumerMap(graph);
  const producers = producerMap(graph);
  const graphOutputNames = new Set((graph.output ?? []).map((vi) => vi.name ?? ''));
  const inputNames = new Set((graph.input ?? []).map((vi) => vi.name ?? ''));

  // Slots (node, input index) that must receive float32.
  const isF32Slot = (node: NodeProto, i: number): boolean => (FLOAT32_INPUTS[node.op_type ?? ''] ?? []).includes(i);
  /** True when every read of `name` is a float32-only slot (and it is no graph output). */
  const onlyFloat32Readers = (name: string): boolean => {
    if (graphOutputNames.has(name)) return false;
    const readers = consumers.get(name) ?? [];
    return readers.length > 0 && readers.every((n) => (n.input ?? []).every((x, i) => x !== name || isF32Slot(n, i)));
  };
  // Output types, read before value_info changes (an untyped output may be typed there).
  const valueInfos = new Map((graph.value_info ?? []).map((vi) => [vi.name ?? '', vi]));
  const outputTypes = (graph.output ?? []).map((vi) => tensorTypeOf(vi) ?? tensorTypeOf(valueInfos.get(vi.name ?? '')));
  /** Values left float32 on purpose (constants read only by float32 slots, kept graph inputs). */
  const keptFloat = new Set<string>();

  // 1. Initializers.
  graph.initializer = (graph.initializer ?? []).map((t) => {
    if (t.data_type !== DataType.FLOAT) return t;
    if (onlyFloat32Readers(t.name ?? '')) {
      keptFloat.add(t.name ?? '');
      return t;
    }
    return toHalfTensor(t);
  });
  // IR < 4 exporters also list initializers as inputs: keep those entries' types in step.
  const initTypes = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t.data_type ?? 0]));
  for (const vi of graph.input ?? []) {
    const dt = initTypes.get(vi.name ?? '');
    if (dt !== undefined) setElemType(vi, dt);
  }

  // 2. Nodes that create float values from attributes.
  for (const node of nodes) {
    const op = node.op_type ?? '';
    if (op === 'Constant') {
      const output = node.output?.[0] ?? '';
      if (onlyFloat32Readers(output)) {
        if (producesFloat(node)) keptFloat.add(output);
        continue;
      }
      convertConstant(node);
    } else if (op === 'ConstantOfShape') {
      const value = getAttribute(node, 'value');
      // absent value = float32 zero
      if (!value?.t || value.t.data_type === DataType.FLOAT) {
        const zero: TensorProto = value?.t ?? makeTensor('', new Float32Array([0]), [1]);
        setAttribute(node, makeAttribute('value', toHalfTensor(zero, zero.name ?? '')));
      }
    } else if (op === 'Cast') {
      const to = getAttribute(node, 'to');
      if (to && int64ToNumber(to.i) === DataType.FLOAT) {
        // a Cast computing e.g. Resize scales for float32 inputs only stays a cast to float32
        if (onlyFloat32Readers(node.output?.[0] ?? '')) keptFloat.add(node.output?.[0] ?? '');
        else setAttribute(node, makeAttribute('to', DataType.FLOAT16));
      }
    } else if (DTYPE_DEFAULT_FLOAT.has(op) || DTYPE_OPTIONAL.has(op)) {
      const dtype = getAttribute(node, 'dtype');
      const isFloatOut = dtype ? int64ToNumber(dtype.i) === DataType.FLOAT : DTYPE_DEFAULT_FLOAT.has(op);
      if (isFloatOut) setAttribute(node, makeAttribute('dtype', DataType.FLOAT16));
    }
  }

  // 3. value_info: float32 → float16, except values kept float32.
  for (const vi of graph.value_info ?? []) {
    if (isFloat(vi) && !keptFloat.has(vi.name ?? '')) setElemType(vi, DataType.FLOAT16);
  }

  const added: NodeProto[] = [];
  const prepended: NodeProto[] = [];

  // 4. Graph inputs.
  for (const vi of graph.input ?? []) {
    const name = vi.name ?? '';
    if (initTypes.has(name) || !isFloat(vi)) continue;
    if (!keepIoTypes) {
      setElemType(vi, DataType.FLOAT16);
      continue;
    }
    keptFloat.add(name);
    const readers = consumers.get(name) ?? [];
    const half = names.fresh(`${name}_fp16`);
    let used = false;
    for (const n of readers) {
      const inputs = n.input ?? [];
      for (let i = 0; i < inputs.length; i++) {
        if (inputs[i] === name && !isF32Slot(n, i)) {
          inputs[i] = half;
          used = true;
        }
      }
    }
    if (used) prepended.push(makeNode('Cast', [name], [half], { name: names.fresh(`${name}_to_fp16`), attributes: { to: DataType.FLOAT16 } }));
  }

  // 5. float32-only slots that now receive float16 get a Cast(to=float), one per value.
  const castOf = new Map<string, string>();
  for (const node of [...nodes]) {
    for (const i of FLOAT32_INPUTS[node.op_type ?? ''] ?? []) {
      const name = node.input?.[i];
      if (!name || keptFloat.has(name)) continue;
      let f32 = castOf.get(name);
      if (!f32) {
        f32 = names.fresh(`${name}_fp32`);
        castOf.set(name, f32);
        const cast = makeNode('Cast', [name], [f32], { name: names.fresh(`${name}_to_fp32`), attributes: { to: DataType.FLOAT } });
        // right after the producer (or at the start for initializers and inputs): stays sorted
        const producer = producers.get(name);
        if (producer) nodes.splice(nodes.indexOf(producer) + 1, 0, cast);
        else prepended.push(cast);
      }
      node.input![i] = f32;
    }
  }

  // 6. Graph outputs.
  for (const [k, vi] of (graph.output ?? []).entries()) {
    const name = vi.name ?? '';
    const type = outputTypes[k];
    if (!type) {
      throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `Graph output "${name}" has no type; cannot tell whether it is float32.`);
    }
    if (type.elemType !== DataType.FLOAT) continue;
    if (!keepIoTypes) {
      setElemType(vi, DataType.FLOAT16); // (an untyped output's value_info entry was converted above)
      continue;
    }
    const producer = producers.get(name);
    if (!producer || inputNames.has(name)) {
      throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `Graph output "${name}" is ${producer ? 'also an input' : 'an initializer or input'}; float16 conversion needs it computed by a node.`);
    }
    const half = names.fresh(`${name}_fp16`);
    producer.output = (producer.output ?? []).map((o) => (o === name ? half : o));
    for (const n of consumers.get(name) ?? []) n.input = (n.input ?? []).map((x) => (x === name ? half : x));
    for (const info of graph.value_info ?? []) if (info.name === name) info.name = half;
    added.push(makeNode('Cast', [half], [name], { name: names.fresh(`${name}_to_fp32`), attributes: { to: DataType.FLOAT } }));
  }

  graph.node = [...prepended, ...nodes, ...added];
  return out;
}

/** Whether a Constant node's value is float32. */
function producesFloat(node: NodeProto): boolean {
  const value = getAttribute(node, 'value');
  if (value?.t) return value.t.data_type === DataType.FLOAT;
  return Boolean(getAttribute(node, 'value_float') || getAttribute(node, 'value_floats'));
}

function convertConstant(node: NodeProto): void {
  const value = getAttribute(node, 'value');
  if (value?.t) {
    if (value.t.data_type === DataType.FLOAT) setAttribute(node, makeAttribute('value', toHalfTensor(value.t)));
    return;
  }
  const single = getAttribute(node, 'value_float');
  const many = getAttribute(node, 'value_floats');
  if (single) {
    removeAttribute(node, 'value_float');
    setAttribute(node, makeAttribute('value', toHalfTensor(makeTensor('', new Float32Array([single.f ?? 0]), []))));
  } else if (many) {
    const values = many.floats ?? [];
    removeAttribute(node, 'value_floats');
    setAttribute(node, makeAttribute('value', toHalfTensor(makeTensor('', Float32Array.from(values), [values.length]))));
  } else if (getAttribute(node, 'sparse_value')?.sparse_tensor?.values?.data_type === DataType.FLOAT) {
    throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `float16 conversion of the sparse Constant ${nodeLabel(node)} is not supported.`);
  }
}
