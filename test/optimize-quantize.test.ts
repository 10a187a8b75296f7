/**
 * INT8 quantizer (issue 5, src/optimize/quantize): scale / zero-point arithmetic, QDQ and
 * QOperator static quantization of small hand-built graphs and of the bundled YOLOX-nano,
 * dynamic MatMul quantization of the DEIMv2 DETR fixture, and what onnxruntime 1.30's CPU
 * execution provider makes of the QDQ graphs (saved with `optimizedModelFilePath`).
 * Activation ranges are min/max over one input, computed here (not with the calibration module).
 * onnxruntime runs single-threaded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODEL, fixtureImage, fixtureModel, seededRandom, maxAbsTensorDiff, tinyOnnxModel } from './helpers.js';
import {
  cloneModel,
  getInitializer,
  getMetadata,
  getOpset,
  graphOutputs,
  makeTensor,
  readModel,
  tensorDims,
  tensorToArray,
  tensorTypeOf,
  writeModel,
  type OnnxModel,
} from '../src/optimize/onnx/model.js';
import { attrInt, exposeAsOutputs, makeNode, producerMap } from '../src/optimize/onnx/graph.js';
import { DataType, type NodeProto } from '../src/optimize/onnx/schema.js';
import {
  activationParams,
  nodeId,
  quantizableTensors,
  quantizeBias,
  quantizeDynamic,
  quantizeStatic,
  quantizeWeights,
  roundHalfEven,
} from '../src/optimize/quantize/index.js';
import { dequantizeValues } from '../src/optimize/quantize/params.js';
import type { RangeTable } from '../src/optimize/types.js';
import { isTearlessError } from '../src/core/errors.js';
import { iou } from '../src/core/iou.js';
import { postprocess, resolveDetectOptions } from '../src/core/postprocess.js';
import { detectProfile } from '../src/core/profile/detect.js';
import type { Detection, ModelProfile } from '../src/core/types.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import { OnnxNodeBackend } from '../src/runtime/node/onnx-backend.js';
import { fromOrtResults, toOrtFeeds } from '../src/runtime/node/onnx-session.js';
import type { Placement } from '../src/core/geometry.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

type Feeds = Record<string, ort.Tensor>;

const WORK = mkdtempSync(path.join(tmpdir(), 'tearless-quantize-'));
process.on('exit', () => rmSync(WORK, { recursive: true, force: true }));
let optimizedCount = 0;

/**
 * Run a model once (1 thread). With `optimized`, onnxruntime also saves the graph it actually
 * runs (level 'all': QDQ fusion and NHWC layout included) and that graph is returned too.
 */
async function run(model: OnnxModel, feeds: Feeds, optimized = false): Promise<{ out: ort.InferenceSession.ReturnType; graph?: OnnxModel }> {
  const file = optimized ? path.join(WORK, `optimized-${optimizedCount++}.onnx`) : undefined;
  const session = await ort.InferenceSession.create(writeModel(model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    ...(file ? { optimizedModelFilePath: file, graphOptimizationLevel: 'all' as const } : {}),
  });
  try {
    const out = await session.run(feeds);
    return { out, graph: file ? readModel(readFileSync(file)) : undefined };
  } finally {
    await session.release();
  }
}

/** Min/max of each named tensor over one run (the tensors are exposed as extra outputs). */
async function minMaxRanges(model: OnnxModel, feeds: Feeds, names: readonly string[]): Promise<{ ranges: RangeTable; outputs: ort.InferenceSession.ReturnType }> {
  const exposed = cloneModel(model);
  exposeAsOutputs(exposed, names);
  const { out } = await run(exposed, feeds);
  const ranges: RangeTable = new Map();
  for (const name of names) {
    const data = out[name].data as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < data.length; i++) {
      if (data[i] < min) min = data[i];
      if (data[i] > max) max = data[i];
    }
    ranges.set(name, { min, max });
  }
  return { ranges, outputs: out };
}


function valueRange(t: ort.Tensor): number {
  const d = t.data as Float32Array;
  let min = Infinity;
  let max = -Infinity;
  for (const v of d) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return max - min;
}

const opTypes = (m: OnnxModel): string[] => (m.graph.node ?? []).map((n) => n.op_type ?? '');
const count = (m: OnnxModel, op: string): number => opTypes(m).filter((t) => t === op).length;

/** Nodes of `op` reading a DequantizeLinear output: a float op onnxruntime did not fuse. */
function floatAfterDq(m: OnnxModel, op: string): NodeProto[] {
  const producers = producerMap(m);
  return (m.graph.node ?? []).filter((n) => n.op_type === op && (n.input ?? []).some((i) => producers.get(i)?.op_type === 'DequantizeLinear'));
}

const rnd = seededRandom(20240605);
const uniform = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);


/** x [1,3,16,16] → Conv → Relu → Conv → Add(residual) → MaxPool → GlobalAveragePool → Flatten → Gemm(transB) → y [1,4]. */
function convNet(): OnnxModel {
  const conv = { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } };
  return tinyOnnxModel(
    [
      makeNode('Conv', ['x', 'W1', 'B1'], ['c1'], { name: 'conv1', attributes: conv }),
      makeNode('Relu', ['c1'], ['r1'], { name: 'relu1' }),
      makeNode('Conv', ['r1', 'W2', 'B2'], ['c2'], { name: 'conv2', attributes: conv }),
      makeNode('Add', ['c2', 'r1'], ['a'], { name: 'add' }),
      makeNode('MaxPool', ['a'], ['m'], { name: 'pool', attributes: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } }),
      makeNode('GlobalAveragePool', ['m'], ['g'], { name: 'gap' }),
      makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'W3', 'B3'], ['y'], { name: 'fc', attributes: { transB: 1 } }),
    ],
    [['x', [1, 3, 16, 16]]],
    [['y', [1, 4]]],
    [
      makeTensor('W1', uniform(8 * 3 * 9, 0.5), [8, 3, 3, 3]),
      makeTensor('B1', uniform(8, 0.1), [8]),
      makeTensor('W2', uniform(8 * 8 * 9, 0.2), [8, 8, 3, 3]),
      makeTensor('B2', uniform(8, 0.1), [8]),
      makeTensor('W3', uniform(4 * 8, 0.5), [4, 8]),
      makeTensor('B3', uniform(4, 0.1), [4]),
    ],
  );
}
const convInput: Feeds = { x: new ort.Tensor('float32', uniform(3 * 16 * 16, 1), [1, 3, 16, 16]) };

/**
 * One node of every other registry op: MatMul with a constant B (per-column weights), LeakyRelu,
 * Mul by a constant, Transpose, MatMul of two activations, Sigmoid, AveragePool, Concat,
 * Softmax, Add; an Identity writes the graph output.
 */
function opsNet(): OnnxModel {
  return tinyOnnxModel(
    [
      makeNode('MatMul', ['x', 'B'], ['mm'], { name: 'matmul' }),
      makeNode('LeakyRelu', ['mm'], ['lr'], { name: 'leaky', attributes: { alpha: { float: 0.1 } } }),
      makeNode('Mul', ['lr', 'k'], ['mk'], { name: 'mulk' }),
      makeNode('Transpose', ['mk'], ['tr'], { name: 'transpose', attributes: { perm: { ints: [0, 1, 3, 2] } } }),
      makeNode('MatMul', ['mk', 'tr'], ['aa'], { name: 'matmul_aa' }),
      makeNode('Sigmoid', ['aa'], ['sg'], { name: 'sigmoid' }),
      makeNode('AveragePool', ['sg'], ['ap'], { name: 'avgpool', attributes: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } }),
      makeNode('Concat', ['ap', 'ap'], ['cat'], { name: 'concat', attributes: { axis: 1 } }),
      makeNode('Softmax', ['cat'], ['sm'], { name: 'softmax' }),
      makeNode('Add', ['sm', 'sm'], ['y0'], { name: 'add' }),
      makeNode('Identity', ['y0'], ['y'], { name: 'identity' }),
    ],
    [['x', [1, 4, 8, 16]]],
    [['y', null]],
    [makeTensor('B', uniform(16 * 12, 0.5), [16, 12]), makeTensor('k', Float32Array.of(0.7), [])],
  );
}
const opsInput: Feeds = { x: new ort.Tensor('float32', uniform(4 * 8 * 16, 1), [1, 4, 8, 16]) };

function assertTearless(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isTearlessError(err), `a TearlessError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Feeds of a fixture image, pre-processed as the Detector does (profile detected from the model). */
async function imageFeeds(modelPath: string, image: string): Promise<{ feeds: Feeds; profile: ModelProfile; placement: Placement }> {
  const backend = await OnnxNodeBackend.load(modelPath, { threads: 1 });
  const profile = detectProfile(backend.info);
  await backend.dispose();
  const { feeds, placement } = prepareFeeds(await decodeImage(readFileSync(fixtureImage(image))), profile);
  return { feeds: toOrtFeeds(feeds), profile, placement };
}

function detections(m: OnnxModel, out: ort.InferenceSession.ReturnType, profile: ModelProfile, placement: Placement): Detection[] {
  const names = graphOutputs(m).map((o) => o.name ?? '');
  return postprocess(fromOrtResults(out), names, profile, placement, resolveDetectOptions({ conf: 0.3 }, profile.labels));
}

/** Every float detection scoring ≥ minScore has an int8 one of the same class with IoU ≥ minIou. */
function assertDetectionsKept(float: Detection[], int8: Detection[], minScore: number, minIou: number): void {
  const strong = float.filter((d) => d.score >= minScore);
  assert.ok(strong.length >= 2, `the test image gives at least two confident float detections (${strong.length})`);
  for (const d of strong) {
    const best = Math.max(0, ...int8.filter((q) => q.classId === d.classId).map((q) => iou(d.box, q.box)));
    assert.ok(best >= minIou, `${d.label} ${d.score.toFixed(2)} [${d.box.map((v) => v.toFixed(0)).join(', ')}]: best int8 IoU ${best.toFixed(3)}`);
  }
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

// ---------------------------------------------------------------------------------------------
// arithmetic
// ---------------------------------------------------------------------------------------------

describe('quantization parameters', () => {
  test('round half to even, as QuantizeLinear', () => {
    assert.deepEqual([2.5, 3.5, -2.5, -0.5, 0.5, 1.5, 1.4999, -0.4].map(roundHalfEven), [2, 4, -2, 0, 0, 2, 1, 0]);
  });

  test('activation scale and zero point (hand-checked)', () => {
    // uint8: scale = (max − min) / 255, zp = round(−min / scale)
    assert.deepEqual(activationParams({ min: 0, max: 255 }), { scale: 1, zeroPoint: 0, type: 'uint8' });
    assert.deepEqual(activationParams({ min: -0.5, max: 2 }), { scale: Math.fround(2.5 / 255), zeroPoint: 51, type: 'uint8' });
    assert.deepEqual(activationParams({ min: -1, max: 1 }), { scale: Math.fround(2 / 255), zeroPoint: 127, type: 'uint8' });
    // int8 asymmetric: the same scale, zero point shifted by −128
    assert.deepEqual(activationParams({ min: -1, max: 1 }, 'int8'), { scale: Math.fround(2 / 255), zeroPoint: -1, type: 'int8' });
    assert.deepEqual(activationParams({ min: 0, max: 6 }, 'int8'), { scale: Math.fround(6 / 255), zeroPoint: -128, type: 'int8' });
    // a range not containing 0 is widened to contain it (0 must be exact, e.g. for padding)
    assert.deepEqual(activationParams({ min: 2, max: 10 }), { scale: Math.fround(10 / 255), zeroPoint: 0, type: 'uint8' });
    assert.deepEqual(activationParams({ min: -4, max: -1 }), { scale: Math.fround(4 / 255), zeroPoint: 255, type: 'uint8' });
    // all zeros: any positive scale represents it exactly
    assert.deepEqual(activationParams({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0, type: 'uint8' });
    assert.throws(() => activationParams({ min: NaN, max: 1 }), /Invalid activation range/);
  });

  test('per-channel int8 weights: symmetric, error ≤ scale/2, all-zero channel safe', () => {
    const dims = [6, 4, 3, 3];
    const data = uniform(6 * 36, 1);
    for (let i = 2 * 36; i < 3 * 36; i++) data[i] = 0; // channel 2: all zeros
    for (let i = 4 * 36; i < 5 * 36; i++) data[i] *= 1e-3; // channel 4: tiny weights
    const q = quantizeWeights(data, dims, 0);
    assert.equal(q.scales.length, 6);
    assert.equal(q.scales[2], 1, 'all-zero channel gets scale 1');
    for (let c = 0; c < 6; c++) {
      let absMax = 0;
      for (let i = c * 36; i < (c + 1) * 36; i++) absMax = Math.max(absMax, Math.abs(data[i]));
      if (absMax > 0) assert.equal(q.scales[c], Math.fround(absMax / 127), `channel ${c}: scale = max|w| / 127`);
      const back = dequantizeValues(q.values.subarray(c * 36, (c + 1) * 36), q.scales[c]);
      for (let i = 0; i < 36; i++) {
        assert.ok(Math.abs(back[i] - data[c * 36 + i]) <= q.scales[c] / 2 + 1e-9, `channel ${c} element ${i}`);
        assert.ok(Math.abs(q.values[c * 36 + i]) <= 127);
      }
    }
    // MatMul B [K, N]: one scale per column (axis 1)
    const b = uniform(5 * 3, 2);
    const qb = quantizeWeights(b, [5, 3], 1);
    assert.equal(qb.scales.length, 3);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(qb.values[i] * qb.scales[i % 3] - b[i]) <= qb.scales[i % 3] / 2 + 1e-9);
    // per tensor
    assert.equal(quantizeWeights(b, [5, 3], null).scales.length, 1);
  });

  test('int32 bias with scale x_scale · w_scale, and weight scales raised so it fits', () => {
    const { values, scales } = quantizeBias(Float32Array.of(0.5, -0.25), 0.1, Float32Array.of(0.01, 0.02));
    assert.deepEqual([...values], [500, -125]);
    assert.deepEqual([...scales], [Math.fround(0.1 * Math.fround(0.01)), Math.fround(0.1 * Math.fround(0.02))]);
  });
});

// ---------------------------------------------------------------------------------------------
// static quantization of small graphs
// ---------------------------------------------------------------------------------------------

describe('static quantization, QDQ', () => {
  test('conv net: Q/DQ placement, fused by onnxruntime into QLinearConv, close to fp32', async () => {
    const float = convNet();
    const before = Buffer.from(writeModel(float));
    const names = quantizableTensors(float);
    // The graph input, and every tensor around quantizable nodes except the float output tail.
    assert.deepEqual(names, ['x', 'c1', 'r1', 'c2', 'a', 'm', 'g']);
    const { ranges, outputs: ref } = await minMaxRanges(float, convInput, names);

    const result = quantizeStatic(float, ranges, { format: 'qdq' });
    assert.ok(Buffer.from(writeModel(float)).equals(before), 'the input model is not modified');
    assert.deepEqual(result.quantized, ['conv1', 'relu1', 'conv2', 'add', 'pool', 'gap']);
    assert.deepEqual(result.float, ['flatten', 'fc'], 'the output tail (Flatten → Gemm → y) stays float');

    const q = result.model;
    assert.equal(count(q, 'Relu'), 0, 'Relu folded into conv1 (its output range starts at 0)');
    assert.equal(count(q, 'Conv'), 2);
    assert.deepEqual(getMetadata(q), { 'tearless.test': 'kept' });
    assert.deepEqual(graphOutputs(q).map((o) => [o.name, tensorTypeOf(o)?.elemType]), [['y', DataType.FLOAT]]);
    assert.equal(getOpset(q), 13);
    // per-channel int8 weight behind DequantizeLinear(axis 0), int32 bias
    const producers = producerMap(q);
    const conv2 = q.graph.node!.find((n) => n.name === 'conv2')!;
    const wDq = producers.get(conv2.input![1])!;
    assert.equal(wDq.op_type, 'DequantizeLinear');
    assert.equal(attrInt(wDq, 'axis', 1), 0);
    assert.equal(getInitializer(q, wDq.input![0])!.data_type, DataType.INT8);
    assert.deepEqual(tensorDims(getInitializer(q, wDq.input![1])!), [8]);
    assert.equal(getInitializer(q, producers.get(conv2.input![2])!.input![0])!.data_type, DataType.INT32);
    assert.equal(getInitializer(q, 'W2'), undefined, 'the float weight is gone');
    // one Q → DQ pair per activation tensor: x, r1 (conv1 writes it: Relu folded), c2, a, m, g
    assert.equal(count(q, 'QuantizeLinear'), 6);
    const names2 = new Set(q.graph.node!.map((n) => n.name));
    assert.equal(names2.size, q.graph.node!.length, 'node names are unique');

    const { out, graph } = await run(q, convInput, true);
    const err = maxAbsTensorDiff(ref.y, out.y);
    // Measured ≈ 0.005 on outputs spanning ≈ 1: allow 2 % of the output range.
    assert.ok(err <= 0.02 * valueRange(ref.y), `max |int8 − fp32| = ${err}`);

    // What onnxruntime runs: both convolutions fused, the pooling ops on uint8, one DQ left
    // (before the float tail).
    assert.ok(graph);
    assert.equal(count(graph, 'QLinearConv'), 2, opTypes(graph).join(' '));
    assert.equal(count(graph, 'QLinearAdd'), 1);
    assert.equal(count(graph, 'QLinearGlobalAveragePool'), 1);
    assert.equal(count(graph, 'Conv'), 0);
    assert.deepEqual(floatAfterDq(graph, 'Conv'), []);
    assert.equal(count(graph, 'DequantizeLinear'), 1);
    assert.equal(count(graph, 'MaxPool') + count(graph, 'NhwcMaxPool'), 1);
    assert.deepEqual(floatAfterDq(graph, 'MaxPool'), [], 'MaxPool reads uint8 (same scale in and out)');
  });

  test('quantizeOutputTail: the Gemm (transB = 1) becomes QGemm; the output keeps its name and type', async () => {
    const float = convNet();
    const names = quantizableTensors(float, { quantizeOutputTail: true });
    assert.deepEqual(names, ['x', 'c1', 'r1', 'c2', 'a', 'm', 'g', 'f', 'y']);
    const { ranges, outputs: ref } = await minMaxRanges(float, convInput, names);
    const result = quantizeStatic(float, ranges, { format: 'qdq', quantizeOutputTail: true });
    assert.deepEqual(result.float, []);
    const fc = result.model.graph.node!.find((n) => n.name === 'fc')!;
    assert.equal(attrInt(fc, 'transB', 0), 0, 'B stored transposed: QGemm checks per-column scales on the last dim');
    assert.deepEqual(graphOutputs(result.model).map((o) => o.name), ['y']);
    const { out, graph } = await run(result.model, convInput, true);
    assert.equal(out.y.type, 'float32');
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.03 * valueRange(ref.y));
    assert.equal(count(graph!, 'QGemm'), 1, opTypes(graph!).join(' '));
    assert.equal(count(graph!, 'Gemm'), 0);
  });

  test('every registry op: fused by onnxruntime, close to fp32 (Softmax pinned to 1/256)', async () => {
    const float = opsNet();
    const names = quantizableTensors(float);
    const { ranges, outputs: ref } = await minMaxRanges(float, opsInput, names);
    const result = quantizeStatic(float, ranges, { format: 'qdq' });
    assert.deepEqual(result.float, []);
    const softmaxScale = result.model.graph.initializer!.find((t) => t.name === 'sm_scale')!;
    assert.deepEqual([...tensorToArray(softmaxScale)], [1 / 256], 'QLinearSoftmax is only right for y_scale = 1/256');
    const { out, graph } = await run(result.model, opsInput, true);
    // y = 2 · Softmax: one Softmax step is 2/256; allow about one
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.01, `max error ${maxAbsTensorDiff(ref.y, out.y)}`);
    const ops = opTypes(graph!);
    for (const op of ['QLinearMatMul', 'QLinearLeakyRelu', 'QLinearMul', 'QLinearSigmoid', 'QLinearAveragePool', 'QLinearConcat', 'QLinearSoftmax', 'QLinearAdd']) {
      assert.ok(ops.includes(op), `${op} in ${ops.join(' ')}`);
    }
    assert.equal(count(graph!, 'QLinearMatMul'), 2, 'per-column constant B and activation × activation');
    for (const op of ['MatMul', 'LeakyRelu', 'Mul', 'Sigmoid', 'AveragePool', 'Concat', 'Softmax', 'Add']) assert.equal(count(graph!, op), 0, op);
  });

  test('excluding a node keeps it float, in onnxruntime too; a missing range keeps its readers float', async () => {
    const float = convNet();
    const exclude = new Set(['conv2']);
    const names = quantizableTensors(float, { exclude });
    assert.ok(!names.includes('c2'), 'no range needed for the excluded node output');
    const { ranges, outputs: ref } = await minMaxRanges(float, convInput, quantizableTensors(float));
    const result = quantizeStatic(float, ranges, { format: 'qdq', exclude });
    // conv2's reader (the Add) stays float too: DQ → Conv → Q would be fused by onnxruntime
    // (it quantizes a float Conv weight itself), DQ → Add → Q likewise.
    assert.deepEqual(result.float, ['conv2', 'add', 'flatten', 'fc']);
    const conv2 = result.model.graph.node!.find((n) => n.name === 'conv2')!;
    assert.equal(conv2.op_type, 'Conv');
    assert.ok(getInitializer(result.model, conv2.input![1]), 'conv2 reads its float weight');
    const { out, graph } = await run(result.model, convInput, true);
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.02 * valueRange(ref.y));
    assert.equal(count(graph!, 'QLinearConv'), 1, opTypes(graph!).join(' '));
    assert.equal(floatAfterDq(graph!, 'Conv').length, 1, 'conv2 runs in float');
    assert.equal(count(graph!, 'Add'), 1, 'the Add runs in float');

    // No range for the Add output: the Add stays float, and so does the MaxPool reading it (a
    // data-movement op needs its input's parameters); the GlobalAveragePool after it has
    // ranges for its input and output and is quantized.
    const partial = new Map(ranges);
    partial.delete('a');
    const r2 = quantizeStatic(float, partial, { format: 'qdq' });
    assert.deepEqual(r2.float, ['add', 'pool', 'flatten', 'fc']);
    assert.deepEqual(r2.quantized, ['conv1', 'relu1', 'conv2', 'gap']);
    await run(r2.model, convInput);
  });

  test('int8 activations', async () => {
    const float = convNet();
    const names = quantizableTensors(float);
    const { ranges, outputs: ref } = await minMaxRanges(float, convInput, names);
    for (const format of ['qdq', 'qoperator'] as const) {
      const result = quantizeStatic(float, ranges, { format, activationType: 'int8' });
      const zp = result.model.graph.initializer!.find((t) => t.name === 'x_zero_point')!;
      assert.equal(zp.data_type, DataType.INT8);
      const { out, graph } = await run(result.model, convInput, true);
      assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.02 * valueRange(ref.y), `${format}: ${maxAbsTensorDiff(ref.y, out.y)}`);
      if (format === 'qdq' && process.arch === 'x64') {
        // onnxruntime does not fuse int8 QDQ Conv off ARM (QDQIsInt8Allowed): uint8 is the default.
        assert.equal(count(graph!, 'QLinearConv'), 0, opTypes(graph!).join(' '));
      }
    }
  });
});

describe('static quantization, QOperator', () => {
  test('conv net: QLinear ops, data movement on uint8, close to fp32', async () => {
    const float = convNet();
    const { ranges, outputs: ref } = await minMaxRanges(float, convInput, quantizableTensors(float));
    const result = quantizeStatic(float, ranges, { format: 'qoperator' });
    const q = result.model;
    assert.deepEqual(opTypes(q), ['QuantizeLinear', 'QLinearConv', 'QLinearConv', 'QLinearAdd', 'MaxPool', 'QLinearGlobalAveragePool', 'DequantizeLinear', 'Flatten', 'Gemm']);
    assert.equal(getOpset(q, 'com.microsoft'), 1);
    assert.equal(q.graph.node!.find((n) => n.op_type === 'QLinearAdd')!.domain, 'com.microsoft');
    assert.deepEqual(q.graph.node!.filter((n) => n.op_type?.startsWith('QLinear')).map(nodeId), ['conv1', 'conv2', 'add', 'gap'], 'node names kept');
    assert.deepEqual(getMetadata(q), { 'tearless.test': 'kept' });
    const { out } = await run(q, convInput);
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.02 * valueRange(ref.y), `max error ${maxAbsTensorDiff(ref.y, out.y)}`);
  });

  test('every registry op', async () => {
    const float = opsNet();
    const { ranges, outputs: ref } = await minMaxRanges(float, opsInput, quantizableTensors(float));
    const q = quantizeStatic(float, ranges, { format: 'qoperator' }).model;
    assert.deepEqual(opTypes(q), [
      'QuantizeLinear', 'QLinearMatMul', 'QLinearLeakyRelu', 'QLinearMul', 'Transpose', 'QLinearMatMul',
      'QLinearSigmoid', 'QLinearAveragePool', 'QLinearConcat', 'QLinearSoftmax', 'QLinearAdd', 'DequantizeLinear', 'Identity',
    ]);
    const { out } = await run(q, opsInput);
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.01, `max error ${maxAbsTensorDiff(ref.y, out.y)}`);
  });
});

// ---------------------------------------------------------------------------------------------
// bad input
// ---------------------------------------------------------------------------------------------

describe('bad input', () => {
  test('no quantizable node, empty range table, unknown format: clear errors', () => {
    const plain = tinyOnnxModel([makeNode('Exp', ['x'], ['e']), makeNode('Neg', ['e'], ['y'])], [['x', [2, 2]]], [['y', [2, 2]]]);
    assertTearless(() => quantizeStatic(plain, new Map([['x', { min: 0, max: 1 }]]), { format: 'qdq' }), 'TL_ERR_BAD_OPTION', /Nothing to quantize: the graph has no node of a quantizable op type/);
    assertTearless(() => quantizeStatic(convNet(), new Map(), { format: 'qdq' }), 'TL_ERR_BAD_OPTION', /range table is empty: calibrate/);
    assertTearless(() => quantizeStatic(convNet(), new Map(), { format: 'int4' as 'qdq' }), 'TL_ERR_BAD_OPTION', /Unknown quantization format "int4"/);
    assertTearless(() => quantizeDynamic(plain), 'TL_ERR_BAD_OPTION', /no MatMul or Gemm with a constant 2-D float weight/);
  });

  test('nodes a pass cannot handle stay float instead of failing', async () => {
    // Conv whose weight is a graph input, Gemm with alpha = 2, Add on int64 shape arithmetic.
    const m = tinyOnnxModel(
      [
        makeNode('Conv', ['x', 'w'], ['c'], { name: 'conv_dynamic_weight' }),
        makeNode('Flatten', ['c'], ['f'], { name: 'flatten' }),
        makeNode('Gemm', ['f', 'B'], ['g'], { name: 'gemm_alpha', attributes: { alpha: { float: 2 } } }),
        makeNode('Sigmoid', ['g'], ['s'], { name: 'sigmoid' }),
        makeNode('Shape', ['s'], ['shape'], { name: 'shape' }),
        makeNode('Add', ['shape', 'one'], ['shape1'], { name: 'add_int' }),
        makeNode('Reshape', ['s', 'shape1'], ['y'], { name: 'reshape' }),
      ],
      [['x', [1, 2, 4, 4]], ['w', [3, 2, 3, 3]]],
      [['y', null]],
      [makeTensor('B', uniform(12 * 5, 1), [12, 5]), makeTensor('one', BigInt64Array.of(0n, 0n), [2])],
    );
    const names = quantizableTensors(m);
    assert.deepEqual(names, ['g', 's'], 'only the Sigmoid can be quantized');
    const feeds: Feeds = { x: new ort.Tensor('float32', uniform(32, 1), [1, 2, 4, 4]), w: new ort.Tensor('float32', uniform(54, 1), [3, 2, 3, 3]) };
    const { ranges, outputs: ref } = await minMaxRanges(m, feeds, names);
    const result = quantizeStatic(m, ranges, { format: 'qoperator' });
    assert.deepEqual(result.quantized, ['sigmoid']);
    assert.ok(result.float.includes('conv_dynamic_weight') && result.float.includes('gemm_alpha'), result.float.join(' '));
    assert.ok(!result.float.includes('add_int'), 'int64 arithmetic: not reported');
    const { out } = await run(result.model, feeds);
    assert.ok(maxAbsTensorDiff(ref.y, out.y) <= 0.01);
  });
});

// ---------------------------------------------------------------------------------------------
// real models
// ---------------------------------------------------------------------------------------------

describe('real models', () => {
  test('YOLOX-nano (opset 11), QDQ, min/max of one image: runs fused, same detections', async () => {
    const float = readModel(readFileSync(BUNDLED_MODEL));
    const { feeds, profile, placement } = await imageFeeds(BUNDLED_MODEL, '000000000139.jpg');
    const names = quantizableTensors(float);
    const { ranges, outputs: ref } = await minMaxRanges(float, feeds, names);
    const result = quantizeStatic(float, ranges, { format: 'qdq' });
    assert.equal(getOpset(float), 11, 'the input model keeps its opset');
    assert.equal(getOpset(result.model), 13);
    // Float: the head's output tail — per-level Concat(box, objectness, classes) → Reshape →
    // Concat → Transpose. One uint8 scale over box regressions and 0..1 scores would flatten
    // the scores (onnxruntime's own quantizer does exactly that).
    assert.deepEqual(result.float.sort(), ['Concat_331', 'Concat_364', 'Concat_397', 'Concat_422', 'Reshape_405', 'Reshape_413', 'Reshape_421', 'Transpose_423']);
    assert.equal(result.quantized.length, 361);

    const { out, graph } = await run(result.model, feeds, true);
    assert.deepEqual(out.output.dims, [1, 3549, 85]);
    assert.ok(graph);
    assert.equal(count(graph, 'QLinearConv'), 113, 'every Conv fused');
    assert.deepEqual(floatAfterDq(graph, 'Conv'), []);
    assert.equal(count(graph, 'QLinearSigmoid'), 110);
    assert.equal(count(graph, 'QLinearMul'), 104);
    // the 9 head outputs (3 levels × box, objectness, classes) are the only DQs left
    assert.equal(count(graph, 'DequantizeLinear'), 9);

    // Same detections: the confident float ones are all found (same class, IoU ≥ 0.65), the
    // top one almost unchanged, and objectness correlates over all 3549 anchors. Measured with
    // min/max of this one image: IoU ≥ 0.73, top score 0.899 → 0.903, objectness r = 0.90.
    // YOLOX-nano is a hard case for per-tensor activations: depthwise layers whose channels
    // differ by 300× in weight magnitude (Conv_44) lose their small channels (SQNR 22 → 7 dB
    // one layer later) — what the sensitivity analysis and per-layer float fallback are for.
    const f = detections(float, ref, profile, placement);
    const q = detections(float, out, profile, placement);
    assertDetectionsKept(f, q, 0.5, 0.65);
    const top = f[0];
    const topQ = q.find((d) => d.classId === top.classId && iou(d.box, top.box) >= 0.9);
    assert.ok(topQ && Math.abs(topQ.score - top.score) <= 0.05, `top detection ${top.label} ${top.score} vs ${topQ?.score}`);
    const a = ref.output.data as Float32Array;
    const b = out.output.data as Float32Array;
    const objectness = (d: Float32Array): number[] => Array.from({ length: 3549 }, (_, i) => d[i * 85 + 4]);
    assert.ok(pearson(objectness(a), objectness(b)) >= 0.85, `objectness correlation ${pearson(objectness(a), objectness(b))}`);
  });

  test('the output tail stays float: a decoded YOLOv5 head keeps its scores', async () => {
    // HyperLPR3's plate detector concatenates pixel boxes (up to ≈ 840) and 0..1 scores in its
    // output: quantizing that Concat (quantizeOutputTail, onnxruntime's own behaviour) leaves a
    // scale of ≈ 3.6 for the scores, i.e. zero.
    const file = fixtureModel('hyperlpr3_y5fu_320_plate.onnx');
    const float = readModel(readFileSync(file));
    const { feeds } = await imageFeeds(file, 'plate_2.png');
    const names = quantizableTensors(float, { quantizeOutputTail: true });
    const { ranges, outputs: ref } = await minMaxRanges(float, feeds, names);
    const objectness = (t: ort.Tensor): Float32Array => {
      const [, rows, cols] = t.dims as number[];
      const d = t.data as Float32Array;
      return Float32Array.from({ length: rows }, (_, i) => d[i * cols + 4]);
    };
    const best = objectness(ref.output).reduce((m, v, i, all) => (v > all[m] ? i : m), 0);
    const top = objectness(ref.output)[best];
    assert.ok(top > 0.8, `a plate is found in float (${top})`);
    const kept = objectness((await run(quantizeStatic(float, ranges, { format: 'qdq' }).model, feeds)).out.output)[best];
    const lost = objectness((await run(quantizeStatic(float, ranges, { format: 'qdq', quantizeOutputTail: true }).model, feeds)).out.output)[best];
    assert.ok(Math.abs(kept - top) <= 0.05, `default: ${top} → ${kept}`);
    assert.ok(lost < 0.1, `tail quantized: ${top} → ${lost}`);
  });

  test('DEIMv2 (DETR, two inputs), dynamic: DynamicQuantizeMatMul, same detections', async () => {
    const file = fixtureModel('deimv2_hgnetv2_atto_320_coco.onnx');
    const float = readModel(readFileSync(file));
    const { feeds, profile, placement } = await imageFeeds(file, '000000000139.jpg');
    assert.deepEqual(Object.keys(feeds).sort(), ['images', 'orig_target_sizes']);
    const result = quantizeDynamic(float);
    // 43 MatMul with a constant [K, N] weight + 3 Gemm (transB = 1); attention score MatMuls
    // (two activations) and the 1-D integral weights stay float.
    assert.equal(result.quantized.length, 46);
    assert.equal(result.float.length, 9);
    assert.equal(count(result.model, 'DynamicQuantizeMatMul'), 46);
    assert.equal(count(result.model, 'Gemm'), 0);
    assert.equal(getOpset(result.model, 'com.microsoft'), 1);
    const dq = result.model.graph.node!.find((n) => n.op_type === 'DynamicQuantizeMatMul')!;
    assert.equal(getInitializer(result.model, dq.input![1])!.data_type, DataType.INT8);
    const [, n] = tensorDims(getInitializer(result.model, dq.input![1])!);
    assert.deepEqual(tensorDims(getInitializer(result.model, dq.input![2])!), [n], 'one scale per output column');

    const ref = (await run(float, feeds)).out;
    const { out } = await run(result.model, feeds);
    assertDetectionsKept(detections(float, ref, profile, placement), detections(float, out, profile, placement), 0.5, 0.95);
    const s0 = ref.scores.data as Float32Array;
    const s1 = out.scores.data as Float32Array;
    assert.ok(Math.abs(s0[0] - s1[0]) <= 0.03, `top score ${s0[0]} vs ${s1[0]}`);
  });
});
