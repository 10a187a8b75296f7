/**
 * Read what onnxruntime's JS API does not expose from an `.onnx` file: `metadata_props`
 * (Ultralytics stores `names`, `stride`, `imgsz` there), the producer, opsets and the set of
 * operator types. Decoded with protobufjs against the needed subset of onnx.proto
 * (field numbers from the ONNX IR spec); all other fields are skipped unread.
 */
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        NodeProto: { fields: { opType: { type: 'string', id: 4 }, domain: { type: 'string', id: 7 } } },
        GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 }, name: { type: 'string', id: 2 } } },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
      },
    },
  },
});
const ModelProto = root.lookupType('onnx.ModelProto');

export interface OnnxFileInfo {
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  opTypes: string[];
}

/** Parse the model header; throws when the bytes are not an ONNX ModelProto. */
export function readOnnxFileInfo(bytes: Uint8Array): OnnxFileInfo {
  const msg = ModelProto.decode(bytes);
  const obj = ModelProto.toObject(msg, { longs: Number, defaults: true }) as {
    irVersion: number;
    producerName: string;
    producerVersion: string;
    graph?: { node?: { opType: string }[] };
    opsetImport: { domain: string; version: number }[];
    metadataProps: { key: string; value: string }[];
  };
  if (!obj.irVersion || !obj.graph) throw new Error('no ir_version or graph: not an ONNX model');
  const metadata: Record<string, string> = {};
  for (const { key, value } of obj.metadataProps) metadata[key] = value;
  const opsets: Record<string, number> = {};
  for (const { domain, version } of obj.opsetImport) opsets[domain || 'ai.onnx'] = version;
  const opTypes = [...new Set((obj.graph.node ?? []).map((n) => n.opType))].sort();
  return {
    irVersion: obj.irVersion,
    producer: [obj.producerName, obj.producerVersion].filter(Boolean).join(' '),
    opsets,
    metadata,
    opTypes,
  };
}
