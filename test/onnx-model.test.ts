/**
 * ONNX in TypeScript (issue 5, scope 1): protobuf round trip of every model we have, graph
 * utilities, exposing activations for calibration and the opset 11 → 13 conversion.
 * onnxruntime runs single-threaded, one fixed input per model.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type protobuf from 'protobufjs';
import { BUNDLED_MODEL, FIXTURES, ROOT, fixtureModel, sharedData, maxAbsTensorDiff } from './helpers.js';
import { toFloat16Bits } from '../src/core/float16.js';
import {
  cloneModel,
  getInitializer,
  getMetadata,
  getOpset,
  graphInputs,
  graphOutputs,
  initializerArray,
  int64,
  int64ToBigInt,
  makeTensorValueInfo,
  readModel,
  removeInitializer,
  setInitializer,
  setMetadata,
  setOpset,
  tensorToArray,
  tensorToFloat32,
  tensorTypeOf,
  writeModel,
  type OnnxModel,
} from '../src/optimize/onnx/model.js';
import {
  attrInts,
  consumerMap,
  convertOpset,
  exposeAsOutputs,
  getAttribute,
  insertNodesAfter,
  makeAttribute,
  makeNode,
  nodeInputs,
  producerMap,
  removeNode,
  replaceUses,
  sortTopologically,
  topologicalOrder,
  uniqueName,
  valueInfoMap,
} from '../src/optimize/onnx/graph.js';
import { DataType, ModelProtoType, type NodeProto, type ValueInfoProto } from '../src/optimize/onnx/schema.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Every .onnx we can reach, once per file name (fixtures are byte copies of shared files). */
function allModels(): string[] {
  const dirs = [
    path.join(FIXTURES, 'models'),
    path.join(ROOT, 'models'),
    sharedData('models'),
    sharedData('reference'),
  ].filter((d): d is string => d !== null);
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.onnx') && !byName.has(f)) byName.set(f, path.join(dir, f));
    }
  }
  return [...byName.values()];
}

/**
 * A deterministic input per real graph input: symbolic batch → 1, other symbolic dims → 640
 * (the only model with dynamic spatial axes, the YOLOv5 export, bakes its 640 grid into the graph).
 */
function fixedFeeds(model: OnnxModel): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const vi of graphInputs(model)) {
    const type = tensorTypeOf(vi);
    assert.ok(type?.shape, `input ${vi.name} has a tensor type with a shape`);
    const dims = type.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : 640));
    const n = dims.reduce((a, b) => a * b, 1);
    const value = (i: number): number => ((i * 2654435761) % 1009) / 1009; // in [0, 1)
    const name = vi.name ?? '';
    switch (type.elemType) {
      case DataType.FLOAT:
        feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => value(i)), dims);
        break;
      case DataType.FLOAT16:
        feeds[name] = new ort.Tensor('float16', Uint16Array.from({ length: n }, (_, i) => toFloat16Bits(value(i))), dims);
        break;
      case DataType.UINT8:
        feeds[name] = new ort.Tensor('uint8', Uint8Array.from({ length: n }, (_, i) => Math.floor(255 * value(i))), dims);
        break;
      case DataType.INT64: // e.g. DETR-style orig_target_sizes
        feeds[name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => 320n), dims);
        break;
      default:
        assert.fail(`no test input for ${vi.name} of element type ${type.elemType}`);
    }
  }
  return feeds;
}

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function tensorBytes(t: ort.Tensor): Buffer {
  const d = t.data as ArrayBufferView;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}


/** The whole model as comparable plain data (int64 as strings, bytes as base64). */
function normalized(model: OnnxModel): unknown {
  return ModelProtoType.toObject(model as unknown as protobuf.Message, { longs: String, bytes: String, enums: Number });
}

/** Every edge producer → consumer goes forward in `order`. */
function assertRespectsEdges(model: OnnxModel, order: readonly NodeProto[]): void {
  const position = new Map(order.map((n, i) => [n, i]));
  assert.equal(position.size, model.graph.node!.length, 'each node exactly once');
  const producers = producerMap(model);
  for (const node of order) {
    for (const name of nodeInputs(node)) {
      const p = producers.get(name);
      if (p) assert.ok(position.get(p)! < position.get(node)!, `${name}: producer before consumer`);
    }
  }
}

const tensorInfo = (name: string, shape: number[]): ValueInfoProto => makeTensorValueInfo(name, DataType.FLOAT, shape);

function handMadeModel(nodes: NodeProto[], inputs: ValueInfoProto[], outputs: ValueInfoProto[], opset: number): OnnxModel {
  return {
    ir_version: 7,
    producer_name: 'tearless-test',
    opset_import: [{ domain: '', version: opset }],
    graph: { name: 'test', node: nodes, input: inputs, output: outputs, initializer: [] },
  };
}

const bundled = (): OnnxModel => readModel(readFileSync(BUNDLED_MODEL));

// ---------------------------------------------------------------------------------------------
// round trip
// ---------------------------------------------------------------------------------------------

describe('protobuf round trip', () => {
  for (const file of allModels()) {
    test(`${path.basename(file)}: read → write → read is the same model and runs bit-identically`, async () => {
      const original = readFileSync(file);
      const model = readModel(original);
      const written = writeModel(model);
      const again = readModel(written);

      // Equivalent graph: the same nodes (ops, names, inputs, outputs, attributes), initializer
      // bytes, inputs/outputs/value_info, opsets and metadata — compared field by field.
      assert.deepStrictEqual(normalized(again), normalized(model));
      const g = model.graph;
      const g2 = again.graph;
      assert.deepEqual(g2.node!.map((n) => n.op_type), g.node!.map((n) => n.op_type));
      assert.equal(g2.initializer!.length, g.initializer!.length);
      for (const [i, t] of g.initializer!.entries()) {
        assert.deepEqual(Buffer.from(tensorToArray(g2.initializer![i]).buffer), Buffer.from(tensorToArray(t).buffer), t.name);
      }
      assert.deepEqual(getMetadata(again), getMetadata(model));
      assert.equal(getOpset(again), getOpset(model));
      // All these files were written by the reference protobuf: re-encoding gives the very bytes.
      assert.ok(Buffer.from(written).equals(original), 'byte-identical re-encoding');

      const feeds = fixedFeeds(model);
      const [a, b] = [await runModel(original, feeds), await runModel(written, feeds)];
      assert.deepEqual(Object.keys(b), Object.keys(a));
      for (const k of Object.keys(a)) {
        assert.equal(b[k].type, a[k].type);
        assert.deepEqual(b[k].dims, a[k].dims);
        assert.ok(tensorBytes(b[k]).equals(tensorBytes(a[k])), `output ${k} bit-identical`);
      }
    });
  }

  test('unknown fields survive, top-level and nested', () => {
    const original = readFileSync(fixtureModel('ultraface_rfb_320_face.onnx'));
    // field 99 (varint 42) and field 100 (bytes "hello"): not in the ONNX schema
    const extra = Uint8Array.from([0x98, 0x06, 42, 0xa2, 0x06, 5, ...Buffer.from('hello')]);
    const withExtra = Buffer.concat([original, extra]);
    const model = readModel(withExtra);
    assert.ok(Buffer.from(writeModel(model)).equals(withExtra));

    // nested: an unknown field on a node (field 50, varint 7) and on a tensor type
    const node = model.graph.node![0] as NodeProto & { $unknowns?: Uint8Array[] };
    node.$unknowns = [Uint8Array.from([0x90, 0x03, 7])];
    const bytes = writeModel(model);
    const back = readModel(bytes);
    assert.deepEqual([...(back.graph.node![0] as { $unknowns?: Uint8Array[] }).$unknowns![0]], [0x90, 0x03, 7]);
    assert.ok(Buffer.from(writeModel(back)).equals(Buffer.from(bytes)));
  });

  test('int64 values stay exact', () => {
    const max = 9223372036854775807n;
    const min = -9223372036854775808n;
    const node = makeNode('Slice', ['x'], ['y'], { attributes: { ends: { ints: [max, min, -1, 5] }, axis: 2n ** 40n } });
    const model = handMadeModel([node], [tensorInfo('x', [4])], [tensorInfo('y', [4])], 9);
    model.model_version = int64(2n ** 62n + 1n);
    const back = readModel(writeModel(model));
    assert.deepEqual(attrInts(back.graph.node![0], 'ends'), [max, min, -1n, 5n]);
    assert.equal(int64ToBigInt(getAttribute(back.graph.node![0], 'axis')!.i), 2n ** 40n);
    assert.equal(int64ToBigInt(back.model_version), 2n ** 62n + 1n);
  });

  test('not an ONNX file: clear error', () => {
    assert.throws(() => readModel(readFileSync(path.join(FIXTURES, 'images', '000000000139.jpg'))), {
      code: 'TL_ERR_MODEL_NOT_ONNX',
      message: /Not an ONNX model/,
    });
    assert.throws(() => readModel(new Uint8Array()), { code: 'TL_ERR_MODEL_NOT_ONNX' });
  });
});

// ---------------------------------------------------------------------------------------------
// typed accessors
// ---------------------------------------------------------------------------------------------

describe('model accessors', () => {
  test('graph inputs exclude initializers listed as inputs', () => {
    const nanodet = readModel(readFileSync(fixtureModel('nanodet_m_320_coco.onnx')));
    assert.equal(nanodet.graph.input!.length, 186); // IR 6 export: weights listed as inputs
    assert.deepEqual(graphInputs(nanodet).map((vi) => vi.name), ['input.1']);
    assert.deepEqual(tensorTypeOf(graphInputs(nanodet)[0]), { elemType: DataType.FLOAT, shape: [1, 3, 320, 320] });
    assert.equal(graphOutputs(nanodet).length, 6);
    const yolox = bundled();
    assert.deepEqual(graphInputs(yolox).map((vi) => vi.name), ['images']);
    assert.deepEqual(graphOutputs(yolox).map((vi) => vi.name), ['output']);
  });

  test('initializers as typed arrays, from raw_data and from the typed fields', () => {
    const yolox = bundled();
    const conv = yolox.graph.node!.find((n) => n.op_type === 'Conv')!;
    const w = getInitializer(yolox, conv.input![1])!;
    const arr = initializerArray(yolox, conv.input![1]);
    assert.ok(arr instanceof Float32Array);
    assert.equal(arr.length, w.dims!.map((d) => Number(int64ToBigInt(d))).reduce((a, b) => a * b, 1));
    const raw = w.raw_data!;
    assert.equal(arr[0], Buffer.from(raw).readFloatLE(0));
    assert.equal(arr[arr.length - 1], Buffer.from(raw).readFloatLE(raw.length - 4));

    // the type-specific fields (what older exporters write instead of raw_data)
    const typed = (t: Record<string, unknown>) => tensorToArray({ name: 't', dims: [3], ...t });
    assert.deepEqual([...typed({ data_type: DataType.FLOAT, float_data: [1.5, -2, 3] })], [1.5, -2, 3]);
    assert.deepEqual([...typed({ data_type: DataType.INT8, int32_data: [-128, 0, 127] })], [-128, 0, 127]);
    assert.deepEqual([...typed({ data_type: DataType.UINT8, int32_data: [0, 1, 255] })], [0, 1, 255]);
    assert.deepEqual([...typed({ data_type: DataType.INT32, int32_data: [-7, 0, 2 ** 31 - 1] })], [-7, 0, 2 ** 31 - 1]);
    assert.deepEqual([...typed({ data_type: DataType.INT64, int64_data: [int64(-(2n ** 62n)), 0, 9] })], [-(2n ** 62n), 0n, 9n]);
    const half = typed({ data_type: DataType.FLOAT16, int32_data: [0x3c00, 0xc000, 0x3800] });
    assert.deepEqual([...half], [0x3c00, 0xc000, 0x3800]);
    assert.deepEqual([...tensorToFloat32({ name: 'h', dims: [3], data_type: DataType.FLOAT16, int32_data: [0x3c00, 0xc000, 0x3800] })], [1, -2, 0.5]);
    assert.throws(() => typed({ data_type: DataType.FLOAT, float_data: [1] }), /holds 1 values but its shape \[3\] needs 3/);
    assert.throws(
      () => typed({ data_type: DataType.FLOAT, data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }] }),
      { code: 'TL_ERR_NOT_IMPLEMENTED', message: /external file \(w\.bin\)/ },
    );
  });

  test('setInitializer: float32/float16/int8/uint8/int32/int64 survive the round trip', () => {
    const model = bundled();
    const cases = [
      { name: 'f32', data: Float32Array.of(1.25, -0, Infinity, 3e-38), dt: undefined, expect: DataType.FLOAT },
      { name: 'f16', data: Uint16Array.of(0x3c00, 0x7bff, 0x8001, 0), dt: DataType.FLOAT16, expect: DataType.FLOAT16 },
      { name: 'i8', data: Int8Array.of(-128, -1, 0, 127), dt: undefined, expect: DataType.INT8 },
      { name: 'u8', data: Uint8Array.of(0, 1, 128, 255), dt: undefined, expect: DataType.UINT8 },
      { name: 'i32', data: Int32Array.of(-(2 ** 31), -1, 0, 2 ** 31 - 1), dt: undefined, expect: DataType.INT32 },
      { name: 'i64', data: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n), dt: undefined, expect: DataType.INT64 },
    ] as const;
    for (const c of cases) setInitializer(model, c.name, c.data, [2, 2], c.dt);
    const back = readModel(writeModel(model));
    for (const c of cases) {
      const t = getInitializer(back, c.name)!;
      assert.equal(t.data_type, c.expect, c.name);
      assert.deepEqual([...initializerArray(back, c.name)], [...c.data], c.name);
    }
    // replacing keeps the position; removing drops it
    const names = back.graph.initializer!.map((t) => t.name);
    setInitializer(back, 'i8', Int8Array.of(5), [1]);
    assert.deepEqual(back.graph.initializer!.map((t) => t.name), names);
    assert.deepEqual([...initializerArray(back, 'i8')], [5]);
    assert.ok(removeInitializer(back, 'i8'));
    assert.equal(getInitializer(back, 'i8'), undefined);
    assert.throws(() => setInitializer(back, 'x', Uint16Array.of(1), [1]), /give the data type of a Uint16Array/);
    assert.throws(() => setInitializer(back, 'x', Float32Array.of(1, 2), [3]), /needs 3 values but 2 were given/);
    assert.throws(() => setInitializer(back, 'x', Float32Array.of(1), [1], DataType.INT64), /cannot hold INT64/);
  });

  test('setInitializer writes what onnxruntime reads (little-endian raw_data)', async () => {
    const model = handMadeModel(
      [makeNode('Add', ['x', 'w'], ['y'])],
      [tensorInfo('x', [2, 3])],
      [tensorInfo('y', [2, 3])],
      13,
    );
    const w = Float32Array.of(0.5, -1, 2, 1e-3, 1e3, -0.25);
    setInitializer(model, 'w', w, [2, 3]);
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const out = await runModel(writeModel(model), { x: new ort.Tensor('float32', x, [2, 3]) });
    assert.deepEqual([...(out.y.data as Float32Array)], [...x].map((v, i) => Math.fround(v + w[i])));
  });

  test('metadata_props and opsets: get and set', () => {
    const model = bundled();
    assert.deepEqual(getMetadata(model), {});
    setMetadata(model, 'names', '{0: "person"}');
    setMetadata(model, 'stride', '32');
    setMetadata(model, 'names', '{0: "car"}');
    setMetadata(model, 'stride', undefined);
    setMetadata(model, 'imgsz', '[416, 416]');
    const back = readModel(writeModel(model));
    assert.deepEqual(getMetadata(back), { names: '{0: "car"}', imgsz: '[416, 416]' });
    assert.deepEqual(back.metadata_props!.map((p) => p.key), ['names', 'imgsz']);

    assert.equal(getOpset(back), 11);
    assert.equal(getOpset(back, 'ai.onnx'), 11);
    assert.equal(getOpset(back, 'com.microsoft'), undefined);
    setOpset(back, 12);
    setOpset(back, 1, 'com.microsoft');
    const again = readModel(writeModel(back));
    assert.equal(getOpset(again), 12);
    assert.equal(getOpset(again, 'com.microsoft'), 1);

    const ultralytics = sharedData('models/yolov8n_int8dyn_640_coco_AGPL.onnx');
    if (ultralytics) {
      const meta = getMetadata(readModel(readFileSync(ultralytics)));
      assert.ok(meta.names?.includes('person') && meta.imgsz, 'Ultralytics metadata readable');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// graph utilities
// ---------------------------------------------------------------------------------------------

describe('graph utilities', () => {
  test('topological order respects every edge (every model; shuffled YOLOX is re-sorted)', () => {
    for (const file of allModels()) {
      const model = readModel(readFileSync(file));
      const order = topologicalOrder(model);
      assertRespectsEdges(model, order);
      // these files are sorted already; the depth-first order keeps that order exactly
      assert.ok(order.every((n, i) => n === model.graph.node![i]), `${path.basename(file)} order kept`);
    }
    const yolox = bundled();
    const nodes = yolox.graph.node!;
    const shuffled = nodes.map((n, i) => ({ n, k: (i * 7919) % 1013 })).sort((a, b) => a.k - b.k).map((x) => x.n);
    yolox.graph.node = shuffled;
    sortTopologically(yolox);
    assertRespectsEdges(yolox, yolox.graph.node);
  });

  test('a cyclic graph raises, naming the cycle', () => {
    const model = handMadeModel(
      [
        makeNode('Add', ['x', 'c'], ['a'], { name: 'A' }),
        makeNode('Relu', ['a'], ['b'], { name: 'B' }),
        makeNode('Neg', ['b'], ['c'], { name: 'C' }),
        makeNode('Relu', ['x'], ['y'], { name: 'D' }),
      ],
      [tensorInfo('x', [1])],
      [tensorInfo('y', [1])],
      13,
    );
    assert.throws(() => topologicalOrder(model), {
      code: 'TL_ERR_MODEL_NOT_UNDERSTOOD',
      message: /cycle: "A" \(Add\) ← "C" \(Neg\) ← "B" \(Relu\) ← "A" \(Add\)/,
    });
    const selfLoop = handMadeModel([makeNode('Relu', ['z'], ['z'], { name: 'S' })], [], [tensorInfo('z', [1])], 13);
    assert.throws(() => topologicalOrder(selfLoop), /cycle: "S" \(Relu\) ← "S"/);
  });

  test('producers, consumers and value info', () => {
    const yolox = bundled();
    const producers = producerMap(yolox);
    const consumers = consumerMap(yolox);
    const first = yolox.graph.node![0];
    assert.equal(producers.get(first.output![0]), first);
    assert.ok(consumers.get('images')!.includes(first));
    assert.equal(producers.get('output')!.op_type, yolox.graph.node!.at(-1)!.op_type);
    const infos = valueInfoMap(yolox);
    assert.deepEqual(tensorTypeOf(infos.get('images')), { elemType: DataType.FLOAT, shape: [1, 3, 416, 416] });
    assert.equal(tensorTypeOf(infos.get('output'))!.shape!.length, 3);
    const w = yolox.graph.initializer![0];
    assert.deepEqual(tensorTypeOf(infos.get(w.name!))!.shape, w.dims!.map((d) => Number(int64ToBigInt(d))));
    assert.ok(tensorTypeOf(infos.get(first.output![0])), 'intermediate value_info');
  });

  test('insert and remove a node on an edge; unique names', async () => {
    const original = readFileSync(BUNDLED_MODEL);
    const model = readModel(original);
    const conv = model.graph.node!.find((n) => n.op_type === 'Conv')!;
    const out = conv.output![0];
    const id = uniqueName(model, out);
    assert.notEqual(id, out);
    assert.equal(uniqueName(model, 'fresh_name'), 'fresh_name');
    const rewired = replaceUses(model, out, id);
    assert.ok(rewired >= 1);
    const identity = makeNode('Identity', [out], [id], { name: uniqueName(model, 'probe') });
    insertNodesAfter(model, conv, [identity]);
    assertRespectsEdges(model, topologicalOrder(model));
    const feeds = fixedFeeds(model);
    const [a, b] = [await runModel(original, feeds), await runModel(writeModel(model), feeds)];
    assert.ok(tensorBytes(b.output).equals(tensorBytes(a.output)));

    removeNode(model, identity, { replaceOutputsWith: [out] });
    assert.ok(Buffer.from(writeModel(model)).equals(original), 'back to the original bytes');
    const last = model.graph.node!.at(-1)!;
    assert.throws(() => removeNode(model, last), /is a graph output/);
  });

  test('exposeAsOutputs on YOLOX-nano: every activation appears, the original output is bit-identical', async () => {
    const original = readFileSync(BUNDLED_MODEL);
    const model = readModel(original);
    const names = model.graph.node!.flatMap((n) => n.output ?? []);
    const added = exposeAsOutputs(model, names);
    assert.equal(added.length, names.length - 1); // all but 'output', which already is one
    assert.equal(exposeAsOutputs(model, names).length, 0, 'idempotent');
    const byName = new Map(model.graph.output!.map((vi) => [vi.name, vi]));
    assert.ok(tensorTypeOf(byName.get(added[0])), 'value info carried over');
    const original0 = model.graph.value_info!.find((vi) => vi.name === added[0])!;
    assert.deepEqual(tensorTypeOf(byName.get(added[0])), tensorTypeOf(original0));
    assert.notEqual(byName.get(added[0])!.type, original0.type, 'a copy, not the same message');
    assert.throws(() => exposeAsOutputs(model, ['no_such_tensor']), { code: 'TL_ERR_BAD_OPTION', message: /No tensor named/ });
    assert.throws(() => exposeAsOutputs(model, [model.graph.initializer![0].name!]), /is an initializer/);

    const feeds = fixedFeeds(model);
    const [a, b] = [await runModel(original, feeds), await runModel(writeModel(model), feeds)];
    assert.deepEqual(Object.keys(b).sort(), ['output', ...added].sort());
    assert.ok(tensorBytes(b.output).equals(tensorBytes(a.output)), 'original output bit-identical');
    const conv = model.graph.node!.find((n) => n.op_type === 'Conv')!;
    assert.equal(b[conv.output![0]].dims.length, 4);
  });

  test('exposeAsOutputs without value info: untyped outputs run in onnxruntime', async () => {
    const original = readFileSync(fixtureModel('ultraface_rfb_320_face.onnx'));
    const model = readModel(original);
    assert.equal(model.graph.value_info!.length, 0);
    const relus = model.graph.node!.filter((n) => n.op_type === 'Relu').map((n) => n.output![0]);
    exposeAsOutputs(model, relus);
    assert.equal(model.graph.output!.at(-1)!.type, undefined);
    const feeds = fixedFeeds(model);
    const [a, b] = [await runModel(original, feeds), await runModel(writeModel(model), feeds)];
    for (const k of Object.keys(a)) assert.ok(tensorBytes(b[k]).equals(tensorBytes(a[k])), k);
    assert.equal(b[relus[0]].type, 'float32');
  });
});

// ---------------------------------------------------------------------------------------------
// opset conversion
// ---------------------------------------------------------------------------------------------

describe('convertOpset 11 → 13', () => {
  const detectors = [
    { name: 'YOLOX-nano', file: BUNDLED_MODEL, opset: 11 },
    { name: 'NanoDet-m', file: fixtureModel('nanodet_m_320_coco.onnx'), opset: 11 },
    { name: 'PicoDet-s', file: sharedData('models/picodet_s_320_coco.onnx'), opset: 11 },
    { name: 'HyperLPR3 plate YOLOv5 (opset 12)', file: fixtureModel('hyperlpr3_y5fu_320_plate.onnx'), opset: 12 },
  ];
  for (const { name, file, opset } of detectors) {
    test(`${name}: outputs within 1e-6, opset 13, metadata kept`, { skip: file ? false : 'no ../shared/data' }, async () => {
      const original = readFileSync(file!);
      const model = readModel(original);
      assert.equal(getOpset(model), opset);
      setMetadata(model, 'names', '{0: "person"}');
      const before = writeModel(model);
      const splits = model.graph.node!.filter((n) => n.op_type === 'Split' && getAttribute(n, 'split'));

      const converted = convertOpset(cloneModel(model), 13);
      assert.equal(getOpset(converted), 13);
      assert.deepEqual(converted.opset_import!.map((o) => o.domain), model.opset_import!.map((o) => o.domain));
      assert.deepEqual(getMetadata(converted), getMetadata(model));
      for (const s of converted.graph.node!.filter((n) => n.op_type === 'Split')) {
        assert.equal(getAttribute(s, 'split'), undefined);
      }
      if (splits.length) {
        const s = converted.graph.node!.find((n) => n.name === splits[0].name)!;
        assert.deepEqual([...initializerArray(converted, s.input![1])], attrInts(splits[0], 'split'));
      }
      assertRespectsEdges(converted, topologicalOrder(converted));

      const feeds = fixedFeeds(model);
      const [a, b] = [await runModel(before, feeds), await runModel(writeModel(converted), feeds)];
      assert.deepEqual(Object.keys(b), Object.keys(a));
      for (const k of Object.keys(a)) assert.ok(maxAbsTensorDiff(a[k], b[k]) <= 1e-6, `${k}: max abs diff ${maxAbsTensorDiff(a[k], b[k])}`);
    });
  }

  test('Softmax family, Split, Squeeze/Unsqueeze and ReduceSum on a hand-made graph', async () => {
    const nodes = [
      makeNode('Softmax', ['x'], ['s_default'], { name: 'softmax_default' }), // 11: axis 1 over the flattened tail
      makeNode('Softmax', ['x'], ['s_last'], { name: 'softmax_last', attributes: { axis: 2 } }),
      makeNode('LogSoftmax', ['x'], ['ls_neg'], { name: 'logsoftmax_neg', attributes: { axis: -2 } }),
      makeNode('Hardmax', ['x'], ['h0'], { name: 'hardmax_0', attributes: { axis: 0 } }),
      makeNode('Split', ['x'], ['p1', 'p2'], { name: 'split', attributes: { axis: 2, split: { ints: [1, 3] } } }),
      makeNode('Unsqueeze', ['p1'], ['u'], { name: 'unsqueeze', attributes: { axes: { ints: [0] } } }),
      makeNode('Squeeze', ['u'], ['q'], { name: 'squeeze', attributes: { axes: { ints: [0, 3] } } }),
      makeNode('ReduceSum', ['x'], ['r'], { name: 'reducesum', attributes: { axes: { ints: [1] }, keepdims: 0 } }),
    ];
    const outputs = [
      tensorInfo('s_default', [2, 3, 4]),
      tensorInfo('s_last', [2, 3, 4]),
      tensorInfo('ls_neg', [2, 3, 4]),
      tensorInfo('h0', [2, 3, 4]),
      tensorInfo('p2', [2, 3, 3]),
      tensorInfo('q', [2, 3]),
      tensorInfo('r', [2, 4]),
    ];
    const model = handMadeModel(nodes, [tensorInfo('x', [2, 3, 4])], outputs, 11);
    setMetadata(model, 'k', 'v');
    const before = writeModel(model);
    const converted = convertOpset(readModel(before), 13);
    const ops = converted.graph.node!.map((n) => n.op_type);
    assert.equal(ops.filter((o) => o === 'Reshape').length, 3, 'default-axis Softmax, LogSoftmax at -2 and Hardmax at 0 are flattened');
    for (const n of converted.graph.node!) {
      assert.equal(getAttribute(n, 'split'), undefined);
      assert.equal(getAttribute(n, 'axes'), undefined);
    }
    const softmaxLast = converted.graph.node!.find((n) => n.name === 'softmax_last')!;
    assert.deepEqual(softmaxLast.input, ['x'], 'axis = last dim: kept in place');
    assert.deepEqual(getMetadata(converted), { k: 'v' });
    assertRespectsEdges(converted, topologicalOrder(converted));

    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 3);
    const feeds = { x: new ort.Tensor('float32', x, [2, 3, 4]) };
    const [a, b] = [await runModel(before, feeds), await runModel(writeModel(converted), feeds)];
    for (const k of Object.keys(a)) assert.ok(maxAbsTensorDiff(a[k], b[k]) <= 1e-6, `${k}: ${maxAbsTensorDiff(a[k], b[k])}`);
  });

  test('unsupported ops and opsets: clear errors, model untouched', () => {
    const model = handMadeModel(
      [
        makeNode('Split', ['x'], ['a', 'b'], { attributes: { split: { ints: [1, 1] } } }),
        makeNode('Dropout', ['a'], ['d'], { name: 'drop', attributes: { ratio: { float: 0.5 } } }),
      ],
      [tensorInfo('x', [2])],
      [tensorInfo('d', [1])],
      11,
    );
    assert.throws(() => convertOpset(model, 13), {
      code: 'TL_ERR_MODEL_NOT_UNDERSTOOD',
      message: /Cannot convert node "drop" \(Dropout\) to opset 13: Dropout-12 takes ratio as an input/,
    });
    assert.ok(getAttribute(model.graph.node![0], 'split'), 'nothing changed before the error');
    assert.equal(getOpset(model), 11);
    model.graph.node![1] = makeNode('Upsample', ['a', 's'], ['d']);
    assert.throws(() => convertOpset(model, 13), /Upsample is deprecated since opset 10/);
    model.graph.node![1] = makeNode('MyCustomOp', ['a'], ['d']);
    assert.throws(() => convertOpset(model, 13), /no 11 → 13 rule for this operator/);
    model.graph.node![1] = makeNode('MyCustomOp', ['a'], ['d'], { domain: 'com.example' });
    assert.equal(getOpset(convertOpset(model, 13)), 13, 'other domains are left alone');

    const ultraface = readModel(readFileSync(fixtureModel('ultraface_rfb_320_face.onnx')));
    assert.throws(() => convertOpset(ultraface, 13), { code: 'TL_ERR_NOT_IMPLEMENTED', message: /9 → 13 is not supported/ });
    assert.equal(convertOpset(ultraface, 9), ultraface, 'same opset: no-op');
    assert.equal(makeAttribute('x', 1).type, 2);
  });
});
