/**
 * Read and write `.onnx` files, and typed access to what an optimization pass needs: graph
 * inputs/outputs, initializers as typed arrays, `metadata_props` and opsets.
 *
 * The model is the decoded protobufjs message itself (shape: `ModelProto` in schema.ts), so
 * every field of the spec — and any field this schema does not know, kept in `$unknowns` —
 * survives `readModel` → `writeModel`. int64 values stay exact: they decode as Long objects
 * (`int64ToBigInt` / `int64ToNumber` read them; `int64()` builds one). Large byte fields
 * (`raw_data`) are views into the input buffer, not copies, so reading a model is cheap; do not
 * reuse that buffer for something else while the model is alive.
 *
 * All helpers mutate the model in place; `cloneModel` gives an independent copy first.
 */
import protobuf from 'protobufjs';
import { TearlessError } from '../../core/errors.js';
import { fromFloat16Bits } from '../../core/float16.js';
import {
  DataLocation,
  DataType,
  ModelProtoType,
  type GraphProto,
  type Int64,
  type ModelProto,
  type OperatorSetIdProto,
  type SparseTensorProto,
  type TensorProto,
  type ValueInfoProto,
} from './schema.js';

/** A decoded ONNX model; `graph` is always present after `readModel`. */
export type OnnxModel = ModelProto & { graph: GraphProto };

const LongCtor = protobuf.util.Long;
if (!LongCtor) throw new Error('protobufjs has no long.js: int64 values would lose precision');

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ------------------------------------------------------------------------------------------
// int64
// ------------------------------------------------------------------------------------------

/** Exact value of an int64 field (a Long when decoded, or a number / decimal string). */
export function int64ToBigInt(v: Int64 | null | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  return BigInt(high) * 4294967296n + BigInt(v.low >>> 0);
}

/** An int64 field as a number; throws RangeError when it is not a safe integer. */
export function int64ToNumber(v: Int64 | null | undefined): number {
  if (typeof v === 'number') return v;
  const b = int64ToBigInt(v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`int64 value ${b} is outside the safe integer range`);
  }
  return Number(b);
}

/** A value for an int64 field: the number itself when it is a safe integer, else a Long. */
export function int64(value: number | bigint): Int64 {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer; pass a bigint`);
    return value;
  }
  if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  const low = Number(BigInt.asIntN(32, value));
  const high = Number(BigInt.asIntN(32, value >> 32n));
  return new LongCtor(low, high, false);
}

// ------------------------------------------------------------------------------------------
// read / write
// ------------------------------------------------------------------------------------------

/**
 * Decode `.onnx` bytes. Unknown fields are kept (protobufjs drops them unless the reader says
 * otherwise). Throws TL_ERR_MODEL_NOT_ONNX when the bytes are not an ONNX ModelProto.
 */
export function readModel(bytes: Uint8Array): OnnxModel {
  let model: ModelProto;
  try {
    const reader = protobuf.Reader.create(bytes);
    reader.discardUnknown = false;
    model = ModelProtoType.decode(reader) as unknown as ModelProto;
  } catch (err) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_ONNX',
      `Not an ONNX model: the bytes do not decode as an ONNX ModelProto (${(err as Error).message}).`,
      { cause: err },
    );
  }
  if (!model.graph || int64ToBigInt(model.ir_version) <= 0n) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_ONNX',
      `Not an ONNX model: ${model.graph ? 'no ir_version' : 'no graph'} in the decoded ModelProto.`,
    );
  }
  return model as OnnxModel;
}

/** Encode a model (decoded or hand-built) to `.onnx` bytes. */
export function writeModel(model: ModelProto): Uint8Array {
  return ModelProtoType.encode(model as unknown as protobuf.Message).finish();
}

/** A deep, independent copy (through the wire format, so it is exactly what would be saved). */
export function cloneModel(model: ModelProto): OnnxModel {
  return readModel(writeModel(model));
}

/** The graph of a model, or the graph itself. */
export function graphOf(target: ModelProto | GraphProto): GraphProto {
  const isModel =
    'graph' in target || 'ir_version' in target || 'opset_import' in target || !('node' in target || 'input' in target);
  if (!isModel) return target as GraphProto;
  const g = (target as ModelProto).graph;
  if (!g) throw new TearlessError('TL_ERR_MODEL_NOT_ONNX', 'The model has no graph.');
  return g;
}

// ------------------------------------------------------------------------------------------
// inputs, outputs, value types
// ------------------------------------------------------------------------------------------

/** Names of all initializers (dense and sparse) of a graph. */
export function initializerNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const t of graph.initializer ?? []) names.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) names.add(s.values?.name ?? '');
  return names;
}

/** The real inputs: `graph.input` minus initializers listed there (as IR < 4 exporters do). */
export function graphInputs(target: ModelProto | GraphProto): ValueInfoProto[] {
  const graph = graphOf(target);
  const inits = initializerNames(graph);
  return (graph.input ?? []).filter((vi) => !inits.has(vi.name ?? ''));
}

export function graphOutputs(target: ModelProto | GraphProto): ValueInfoProto[] {
  return graphOf(target).output ?? [];
}

/** A tensor type in plain terms: element type and shape (number, symbolic name or unknown). */
export interface TensorTypeInfo {
  elemType: number;
  /** null when the type carries no shape at all (rank unknown). */
  shape: (number | string | null)[] | null;
}

/** The tensor type of a value info, or null when it has none (untyped or non-tensor). */
export function tensorTypeOf(vi: ValueInfoProto | undefined): TensorTypeInfo | null {
  const tt = vi?.type?.tensor_type;
  if (!tt) return null;
  const shape = tt.shape
    ? (tt.shape.dim ?? []).map((d) => {
        if (d.dim_param) return d.dim_param;
        return Object.hasOwn(d, 'dim_value') && d.dim_value != null ? int64ToNumber(d.dim_value) : null;
      })
    : null;
  return { elemType: tt.elem_type ?? 0, shape };
}

/** A ValueInfoProto for a tensor (shape entries: number, symbolic name, or null for unknown). */
export function makeTensorValueInfo(
  name: string,
  elemType: number,
  shape?: readonly (number | string | null)[] | null,
): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        ...(shape
          ? {
              shape: {
                dim: shape.map((d) =>
                  typeof d === 'number' ? { dim_value: int64(d) } : typeof d === 'string' ? { dim_param: d } : {},
                ),
              },
            }
          : {}),
      },
    },
  };
}

// ------------------------------------------------------------------------------------------
// tensors and initializers
// ------------------------------------------------------------------------------------------

export type TensorArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type ArrayCtor = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TensorArray;
  new (length: number): TensorArray;
  BYTES_PER_ELEMENT: number;
};

/** The JS array type each supported data type reads as (float16/bfloat16: raw uint16 bits). */
const ARRAY_OF: Partial<Record<number, ArrayCtor>> = {
  [DataType.FLOAT]: Float32Array,
  [DataType.UINT8]: Uint8Array,
  [DataType.INT8]: Int8Array,
  [DataType.UINT16]: Uint16Array,
  [DataType.INT16]: Int16Array,
  [DataType.INT32]: Int32Array,
  [DataType.INT64]: BigInt64Array as unknown as ArrayCtor,
  [DataType.BOOL]: Uint8Array,
  [DataType.FLOAT16]: Uint16Array,
  [DataType.DOUBLE]: Float64Array,
  [DataType.UINT32]: Uint32Array,
  [DataType.UINT64]: BigUint64Array as unknown as ArrayCtor,
  [DataType.BFLOAT16]: Uint16Array,
};

const DATA_TYPE_NAMES = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k])) as Record<number, string>;

export function dataTypeName(dataType: number): string {
  return DATA_TYPE_NAMES[dataType] ?? `data type ${dataType}`;
}

/** Dimensions of a tensor as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map(int64ToNumber);
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * The contents of a tensor as a typed array (a copy), from `raw_data` (little-endian) or the
 * type-specific field. FLOAT16 and BFLOAT16 come back as their uint16 bit patterns (see
 * `tensorToFloat32`). Throws for external data and for types without a fixed-width JS array
 * (string, complex, 8-bit floats, 4-bit and 2-bit integers).
 */
export function tensorToArray(tensor: TensorProto): TensorArray {
  const dataType = tensor.data_type ?? 0;
  const label = `tensor "${tensor.name ?? ''}" (${dataTypeName(dataType)})`;
  if (tensor.data_location === DataLocation.EXTERNAL || (tensor.external_data?.length ?? 0) > 0) {
    const location = tensor.external_data?.find((e) => e.key === 'location')?.value ?? '?';
    throw new TearlessError(
      'TL_ERR_NOT_IMPLEMENTED',
      `The ${label} keeps its data in an external file (${location}); external data is not supported yet.`,
    );
  }
  if (tensor.segment) {
    throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `The ${label} is a segment of a larger tensor; segments are not supported.`);
  }
  const Ctor = ARRAY_OF[dataType];
  if (!Ctor) throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `Reading the ${label} as a typed array is not supported.`);
  const count = elementCount(tensorDims(tensor));
  const raw = tensor.raw_data;
  if (raw && raw.length > 0) {
    const width = Ctor.BYTES_PER_ELEMENT;
    if (raw.length !== count * width) {
      throw new TearlessError(
        'TL_ERR_MODEL_NOT_UNDERSTOOD',
        `The ${label} has ${raw.length} bytes of raw_data but its shape [${tensorDims(tensor).join(', ')}] needs ${count * width}.`,
      );
    }
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    if (!LITTLE_ENDIAN) swapBytes(copy, width);
    return new Ctor(copy.buffer, 0, count);
  }
  let out: TensorArray;
  switch (dataType) {
    case DataType.FLOAT:
      out = Float32Array.from(tensor.float_data ?? []);
      break;
    case DataType.DOUBLE:
      out = Float64Array.from(tensor.double_data ?? []);
      break;
    case DataType.INT64:
      out = BigInt64Array.from((tensor.int64_data ?? []).map(int64ToBigInt));
      break;
    case DataType.UINT64:
      out = BigUint64Array.from((tensor.uint64_data ?? []).map((v) => BigInt.asUintN(64, int64ToBigInt(v))));
      break;
    case DataType.UINT32:
      out = Uint32Array.from((tensor.uint64_data ?? []).map((v) => Number(int64ToBigInt(v))));
      break;
    default: {
      // INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 and BFLOAT16 bits live in int32_data.
      const src = tensor.int32_data ?? [];
      out = new Ctor(src.length);
      for (let i = 0; i < src.length; i++) (out as Int32Array)[i] = src[i];
    }
  }
  if (out.length !== count) {
    throw new TearlessError(
      'TL_ERR_MODEL_NOT_UNDERSTOOD',
      `The ${label} holds ${out.length} values but its shape [${tensorDims(tensor).join(', ')}] needs ${count}.`,
    );
  }
  return out;
}

/** A numeric tensor converted to float32 values (float16/bfloat16 decoded, integers converted). */
export function tensorToFloat32(tensor: TensorProto): Float32Array {
  const arr = tensorToArray(tensor);
  const dt = tensor.data_type;
  if (dt === DataType.FLOAT) return arr as Float32Array;
  const out = new Float32Array(arr.length);
  if (dt === DataType.FLOAT16) {
    for (let i = 0; i < arr.length; i++) out[i] = fromFloat16Bits((arr as Uint16Array)[i]);
  } else if (dt === DataType.BFLOAT16) {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < arr.length; i++) u[i] = (arr as Uint16Array)[i] << 16;
  } else {
    for (let i = 0; i < arr.length; i++) out[i] = Number(arr[i]);
  }
  return out;
}

/** The data type a typed array stands for, when that is unambiguous. */
function dataTypeOfArray(data: TensorArray): number | undefined {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int16Array) return DataType.INT16;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint32Array) return DataType.UINT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof BigUint64Array) return DataType.UINT64;
  return undefined; // Uint16Array: UINT16, FLOAT16 or BFLOAT16
}

/**
 * A TensorProto holding `data` (copied to little-endian raw_data). `dataType` may be left out
 * except for Uint16Array, which can be UINT16, FLOAT16 or BFLOAT16 bits.
 */
export function makeTensor(name: string, data: TensorArray, dims: readonly number[], dataType?: number): TensorProto {
  const dt = dataType ?? dataTypeOfArray(data);
  if (dt === undefined) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Tensor "${name}": give the data type of a Uint16Array (UINT16, FLOAT16 or BFLOAT16).`);
  }
  const Ctor = ARRAY_OF[dt];
  if (!Ctor || Ctor.BYTES_PER_ELEMENT !== data.BYTES_PER_ELEMENT) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Tensor "${name}": a ${data.constructor.name} cannot hold ${dataTypeName(dt)} values.`,
    );
  }
  if (elementCount(dims) !== data.length) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Tensor "${name}": shape [${dims.join(', ')}] needs ${elementCount(dims)} values but ${data.length} were given.`,
    );
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (!LITTLE_ENDIAN) swapBytes(raw, data.BYTES_PER_ELEMENT);
  return { dims: dims.map((d) => int64(d)), data_type: dt, name, raw_data: raw };
}

/** The initializer with that name, or undefined. */
export function getInitializer(target: ModelProto | GraphProto, name: string): TensorProto | undefined {
  return (graphOf(target).initializer ?? []).find((t) => t.name === name);
}

/** The sparse initializer with that name (its `values.name`), or undefined. */
export function getSparseInitializer(target: ModelProto | GraphProto, name: string): SparseTensorProto | undefined {
  return (graphOf(target).sparse_initializer ?? []).find((t) => t.values?.name === name);
}

/** An initializer's contents as a typed array; throws TL_ERR_BAD_OPTION when there is none. */
export function initializerArray(target: ModelProto | GraphProto, name: string): TensorArray {
  const t = getInitializer(target, name);
  if (!t) throw new TearlessError('TL_ERR_BAD_OPTION', `No initializer named "${name}".`);
  return tensorToArray(t);
}

/**
 * Create or replace an initializer. A replaced one keeps its position, doc_string and
 * metadata_props; if the graph also lists it as an input (IR < 4 style), that input's type is
 * updated to match.
 */
export function setInitializer(
  target: ModelProto | GraphProto,
  name: string,
  data: TensorArray,
  dims: readonly number[],
  dataType?: number,
): TensorProto {
  const graph = graphOf(target);
  const tensor = makeTensor(name, data, dims, dataType);
  graph.initializer ??= [];
  const index = graph.initializer.findIndex((t) => t.name === name);
  if (index >= 0) {
    const old = graph.initializer[index];
    if (old.doc_string) tensor.doc_string = old.doc_string;
    if (old.metadata_props?.length) tensor.metadata_props = old.metadata_props;
    graph.initializer[index] = tensor;
  } else {
    graph.initializer.push(tensor);
  }
  const asInput = (graph.input ?? []).findIndex((vi) => vi.name === name);
  if (asInput >= 0) {
    const vi = makeTensorValueInfo(name, tensor.data_type ?? 0, dims);
    const old = graph.input![asInput];
    if (old.doc_string) vi.doc_string = old.doc_string;
    graph.input![asInput] = vi;
  }
  return tensor;
}

/** Remove an initializer (and its entry in graph.input, if any); true when one was removed. */
export function removeInitializer(target: ModelProto | GraphProto, name: string): boolean {
  const graph = graphOf(target);
  const index = (graph.initializer ?? []).findIndex((t) => t.name === name);
  if (index < 0) return false;
  graph.initializer!.splice(index, 1);
  const asInput = (graph.input ?? []).findIndex((vi) => vi.name === name);
  if (asInput >= 0) graph.input!.splice(asInput, 1);
  return true;
}

// ------------------------------------------------------------------------------------------
// metadata_props and opsets
// ------------------------------------------------------------------------------------------

/** `metadata_props` as a record (later duplicates win, as in onnxruntime). */
export function getMetadata(model: ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of model.metadata_props ?? []) out[key ?? ''] = value ?? '';
  return out;
}

/** Set one `metadata_props` entry in place (appended when new); `undefined` removes the key. */
export function setMetadata(model: ModelProto, key: string, value: string | undefined): void {
  model.metadata_props ??= [];
  const props = model.metadata_props;
  const index = props.findIndex((p) => p.key === key);
  if (value === undefined) {
    for (let i = props.length - 1; i >= 0; i--) if (props[i].key === key) props.splice(i, 1);
  } else if (index >= 0) {
    props[index] = { key, value };
    for (let i = props.length - 1; i > index; i--) if (props[i].key === key) props.splice(i, 1);
  } else {
    props.push({ key, value });
  }
}

function sameDomain(a: string | undefined, b: string): boolean {
  const norm = (d: string | undefined): string => (!d || d === 'ai.onnx' ? '' : d);
  return norm(a) === norm(b);
}

/** The imported version of an operator set ('' and 'ai.onnx' are the default domain). */
export function getOpset(model: ModelProto, domain = ''): number | undefined {
  let version: number | undefined;
  for (const o of model.opset_import ?? []) {
    if (sameDomain(o.domain, domain)) version = Math.max(version ?? 0, int64ToNumber(o.version));
  }
  return version;
}

/** Set (or add) the imported version of an operator set. */
export function setOpset(model: ModelProto, version: number, domain = ''): void {
  model.opset_import ??= [];
  const entries = model.opset_import;
  const matching = entries.filter((o) => sameDomain(o.domain, domain));
  if (matching.length === 0) {
    const entry: OperatorSetIdProto = { domain, version: int64(version) };
    entries.push(entry);
    return;
  }
  matching[0].version = int64(version);
  for (const extra of matching.slice(1)) entries.splice(entries.indexOf(extra), 1);
}
