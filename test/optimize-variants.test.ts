/**
 * Graph-level variants (issue 5): onnxruntime offline graphs, uint8 NHWC input folded into the
 * graph, float16 and the Focus (space-to-depth slices) fold. Every variant is run in
 * onnxruntime (one thread) and compared with the original on real images.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODEL, fixtureImage, fixtureModel, seededRandom } from './helpers.js';
import { fromFloat16Bits, toFloat16Bits } from '../src/core/float16.js';
import type { Detection, ModelProfile } from '../src/core/types.js';
import { Detector } from '../src/pipeline/detector.js';
import { decodeImage } from '../src/pipeline/image-decode.js';
import { prepareFeeds } from '../src/pipeline/preprocess.js';
import { makeNode } from '../src/optimize/onnx/graph.js';
import {
  getInitializer,
  getMetadata,
  graphInputs,
  graphOutputs,
  makeTensor,
  makeTensorValueInfo,
  readModel,
  setMetadata,
  tensorDims,
  tensorTypeOf,
  writeModel,
  type OnnxModel,
} from '../src/optimize/onnx/model.js';
import { DataType, type NodeProto } from '../src/optimize/onnx/schema.js';
import { convertToFloat16, foldInputConversion, foldSpaceToDepthSlices, ortOfflineGraph, profileSidecar } from '../src/optimize/variants/index.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const IMAGES = [fixtureImage('000000000139.jpg'), fixtureImage('000000000632.jpg')];
const bundledBytes = (): Uint8Array => readFileSync(BUNDLED_MODEL);
const bundled = (): OnnxModel => readModel(bundledBytes());
const count = (model: OnnxModel, op: string): number => (model.graph.node ?? []).filter((n) => n.op_type === op).length;

async function runOrt(model: Uint8Array | OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const bytes = model instanceof Uint8Array ? model : writeModel(model);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

/** The image tensor of a real image, as the project's pre-processing builds it for `profile`. */
async function imageFeeds(image: string, profile: ModelProfile): Promise<Record<string, ort.Tensor>> {
  const pixels = await decodeImage(readFileSync(image));
  const { feeds } = prepareFeeds(pixels, profile);
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

/** max |a − b| ÷ max |a| over all values (float32 or float16 tensors). */
function relativeError(a: ort.Tensor, b: ort.Tensor): number {
  assert.deepEqual(b.dims, a.dims);
  const values = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, fromFloat16Bits) : (t.data as Float32Array));
  const [x, y] = [values(a), values(b)];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(x[i]));
  }
  assert.ok(scale > 0, 'the output is not all zeros');
  return diff / scale;
}

const DETECTOR_OPTS = { threads: 1, warmup: false } as const;

async function detectAll(det: Detector): Promise<Detection[][]> {
  const out: Detection[][] = [];
  for (const image of IMAGES) out.push((await det.detect(image)).detections);
  return out;
}

function assertSameDetections(actual: Detection[][], expected: Detection[][], boxTol: number, scoreTol: number): void {
  for (const [i, exp] of expected.entries()) {
    const act = actual[i];
    assert.ok(exp.length > 0, `image ${i}: the original finds something`);
    assert.equal(act.length, exp.length, `image ${i}: number of detections`);
    for (const [j, e] of exp.entries()) {
      const a = act[j];
      assert.equal(a.classId, e.classId, `image ${i} detection ${j}: class`);
      assert.ok(Math.abs(a.score - e.score) <= scoreTol, `image ${i} detection ${j}: score ${a.score} vs ${e.score}`);
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(a.box[k] - e.box[k]) <= boxTol, `image ${i} detection ${j}: box ${a.box} vs ${e.box}`);
    }
  }
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// One YOLOX-nano detector (bundled model + its sidecar profile) shared by the comparisons.
let original: Detector;
let originalDetections: Detection[][];
before(async () => {
  original = await Detector.load(BUNDLED_MODEL, DETECTOR_OPTS);
  originalDetections = await detectAll(original);
});
after(async () => {
  await original?.close();
});

// ---------------------------------------------------------------------------------------------
// onnxruntime offline graph
// ---------------------------------------------------------------------------------------------

describe('ortOfflineGraph', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tearless-variants-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const level of ['basic', 'extended', 'all'] as const) {
    test(`level ${level}: writes a model that keeps metadata_props and computes the same outputs`, async () => {
      const model = bundled();
      setMetadata(model, 'names', "{0: 'person', 1: 'bicycle'}");
      setMetadata(model, 'tearless.test', level);
      const bytes = writeModel(model);
      const file = path.join(dir, `yolox_${level}.onnx`);
      await ortOfflineGraph(bytes, level, file, { threads: 1 });
      const written = await readFile(file);
      const optimized = readModel(written);
      assert.deepEqual(getMetadata(optimized), getMetadata(model));
      assert.equal(optimized.producer_name, model.producer_name);
      // at least the CSE of the two identical first Slices happens at every level
      assert.ok(optimized.graph.node!.length < model.graph.node!.length, `${optimized.graph.node!.length} nodes, fewer than ${model.graph.node!.length}`);
      if (level !== 'basic') assert.ok(optimized.graph.node!.some((n) => n.domain?.startsWith('com.microsoft')), 'fusions into contrib ops');

      const feeds = await imageFeeds(IMAGES[0], original.profile);
      const [a, b] = [await runOrt(bytes, feeds), await runOrt(written, feeds)];
      assert.ok(relativeError(a.output, b.output) < 1e-4);
    });
  }

  test('errors: unknown level, bytes that are no model, a folder that does not exist', async () => {
    await assert.rejects(ortOfflineGraph(bundledBytes(), 'layout' as 'all', path.join(dir, 'x.onnx')), { code: 'TL_ERR_BAD_OPTION' });
    await assert.rejects(ortOfflineGraph(new Uint8Array([1, 2, 3, 4]), 'basic', path.join(dir, 'y.onnx')), { code: 'TL_ERR_MODEL_NOT_ONNX' });
    await assert.rejects(ortOfflineGraph(bundledBytes(), 'basic', path.join(dir, 'missing', 'z.onnx')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TL_ERR_MODEL_RUN_FAILED');
      assert.ok(err.cause instanceof Error, 'the onnxruntime error is the cause');
      return true;
    });
    assert.equal(existsSync(path.join(dir, 'x.onnx')), false);
  });
});

// ---------------------------------------------------------------------------------------------
// uint8 input
// ---------------------------------------------------------------------------------------------

describe('foldInputConversion', () => {
  test('YOLOX-nano: uint8 NHWC input, same detections as the float model on 2 real images', async () => {
    const profile = original.profile;
    assert.equal(profile.input.channels, 'bgr', 'the sidecar profile was used');
    const { model, profile: folded } = foldInputConversion(bundled(), profile);

    const [input] = graphInputs(model);
    assert.equal(input.name, folded.input.name);
    assert.notEqual(folded.input.name, profile.input.name);
    assert.deepEqual(tensorTypeOf(input), { elemType: DataType.UINT8, shape: [1, 416, 416, 3] });
    assert.deepEqual(
      { layout: folded.input.layout, dtype: folded.input.dtype, channels: folded.input.channels, scale: folded.input.scale, mean: folded.input.mean, std: folded.input.std },
      { layout: 'nhwc', dtype: 'uint8', channels: 'bgr', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    );
    assert.equal(folded.input.padValue, profile.input.padValue);
    // YOLOX takes raw 0–255: only Cast and Transpose, ending in the old input name
    const head = model.graph.node!.slice(0, 2);
    assert.deepEqual(head.map((n) => n.op_type), ['Cast', 'Transpose']);
    assert.equal(head[1].output![0], profile.input.name);

    const det = await Detector.load(writeModel(model), { ...DETECTOR_OPTS, profile: folded });
    try {
      assert.equal(det.profile.input.dtype, 'uint8');
      assertSameDetections(await detectAll(det), originalDetections, 1e-3, 1e-4);
    } finally {
      await det.close();
    }
  });

  test('NanoDet-m (mean/std in the graph) and a 1/255-scaled profile: same outputs as the float model', async () => {
    const file = fixtureModel('nanodet_m_320_coco.onnx');
    const det = await Detector.load(file, DETECTOR_OPTS);
    const profile = det.profile;
    await det.close();
    assert.ok(profile.input.mean.some((m) => m !== 0) && profile.input.std.some((s) => s !== 1), 'NanoDet normalizes with mean/std');
    const scaled: ModelProfile = { ...profile, input: { ...profile.input, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };
    for (const p of [profile, scaled]) {
      const { model, profile: folded } = foldInputConversion(readModel(readFileSync(file)), p);
      const expected = p.input.scale === 1 ? ['Cast', 'Transpose', 'Sub', 'Div'] : ['Cast', 'Transpose', 'Mul', 'Sub', 'Div'];
      assert.deepEqual(model.graph.node!.slice(0, expected.length).map((n) => n.op_type), expected);
      const [a, b] = [await runOrt(readFileSync(file), await imageFeeds(IMAGES[1], p)), await runOrt(model, await imageFeeds(IMAGES[1], folded))];
      for (const name of Object.keys(a)) assert.ok(relativeError(a[name], b[name]) < 1e-4, `${name}`);
    }
  });

  test('refuses an input the profile does not name or that already is uint8; the sidecar form parses', () => {
    const profile = original.profile;
    assert.throws(() => foldInputConversion(bundled(), { ...profile, input: { ...profile.input, name: 'nope' } }), { code: 'TL_ERR_BAD_OPTION' });
    const once = foldInputConversion(bundled(), profile);
    assert.throws(() => foldInputConversion(once.model, once.profile), { code: 'TL_ERR_BAD_OPTION' });
    const sidecar = JSON.parse(JSON.stringify(profileSidecar(once.profile, 'folded')));
    assert.equal(sidecar.source, undefined);
    assert.equal(sidecar.input.dtype, 'uint8');
  });
});

// ---------------------------------------------------------------------------------------------
// float16
// ---------------------------------------------------------------------------------------------

describe('convertToFloat16', () => {
  test('YOLOX-nano fp16: float32 interface, Resize scales kept float32, top detections match fp32', async () => {
    const model = bundled();
    const half = convertToFloat16(model);
    assert.equal(tensorTypeOf(graphInputs(half)[0])?.elemType, DataType.FLOAT);
    assert.equal(tensorTypeOf(graphOutputs(half)[0])?.elemType, DataType.FLOAT);
    for (const resize of half.graph.node!.filter((n) => n.op_type === 'Resize')) {
      const scales = getInitializer(half, resize.input![2]);
      assert.ok(scales, 'scales stays an initializer');
      assert.equal(scales.data_type, DataType.FLOAT);
    }
    const resizeInputs = new Set(half.graph.node!.filter((n) => n.op_type === 'Resize').flatMap((n) => n.input!.slice(1)));
    const floats = half.graph.initializer!.filter((t) => t.data_type === DataType.FLOAT && !resizeInputs.has(t.name ?? ''));
    assert.deepEqual(floats.map((t) => t.name), [], 'every other float initializer is float16');
    assert.ok(writeModel(half).length < 0.6 * bundledBytes().length, 'weights take half the space');
    assert.equal(count(half, 'Cast'), 2, 'one Cast at the input, one at the output');

    const det = await Detector.load(writeModel(half), { ...DETECTOR_OPTS, profile: profileSidecar(original.profile) });
    try {
      const got = await detectAll(det);
      for (const [i, exp] of originalDetections.entries()) {
        const top = exp.slice(0, 5);
        for (const e of top) {
          const match = got[i].find((a) => a.classId === e.classId && iou(a.box, e.box) > 0.95);
          assert.ok(match, `image ${i}: ${e.label} ${e.score.toFixed(3)} found in fp16`);
          assert.ok(Math.abs(match.score - e.score) < 1e-2, `image ${i}: ${e.label} score ${match.score} vs ${e.score}`);
        }
      }
    } finally {
      await det.close();
    }
  });

  test('keepIoTypes false: float16 input and output; the same values as the float32-interface model', async () => {
    const half = convertToFloat16(bundled(), { keepIoTypes: false });
    assert.equal(tensorTypeOf(graphInputs(half)[0])?.elemType, DataType.FLOAT16);
    assert.equal(tensorTypeOf(graphOutputs(half)[0])?.elemType, DataType.FLOAT16);
    assert.equal(count(half, 'Cast'), 0);
    const name = original.profile.input.name;
    const feeds = await imageFeeds(IMAGES[0], original.profile);
    const x = feeds[name];
    const halfFeeds = { [name]: new ort.Tensor('float16', Uint16Array.from(x.data as Float32Array, toFloat16Bits), x.dims) };
    const fp32 = (await runOrt(bundledBytes(), feeds)).output;
    const keepIo = (await runOrt(convertToFloat16(bundled()), feeds)).output;
    const fp16 = (await runOrt(half, halfFeeds)).output;
    assert.equal(fp16.type, 'float16');
    assert.ok(relativeError(keepIo, fp16) < 1e-3, 'only the last Cast differs');
    // float16 rounding moves background anchors a lot (up to ~0.6 on a box logit) but not the
    // anchors that matter: every value of an anchor with objectness > 0.1 stays within 0.05
    const [a, b] = [fp32.data as Float32Array, keepIo.data as Float32Array];
    const row = fp32.dims[2];
    let confident = 0;
    for (let j = 0; j < a.length / row; j++) {
      if (a[j * row + 4] <= 0.1) continue;
      confident++;
      for (let c = 0; c < row; c++) assert.ok(Math.abs(a[j * row + c] - b[j * row + c]) < 0.05, `anchor ${j} value ${c}: ${a[j * row + c]} vs ${b[j * row + c]}`);
    }
    assert.ok(confident > 10, `${confident} confident anchors`);
  });

  test('hand-made graph: computed Resize scales get a Cast to float32, constants and Cast(to=float) convert', async () => {
    // y = Resize(x, scales = Cast(int constant) * 1.0) * 0.5; z = y + huge (huge clamped to 65504)
    const nodes: NodeProto[] = [
      makeNode('Constant', [], ['two'], { attributes: { value: makeTensor('', BigInt64Array.from([1n, 1n, 2n, 2n]), [4]) } }),
      makeNode('Cast', ['two'], ['two_f'], { attributes: { to: DataType.FLOAT } }),
      makeNode('Mul', ['two_f', 'one'], ['scales']),
      makeNode('Resize', ['x', 'roi', 'scales'], ['up'], { attributes: { mode: 'nearest' } }),
      makeNode('Constant', [], ['half'], { attributes: { value_float: { float: 0.5 } } }),
      makeNode('Mul', ['up', 'half'], ['scaled']),
      makeNode('Identity', ['scaled'], ['y']),
      makeNode('Add', ['scaled', 'huge'], ['z']),
    ];
    const model: OnnxModel = {
      ir_version: 7,
      opset_import: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: nodes,
        input: [makeTensorValueInfo('x', DataType.FLOAT, [1, 1, 2, 2])],
        output: [makeTensorValueInfo('y', DataType.FLOAT, [1, 1, 4, 4]), makeTensorValueInfo('z', DataType.FLOAT, [1, 1, 4, 4])],
        initializer: [makeTensor('one', new Float32Array([1]), []), makeTensor('roi', new Float32Array(0), [0]), makeTensor('huge', new Float32Array([1e6]), [])],
      },
    };
    const half = convertToFloat16(model);
    assert.equal(getInitializer(half, 'roi')?.data_type, DataType.FLOAT, 'roi read only by Resize stays float32');
    assert.equal(getInitializer(half, 'one')?.data_type, DataType.FLOAT16);
    assert.equal(getInitializer(half, 'huge')?.data_type, DataType.FLOAT16);
    const resize = half.graph.node!.find((n) => n.op_type === 'Resize')!;
    assert.notEqual(resize.input![2], 'scales', 'scales goes through a Cast to float32');
    const x = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
    const [a, b] = [await runOrt(model, { x }), await runOrt(half, { x })];
    assert.equal(b.y.type, 'float32');
    assert.deepEqual(b.y.dims, [1, 1, 4, 4]);
    assert.deepEqual(Array.from(b.y.data as Float32Array), Array.from(a.y.data as Float32Array), '0.5 steps are exact in float16');
    // huge = 1e6 became 65504, not Infinity: z = y + 65504 when onnxruntime runs the Add in
    // float32 (it has no float16 Add on CPU and drops the Cast pair around it), 65504 in float16
    const [y, z] = [b.y.data as Float32Array, b.z.data as Float32Array];
    z.forEach((v, i) => assert.ok(v === y[i] + 65504 || v === 65504, `z[${i}] = ${v}`));
  });

  test('refuses quantized graphs', () => {
    const model: OnnxModel = {
      ir_version: 7,
      opset_import: [{ domain: '', version: 13 }],
      graph: {
        node: [makeNode('DequantizeLinear', ['q', 's'], ['y'])],
        input: [makeTensorValueInfo('q', DataType.INT8, [4])],
        output: [makeTensorValueInfo('y', DataType.FLOAT, [4])],
        initializer: [makeTensor('s', new Float32Array([0.1]), [])],
      },
    };
    assert.throws(() => convertToFloat16(model), { code: 'TL_ERR_NOT_IMPLEMENTED' });
  });
});

// ---------------------------------------------------------------------------------------------
// Focus → strided Conv
// ---------------------------------------------------------------------------------------------

/**
 * A Focus block: four single Slices (axes [2, 3], steps [2, 2]) of x [1, C, H, W] concatenated
 * in the given phase order, then a k×k Conv with random weights.
 */
function focusModel(phases: [number, number][], opts: { c?: number; h?: number; w?: number; k?: number; strides?: number } = {}): OnnxModel {
  const { c = 3, h = 8, w = 10, k = 3, strides = 1 } = opts;
  const rand = seededRandom(7);
  const o = 4;
  const weights = Float32Array.from({ length: o * 4 * c * k * k }, () => rand() - 0.5);
  const nodes: NodeProto[] = phases.map(([dy, dx], g) =>
    makeNode('Slice', ['x', `starts_${dy}${dx}`, 'ends', 'axes', 'steps'], [`s${g}`]),
  );
  nodes.push(makeNode('Concat', ['s0', 's1', 's2', 's3'], ['cat'], { attributes: { axis: 1 } }));
  const p = Math.floor((k - 1) / 2);
  nodes.push(
    makeNode('Conv', ['cat', 'W', 'B'], ['y'], {
      attributes: { kernel_shape: { ints: [k, k] }, pads: { ints: [p, p, p, p] }, strides: { ints: [strides, strides] } },
    }),
  );
  const inits = [
    makeTensor('ends', BigInt64Array.from([9223372036854775807n, 9223372036854775807n]), [2]),
    makeTensor('axes', BigInt64Array.from([2n, 3n]), [2]),
    makeTensor('steps', BigInt64Array.from([2n, 2n]), [2]),
    makeTensor('W', weights, [o, 4 * c, k, k]),
    makeTensor('B', Float32Array.from({ length: o }, () => rand()), [o]),
  ];
  for (const [dy, dx] of phases) {
    if (!inits.some((t) => t.name === `starts_${dy}${dx}`)) inits.push(makeTensor(`starts_${dy}${dx}`, BigInt64Array.from([BigInt(dy), BigInt(dx)]), [2]));
  }
  return {
    ir_version: 7,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'focus',
      node: nodes,
      input: [makeTensorValueInfo('x', DataType.FLOAT, [1, c, h, w])],
      output: [makeTensorValueInfo('y', DataType.FLOAT, null)],
      initializer: inits,
    },
  };
}

describe('foldSpaceToDepthSlices', () => {
  test('YOLOX-nano: no Slices, one Concat less, same output on a real image', async () => {
    const model = bundled();
    const { model: folded, folded: n } = foldSpaceToDepthSlices(model);
    assert.equal(n, 1);
    assert.ok(count(folded, 'Slice') < count(model, 'Slice'));
    assert.equal(count(folded, 'Slice'), 0, 'all eight Slices of Focus are gone');
    assert.equal(count(folded, 'Concat'), count(model, 'Concat') - 1);
    const conv = folded.graph.node!.find((node) => node.input?.[0] === original.profile.input.name)!;
    assert.equal(conv.op_type, 'Conv');
    assert.deepEqual(tensorDims(getInitializer(folded, conv.input![1])!), [16, 3, 6, 6]);
    assert.equal(count(model, 'Slice'), 8, 'the input model is not changed');

    const feeds = await imageFeeds(IMAGES[0], original.profile);
    const [a, b] = [await runOrt(bundledBytes(), feeds), await runOrt(folded, feeds)];
    const err = relativeError(a.output, b.output);
    assert.ok(err < 1e-3, `relative error ${err}`);
  });

  test('folds the float16 model too (float16 weights, Focus behind the input Cast)', async () => {
    const half = convertToFloat16(bundled());
    const { model: folded, folded: n } = foldSpaceToDepthSlices(half);
    assert.equal(n, 1);
    const conv = folded.graph.node!.find((node) => node.op_type === 'Conv' && tensorDims(getInitializer(folded, node.input![1])!)[2] === 6)!;
    assert.equal(getInitializer(folded, conv.input![1])!.data_type, DataType.FLOAT16);
    const feeds = await imageFeeds(IMAGES[0], original.profile);
    const [a, b] = [await runOrt(half, feeds), await runOrt(folded, feeds)];
    const err = relativeError(a.output, b.output);
    assert.ok(err < 2e-3, `relative error ${err}`);
  });

  test('the light person detector (another YOLOX export) folds too', async () => {
    const file = fixtureModel('light_person_detector_192.onnx');
    const { model: folded, folded: n } = foldSpaceToDepthSlices(readModel(readFileSync(file)));
    assert.equal(n, 1);
    const rand = seededRandom(3);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 192 * 192 }, () => Math.floor(rand() * 256)), [1, 3, 192, 192]);
    const name = graphInputs(folded)[0].name!;
    const [a, b] = [await runOrt(readFileSync(file), { [name]: x }), await runOrt(folded, { [name]: x })];
    for (const k of Object.keys(a)) assert.ok(relativeError(a[k], b[k]) < 1e-3, k);
  });

  test('phases are read from the Slices: any concat order gives the original result', async () => {
    const rand = seededRandom(11);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 8 * 10 }, () => rand() * 2 - 1), [1, 3, 8, 10]);
    const orders: [number, number][][] = [
      [[0, 0], [1, 0], [0, 1], [1, 1]], // YOLOX / YOLOv5
      [[1, 1], [0, 0], [0, 1], [1, 0]],
      [[0, 1], [1, 1], [1, 0], [0, 0]],
    ];
    for (const order of orders) {
      for (const k of [1, 3]) {
        const model = focusModel(order, { k });
        const { model: folded, folded: n } = foldSpaceToDepthSlices(model);
        assert.equal(n, 1, `order ${JSON.stringify(order)} k ${k}`);
        assert.deepEqual(folded.graph.node!.map((node) => node.op_type), ['Conv']);
        assert.deepEqual(folded.graph.initializer!.map((t) => t.name).sort(), ['B', 'W_s2d']);
        const [a, b] = [await runOrt(model, { x }), await runOrt(folded, { x })];
        assert.deepEqual(b.y.dims, [1, 4, 4, 5]);
        assert.ok(relativeError(a.y, b.y) < 1e-5, `order ${JSON.stringify(order)} k ${k}`);
      }
    }
  });

  test('refuses what is not exactly Focus: model unchanged, folded 0', () => {
    const yolox: [number, number][] = [[0, 0], [1, 0], [0, 1], [1, 1]];
    const nanodet = readModel(readFileSync(fixtureModel('nanodet_m_320_coco.onnx')));
    const cases: [string, OnnxModel][] = [
      ['NanoDet-m (no Focus)', nanodet],
      ['odd height', focusModel(yolox, { h: 7 })],
      ['a phase twice', focusModel([[0, 0], [1, 0], [0, 1], [0, 0]])],
      ['stride-2 conv', focusModel(yolox, { strides: 2 })],
      ['even kernel', focusModel(yolox, { k: 2 })],
    ];
    const shared = focusModel(yolox);
    shared.graph.output!.push(makeTensorValueInfo('cat', DataType.FLOAT, null));
    cases.push(['concat output also a graph output', shared]);
    const dynamic = focusModel(yolox);
    dynamic.graph.input = [makeTensorValueInfo('x', DataType.FLOAT, [1, 3, 'h', 'w'])];
    cases.push(['unknown height and width', dynamic]);
    for (const [label, model] of cases) {
      const before = writeModel(model);
      const result = foldSpaceToDepthSlices(model);
      assert.equal(result.folded, 0, label);
      assert.equal(result.model, model, `${label}: the same model`);
      assert.ok(Buffer.from(writeModel(model)).equals(Buffer.from(before)), `${label}: unchanged`);
    }
  });
});
