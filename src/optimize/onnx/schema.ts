/**
 * The ONNX protobuf schema (onnx/onnx.proto up to IR version 12, plus `TypeProto.Opaque` from
 * onnx-ml.proto) as a protobufjs JSON descriptor, written by hand from the spec. Field names are
 * the spec's snake_case names and every field number is the spec's, so a decoded message reads
 * like the `.proto` file.
 *
 * onnx.proto is `syntax = "proto2"`, and the descriptor is marked as proto2 too. That matters for
 * the round trip: proto2 fields have explicit presence (a field that was on the wire is written
 * back even when it holds its default, e.g. `AttributeProto.i = 0`), and repeated scalars are
 * unpacked unless the spec says `[packed = true]` (only the `*_data` fields of TensorProto). With
 * the same encoding rules and protobufjs's field-number ordering, re-encoding a model written by
 * the reference C++/Python protobuf gives the same bytes.
 *
 * Unknown fields (a newer spec, vendor extensions): protobufjs 8 keeps them in `$unknowns` on the
 * decoded message and writes them back — but only when the Reader has `discardUnknown = false`
 * (the library default is to drop them). `model.ts` decodes with such a reader.
 */
import protobuf from 'protobufjs';

type Json = Record<string, unknown>;

const str = (id: number): Json => ({ type: 'string', id });
const bytes = (id: number): Json => ({ type: 'bytes', id });
const int32 = (id: number): Json => ({ type: 'int32', id });
const int64 = (id: number): Json => ({ type: 'int64', id });
const msg = (type: string, id: number): Json => ({ type, id });
const rep = (type: string, id: number, packed = false): Json =>
  packed ? { rule: 'repeated', type, id, options: { packed: true } } : { rule: 'repeated', type, id };

/** The descriptor of package `onnx` (messages and enums in the order of onnx.proto). */
// Enums are declared once and used both by the descriptor and by callers.

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

const ONNX_MESSAGES: Record<string, Json> = {
  Version: {
    values: {
      _START_VERSION: 0,
      IR_VERSION_2017_10_10: 1,
      IR_VERSION_2017_10_30: 2,
      IR_VERSION_2017_11_3: 3,
      IR_VERSION_2019_1_22: 4,
      IR_VERSION_2019_3_18: 5,
      IR_VERSION_2019_9_19: 6,
      IR_VERSION_2020_5_8: 7,
      IR_VERSION_2021_7_30: 8,
      IR_VERSION_2023_5_5: 9,
      IR_VERSION_2024_3_25: 10,
      IR_VERSION_2025_05_12: 11,
      IR_VERSION_2025_08_26: 12,
      IR_VERSION: 13,
    },
  },
  AttributeProto: {
    reserved: [[12, 12], [16, 19], 'v'],
    nested: {
      AttributeType: { values: { ...AttributeType } },
    },
    fields: {
      name: str(1),
      ref_attr_name: str(21),
      doc_string: str(13),
      type: msg('AttributeType', 20),
      f: { type: 'float', id: 2 },
      i: int64(3),
      s: bytes(4),
      t: msg('TensorProto', 5),
      g: msg('GraphProto', 6),
      sparse_tensor: msg('SparseTensorProto', 22),
      tp: msg('TypeProto', 14),
      floats: rep('float', 7),
      ints: rep('int64', 8),
      strings: rep('bytes', 9),
      tensors: rep('TensorProto', 10),
      graphs: rep('GraphProto', 11),
      sparse_tensors: rep('SparseTensorProto', 23),
      type_protos: rep('TypeProto', 15),
    },
  },
  ValueInfoProto: {
    fields: {
      name: str(1),
      type: msg('TypeProto', 2),
      doc_string: str(3),
      metadata_props: rep('StringStringEntryProto', 4),
    },
  },
  NodeProto: {
    fields: {
      input: rep('string', 1),
      output: rep('string', 2),
      name: str(3),
      op_type: str(4),
      domain: str(7),
      overload: str(8),
      attribute: rep('AttributeProto', 5),
      doc_string: str(6),
      metadata_props: rep('StringStringEntryProto', 9),
      device_configurations: rep('NodeDeviceConfigurationProto', 10),
    },
  },
  IntIntListEntryProto: {
    fields: { key: int64(1), value: rep('int64', 2) },
  },
  NodeDeviceConfigurationProto: {
    fields: {
      configuration_id: str(1),
      sharding_spec: rep('ShardingSpecProto', 2),
      pipeline_stage: int32(3),
    },
  },
  ShardingSpecProto: {
    fields: {
      tensor_name: str(1),
      device: rep('int64', 2),
      index_to_device_group_map: rep('IntIntListEntryProto', 3),
      sharded_dim: rep('ShardedDimProto', 4),
    },
  },
  ShardedDimProto: {
    fields: { axis: int64(1), simple_sharding: rep('SimpleShardedDimProto', 2) },
  },
  SimpleShardedDimProto: {
    oneofs: { dim: { oneof: ['dim_value', 'dim_param'] } },
    fields: { dim_value: int64(1), dim_param: str(2), num_shards: int64(3) },
  },
  TrainingInfoProto: {
    fields: {
      initialization: msg('GraphProto', 1),
      algorithm: msg('GraphProto', 2),
      initialization_binding: rep('StringStringEntryProto', 3),
      update_binding: rep('StringStringEntryProto', 4),
    },
  },
  ModelProto: {
    fields: {
      ir_version: int64(1),
      opset_import: rep('OperatorSetIdProto', 8),
      producer_name: str(2),
      producer_version: str(3),
      domain: str(4),
      model_version: int64(5),
      doc_string: str(6),
      graph: msg('GraphProto', 7),
      metadata_props: rep('StringStringEntryProto', 14),
      training_info: rep('TrainingInfoProto', 20),
      functions: rep('FunctionProto', 25),
      configuration: rep('DeviceConfigurationProto', 26),
    },
  },
  DeviceConfigurationProto: {
    fields: { name: str(1), num_devices: int32(2), device: rep('string', 3) },
  },
  StringStringEntryProto: {
    fields: { key: str(1), value: str(2) },
  },
  TensorAnnotation: {
    fields: {
      tensor_name: str(1),
      quant_parameter_tensor_names: rep('StringStringEntryProto', 2),
    },
  },
  GraphProto: {
    reserved: [[3, 4], [6, 9], 'ir_version', 'producer_version', 'producer_tag', 'domain'],
    fields: {
      node: rep('NodeProto', 1),
      name: str(2),
      initializer: rep('TensorProto', 5),
      sparse_initializer: rep('SparseTensorProto', 15),
      doc_string: str(10),
      input: rep('ValueInfoProto', 11),
      output: rep('ValueInfoProto', 12),
      value_info: rep('ValueInfoProto', 13),
      quantization_annotation: rep('TensorAnnotation', 14),
      metadata_props: rep('StringStringEntryProto', 16),
    },
  },
  TensorProto: {
    nested: {
      DataType: { values: { ...DataType } },
      Segment: { fields: { begin: int64(1), end: int64(2) } },
      DataLocation: { values: { ...DataLocation } },
    },
    fields: {
      dims: rep('int64', 1),
      data_type: int32(2),
      segment: msg('Segment', 3),
      float_data: rep('float', 4, true),
      int32_data: rep('int32', 5, true),
      string_data: rep('bytes', 6),
      int64_data: rep('int64', 7, true),
      name: str(8),
      doc_string: str(12),
      raw_data: bytes(9),
      external_data: rep('StringStringEntryProto', 13),
      data_location: msg('DataLocation', 14),
      double_data: rep('double', 10, true),
      uint64_data: rep('uint64', 11, true),
      metadata_props: rep('StringStringEntryProto', 16),
    },
  },
  SparseTensorProto: {
    fields: { values: msg('TensorProto', 1), indices: msg('TensorProto', 2), dims: rep('int64', 3) },
  },
  TensorShapeProto: {
    nested: {
      Dimension: {
        oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
        fields: { dim_value: int64(1), dim_param: str(2), denotation: str(3) },
      },
    },
    fields: { dim: rep('Dimension', 1) },
  },
  TypeProto: {
    nested: {
      Tensor: { fields: { elem_type: int32(1), shape: msg('TensorShapeProto', 2) } },
      Sequence: { fields: { elem_type: msg('TypeProto', 1) } },
      Map: { fields: { key_type: int32(1), value_type: msg('TypeProto', 2) } },
      Optional: { fields: { elem_type: msg('TypeProto', 1) } },
      SparseTensor: { fields: { elem_type: int32(1), shape: msg('TensorShapeProto', 2) } },
      // onnx-ml.proto only (ONNX_ML builds, the default of the onnx Python package).
      Opaque: { fields: { domain: str(1), name: str(2) } },
    },
    oneofs: {
      value: {
        oneof: ['tensor_type', 'sequence_type', 'map_type', 'optional_type', 'sparse_tensor_type', 'opaque_type'],
      },
    },
    fields: {
      tensor_type: msg('Tensor', 1),
      sequence_type: msg('Sequence', 4),
      map_type: msg('Map', 5),
      optional_type: msg('Optional', 9),
      sparse_tensor_type: msg('SparseTensor', 8),
      opaque_type: msg('Opaque', 7),
      denotation: str(6),
    },
  },
  OperatorSetIdProto: {
    fields: { domain: str(1), version: int64(2) },
  },
  OperatorStatus: {
    values: { EXPERIMENTAL: 0, STABLE: 1 },
  },
  FunctionProto: {
    reserved: [[2, 3], 'since_version', 'status'],
    fields: {
      name: str(1),
      input: rep('string', 4),
      output: rep('string', 5),
      attribute: rep('string', 6),
      attribute_proto: rep('AttributeProto', 11),
      node: rep('NodeProto', 7),
      doc_string: str(8),
      opset_import: rep('OperatorSetIdProto', 9),
      domain: str(10),
      overload: str(13),
      value_info: rep('ValueInfoProto', 12),
      metadata_props: rep('StringStringEntryProto', 14),
    },
  },
};

/** The protobufjs root holding package `onnx`; every top-level type is proto2 like onnx.proto. */
export const onnxRoot: protobuf.Root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: Object.fromEntries(
        Object.entries(ONNX_MESSAGES).map(([name, def]) => [name, { ...def, edition: 'proto2' }]),
      ),
    },
  },
} as unknown as protobuf.INamespace);

export const ModelProtoType: protobuf.Type = onnxRoot.lookupType('onnx.ModelProto');
export const GraphProtoType: protobuf.Type = onnxRoot.lookupType('onnx.GraphProto');
export const NodeProtoType: protobuf.Type = onnxRoot.lookupType('onnx.NodeProto');
export const TensorProtoType: protobuf.Type = onnxRoot.lookupType('onnx.TensorProto');
export const TypeProtoType: protobuf.Type = onnxRoot.lookupType('onnx.TypeProto');

// ---------------------------------------------------------------------------------------------
// TypeScript view of the decoded messages. Scalars are optional because proto2 fields may be
// absent (a decoded message falls back to the default through its prototype; a hand-built plain
// object simply lacks the key). int64 fields decode as Long objects (exact); when writing, a
// number, a decimal string or a Long is accepted. Repeated fields of decoded messages are own
// arrays and may be mutated.
// ---------------------------------------------------------------------------------------------

/** An int64 value: Long when decoded; number (safe integer), decimal string or Long when built. */
export type Int64 = protobuf.Long | number | string;

export type DataTypeId = number;

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}

export interface TensorProto {
  dims?: Int64[];
  data_type?: number;
  segment?: { begin?: Int64; end?: Int64 } | null;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntryProto[];
  data_location?: number;
  double_data?: number[];
  uint64_data?: Int64[];
  metadata_props?: StringStringEntryProto[];
}

export interface SparseTensorProto {
  values?: TensorProto | null;
  indices?: TensorProto | null;
  dims?: Int64[];
}

export interface TensorShapeDimension {
  dim_value?: Int64;
  dim_param?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim?: TensorShapeDimension[];
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  sequence_type?: { elem_type?: TypeProto | null } | null;
  map_type?: { key_type?: number; value_type?: TypeProto | null } | null;
  optional_type?: { elem_type?: TypeProto | null } | null;
  sparse_tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  opaque_type?: { domain?: string; name?: string } | null;
  denotation?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto | null;
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
}

export interface AttributeProto {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  sparse_tensor?: SparseTensorProto | null;
  tp?: TypeProto | null;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  sparse_tensors?: SparseTensorProto[];
  type_protos?: TypeProto[];
}

export interface NodeDeviceConfigurationProto {
  configuration_id?: string;
  sharding_spec?: unknown[];
  pipeline_stage?: number;
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
  device_configurations?: NodeDeviceConfigurationProto[];
}

export interface TensorAnnotation {
  tensor_name?: string;
  quant_parameter_tensor_names?: StringStringEntryProto[];
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: SparseTensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  quantization_annotation?: TensorAnnotation[];
  metadata_props?: StringStringEntryProto[];
}

export interface TrainingInfoProto {
  initialization?: GraphProto | null;
  algorithm?: GraphProto | null;
  initialization_binding?: StringStringEntryProto[];
  update_binding?: StringStringEntryProto[];
}

export interface FunctionProto {
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attribute_proto?: AttributeProto[];
  node?: NodeProto[];
  doc_string?: string;
  opset_import?: OperatorSetIdProto[];
  domain?: string;
  overload?: string;
  value_info?: ValueInfoProto[];
  metadata_props?: StringStringEntryProto[];
}

export interface DeviceConfigurationProto {
  name?: string;
  num_devices?: number;
  device?: string[];
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto | null;
  metadata_props?: StringStringEntryProto[];
  training_info?: TrainingInfoProto[];
  functions?: FunctionProto[];
  configuration?: DeviceConfigurationProto[];
}
