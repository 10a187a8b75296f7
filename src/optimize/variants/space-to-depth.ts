/**
 * Fold YOLOX / YOLOv5-v5 "Focus" into one strided convolution.
 *
 * Focus takes the four pixel phases of the image with strided Slices (step 2 on H and W,
 * starting at 0 or 1), concatenates them on the channels (4·C) and runs a k×k convolution
 * (stride 1, padding p = (k−1)/2). onnxruntime spends about 10% of YOLOX-nano's time in those
 * Slices (eight of them, chained H then W) and the Concat. The same result is one convolution
 * on the un-sliced image with a 2k×2k kernel, stride 2, padding 2p:
 *
 *   W'[o, c, 2·ky + dy, 2·kx + dx] = W[o, g·C + c, ky, kx]
 *
 * where concat input g holds phase (dy, dx). Check: the new conv at output row y reads
 * X[2y + ky' − 2p]; with ky' = 2ky + dy that is X[2(y + ky − p) + dy] = F_g[y + ky − p], what the
 * old conv reads; out-of-range reads are zero padding on both sides in both graphs, and the
 * output height is (H + 4p − 2k)/2 + 1 = H/2 for k = 2p + 1 and even H. The bias is unchanged.
 *
 * The phases and their order are read from the Slice nodes (starts/axes/steps: inputs from
 * opset 10, attributes before); nothing is assumed. The pattern must match exactly, else the
 * model is returned unchanged: four Slice chains of the same rank-4 tensor whose H and W are
 * static and even, each chain slicing H and W once with step 2, start 0 or 1 and running to
 * the end (other axes only as full no-op slices), together covering the four phases; a Concat
 * on axis 1 read only by one Conv (group 1, stride 1, dilation 1, odd kernel, symmetric padding
 * (k−1)/2, float32 or float16 weights in an initializer with 4·C input channels).
 */
import { toFloat16Bits } from '../../core/float16.js';
import {
  attrInt,
  attrInts,
  attrString,
  consumerMap,
  getAttribute,
  isDefaultDomain,
  makeAttribute,
  NameScope,
  producerMap,
  removeAttribute,
  setAttribute,
  valueInfoMap,
} from '../onnx/graph.js';
import {
  cloneModel,
  getInitializer,
  getOpset,
  int64ToBigInt,
  makeTensor,
  removeInitializer,
  tensorDims,
  tensorToArray,
  tensorToFloat32,
  tensorTypeOf,
  type OnnxModel,
} from '../onnx/model.js';
import { DataType, type GraphProto, type NodeProto } from '../onnx/schema.js';

/** Slice ends at or beyond this reach the end of any axis (exporters write INT64_MAX or INT32_MAX). */
const TO_THE_END = 2n ** 31n - 1n;

interface FocusMatch {
  concat: NodeProto;
  conv: NodeProto;
  root: string;
  /** Phase (dy, dx) of each concat input, in concat order. */
  phases: [number, number][];
  slices: NodeProto[];
  channels: number;
}

/**
 * Replace every Focus (4 strided Slices → Concat → Conv) by one stride-2 Conv. Returns a new
 * model and the number of patterns folded; with `folded: 0` the given model itself is returned,
 * unchanged.
 */
export function foldSpaceToDepthSlices(model: OnnxModel): { model: OnnxModel; folded: number } {
  if (!(model.graph.node ?? []).some((n) => n.op_type === 'Slice' && isDefaultDomain(n.domain))) return { model, folded: 0 };
  const out = cloneModel(model);
  const graph = out.graph;
  const opset = getOpset(out, '') ?? 1;
  const matches: FocusMatch[] = [];
  const producers = producerMap(graph);
  const consumers = consumerMap(graph);
  const infos = valueInfoMap(graph);
  const graphOutputs = new Set((graph.output ?? []).map((vi) => vi.name ?? ''));
  for (const conv of graph.node ?? []) {
    const m = matchFocus(graph, conv, opset, producers, consumers, infos, graphOutputs);
    if (m) matches.push(m);
  }
  if (matches.length === 0) return { model, folded: 0 };

  const names = new NameScope(graph);
  for (const m of matches) rewrite(graph, m, names);
  removeDeadNodes(graph, matches.flatMap((m) => m.slices));
  return { model: out, folded: matches.length };
}

// ------------------------------------------------------------------------------------------
// matching
// ------------------------------------------------------------------------------------------

/** Integer values of an initializer or Constant node output (int32/int64), or null. */
function intValues(graph: GraphProto, producers: Map<string, NodeProto>, name: string): bigint[] | null {
  const toBig = (t: Parameters<typeof tensorToArray>[0]): bigint[] | null => {
    if (t.data_type !== DataType.INT64 && t.data_type !== DataType.INT32) return null;
    const values = tensorToArray(t);
    return values instanceof BigInt64Array ? Array.from(values) : Array.from(values as Int32Array, (v) => BigInt(v));
  };
  const init = getInitializer(graph, name);
  if (init) return toBig(init);
  const node = producers.get(name);
  if (node?.op_type !== 'Constant' || !isDefaultDomain(node.domain)) return null;
  const value = getAttribute(node, 'value');
  if (value?.t) return toBig(value.t);
  const ints = attrInts(node, 'value_ints');
  if (ints) return ints;
  const one = getAttribute(node, 'value_int');
  return one ? [int64ToBigInt(one.i)] : null;
}

interface SliceStep {
  axis: number;
  start: bigint;
  end: bigint;
  step: bigint;
}

/** The per-axis starts/ends/steps of a Slice (inputs from opset 10, attributes before). */
function sliceSteps(graph: GraphProto, producers: Map<string, NodeProto>, node: NodeProto, opset: number, rank: number): SliceStep[] | null {
  let starts: bigint[] | null | undefined;
  let ends: bigint[] | null | undefined;
  let axes: bigint[] | null | undefined;
  let steps: bigint[] | null | undefined;
  const inputs = node.input ?? [];
  if (opset >= 10) {
    if (!inputs[1] || !inputs[2]) return null;
    starts = intValues(graph, producers, inputs[1]);
    ends = intValues(graph, producers, inputs[2]);
    axes = inputs[3] ? intValues(graph, producers, inputs[3]) : undefined;
    steps = inputs[4] ? intValues(graph, producers, inputs[4]) : undefined;
    if (axes === null || steps === null) return null;
  } else {
    starts = attrInts(node, 'starts');
    ends = attrInts(node, 'ends');
    axes = attrInts(node, 'axes');
  }
  if (!starts || !ends || starts.length !== ends.length) return null;
  const n = starts.length;
  axes ??= Array.from({ length: n }, (_, i) => BigInt(i));
  steps ??= Array.from({ length: n }, () => 1n);
  if (axes.length !== n || steps.length !== n) return null;
  return starts.map((start, i) => {
    const a = Number(axes[i]);
    return { axis: a < 0 ? a + rank : a, start, end: ends[i], step: steps[i] };
  });
}

/** Whether a slice keeps an axis of size `dim` whole (start 0, step 1, end at or past the end). */
function isFullAxis(s: SliceStep, dim: number | null): boolean {
  const reachesEnd = s.end >= TO_THE_END || (dim !== null && s.end >= BigInt(dim));
  return s.start === 0n && s.step === 1n && reachesEnd;
}

function matchFocus(
  graph: GraphProto,
  conv: NodeProto,
  opset: number,
  producers: Map<string, NodeProto>,
  consumers: Map<string, NodeProto[]>,
  infos: ReturnType<typeof valueInfoMap>,
  graphOutputs: Set<string>,
): FocusMatch | null {
  if (conv.op_type !== 'Conv' || !isDefaultDomain(conv.domain)) return null;
  const [x, w] = conv.input ?? [];
  if (!x || !w) return null;
  const concat = producers.get(x);
  if (!concat || concat.op_type !== 'Concat' || !isDefaultDomain(concat.domain)) return null;
  if ((concat.input ?? []).length !== 4 || (concat.output ?? []).length !== 1) return null;
  if (graphOutputs.has(x) || (consumers.get(x) ?? []).length !== 1) return null;
  if ((conv.input ?? []).filter((i) => i === x).length !== 1) return null;

  // Conv: group 1, stride 1, dilation 1, odd kernel, symmetric "same" padding, static weights.
  const weight = getInitializer(graph, w);
  if (!weight || (weight.data_type !== DataType.FLOAT && weight.data_type !== DataType.FLOAT16)) return null;
  const wDims = tensorDims(weight);
  if (wDims.length !== 4) return null;
  const [, cin, kh, kw] = wDims;
  if (cin % 4 !== 0 || kh % 2 !== 1 || kw % 2 !== 1) return null;
  if (attrInt(conv, 'group', 1) !== 1) return null;
  const ones = (v: bigint[] | undefined): boolean => v === undefined || (v.length === 2 && v.every((d) => d === 1n));
  if (!ones(attrInts(conv, 'strides')) || !ones(attrInts(conv, 'dilations'))) return null;
  const kernel = attrInts(conv, 'kernel_shape');
  if (kernel && (kernel.length !== 2 || kernel[0] !== BigInt(kh) || kernel[1] !== BigInt(kw))) return null;
  const [ph, pw] = [(kh - 1) / 2, (kw - 1) / 2];
  const autoPad = attrString(conv, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = attrInts(conv, 'pads') ?? [0n, 0n, 0n, 0n];
    if (pads.length !== 4 || pads.join() !== [ph, pw, ph, pw].join()) return null;
  } else if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    return null; // VALID: no padding, not the Focus conv
  } // SAME_* with stride 1 and an odd kernel pads (k−1)/2 on both sides

  // Concat on channels of four slice chains of one rank-4 tensor.
  const concatAxis = attrInt(concat, 'axis', opset >= 4 ? Number.NaN : 1);
  if (concatAxis !== 1 && concatAxis !== -3) return null;
  const phases: [number, number][] = [];
  const slices: NodeProto[] = [];
  let root: string | null = null;
  let dims: (number | string | null)[] | null = null;
  for (const input of concat.input ?? []) {
    const perAxis = new Map<number, SliceStep>();
    let v = input;
    for (let node = producers.get(v); node?.op_type === 'Slice' && isDefaultDomain(node.domain); node = producers.get(v)) {
      const base = node.input?.[0] ?? '';
      // the chain is read from the end back to the root: the root's shape gives the rank
      const rootDims = rootShape(base, producers, infos);
      if (!rootDims) return null;
      const steps = sliceSteps(graph, producers, node, opset, rootDims.length);
      if (!steps) return null;
      for (const s of steps) {
        if (perAxis.has(s.axis) || s.axis < 0 || s.axis >= rootDims.length) return null; // each axis sliced once
        perAxis.set(s.axis, s);
      }
      slices.push(node);
      v = base;
    }
    if (v === input) return null; // not a slice
    if (root === null) {
      root = v;
      dims = shapeOf(v, producers, infos);
    } else if (root !== v) return null;
    if (!dims || dims.length !== 4) return null;
    const [, , h, wd] = dims;
    if (typeof h !== 'number' || typeof wd !== 'number' || h % 2 !== 0 || wd % 2 !== 0 || h <= 0 || wd <= 0) return null;
    const phase: number[] = [];
    for (const axis of [2, 3]) {
      const s = perAxis.get(axis);
      const size = axis === 2 ? h : wd;
      if (!s || s.step !== 2n || (s.start !== 0n && s.start !== 1n)) return null;
      if (!(s.end >= TO_THE_END || s.end >= BigInt(size))) return null;
      phase.push(Number(s.start));
    }
    for (const [axis, s] of perAxis) {
      if (axis !== 2 && axis !== 3 && !isFullAxis(s, typeof dims[axis] === 'number' ? (dims[axis] as number) : null)) return null;
    }
    phases.push([phase[0], phase[1]]);
  }
  const seen = new Set(phases.map(([dy, dx]) => dy * 2 + dx));
  if (seen.size !== 4 || root === null || !dims) return null;
  const channels = cin / 4;
  if (typeof dims[1] === 'number' && dims[1] !== channels) return null;
  return { concat, conv, root, phases, slices: [...new Set(slices)], channels };
}

/** The shape of the tensor at the root of a slice chain starting at `name`. */
function rootShape(name: string, producers: Map<string, NodeProto>, infos: ReturnType<typeof valueInfoMap>): (number | string | null)[] | null {
  let v = name;
  for (let node = producers.get(v); node?.op_type === 'Slice'; node = producers.get(v)) v = node.input?.[0] ?? '';
  return shapeOf(v, producers, infos);
}

/**
 * The static shape of a value from its value info, or else from the input of the Cast/Identity
 * producing it (e.g. the Cast a float16 conversion puts behind a float32 graph input).
 */
function shapeOf(name: string, producers: Map<string, NodeProto>, infos: ReturnType<typeof valueInfoMap>): (number | string | null)[] | null {
  let v = name;
  for (let hops = 0; hops < 8; hops++) {
    const shape = tensorTypeOf(infos.get(v))?.shape;
    if (shape) return shape;
    const node = producers.get(v);
    if (!node || !isDefaultDomain(node.domain) || (node.op_type !== 'Cast' && node.op_type !== 'Identity')) return null;
    v = node.input?.[0] ?? '';
  }
  return null;
}

// ------------------------------------------------------------------------------------------
// rewriting
// ------------------------------------------------------------------------------------------

function rewrite(graph: GraphProto, m: FocusMatch, names: NameScope): void {
  const { conv, concat, root, phases, channels: C } = m;
  const wName = conv.input![1];
  const weight = getInitializer(graph, wName)!;
  const [O, , kh, kw] = tensorDims(weight);
  const src = tensorToFloat32(weight);
  const KH = 2 * kh;
  const KW = 2 * kw;
  const dst = new Float32Array(O * C * KH * KW);
  for (let o = 0; o < O; o++) {
    for (let g = 0; g < 4; g++) {
      const [dy, dx] = phases[g];
      for (let c = 0; c < C; c++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const from = ((o * 4 * C + g * C + c) * kh + ky) * kw + kx;
            const to = ((o * C + c) * KH + 2 * ky + dy) * KW + 2 * kx + dx;
            dst[to] = src[from];
          }
        }
      }
    }
  }
  const newName = names.fresh(`${wName}_s2d`);
  const tensor =
    weight.data_type === DataType.FLOAT16
      ? makeTensor(newName, Uint16Array.from(dst, (v) => toFloat16Bits(v)), [O, C, KH, KW], DataType.FLOAT16)
      : makeTensor(newName, dst, [O, C, KH, KW]);
  graph.initializer!.push(tensor);

  conv.input![0] = root;
  conv.input![1] = newName;
  removeAttribute(conv, 'auto_pad');
  const [ph, pw] = [(kh - 1) / 2, (kw - 1) / 2];
  setAttribute(conv, makeAttribute('kernel_shape', { ints: [KH, KW] }));
  setAttribute(conv, makeAttribute('strides', { ints: [2, 2] }));
  setAttribute(conv, makeAttribute('pads', { ints: [2 * ph, 2 * pw, 2 * ph, 2 * pw] }));
  setAttribute(conv, makeAttribute('dilations', { ints: [1, 1] }));
  setAttribute(conv, makeAttribute('group', 1));

  graph.node!.splice(graph.node!.indexOf(concat), 1);
  dropValueInfo(graph, concat.output ?? []);
  // the old weight goes when no other node reads it
  if (!(graph.node ?? []).some((n) => (n.input ?? []).includes(wName))) removeInitializer(graph, wName);
}

function dropValueInfo(graph: GraphProto, values: readonly string[]): void {
  const gone = new Set(values);
  if (graph.value_info) graph.value_info = graph.value_info.filter((vi) => !gone.has(vi.name ?? ''));
}

/**
 * Remove the given nodes when nothing reads their outputs anymore (repeatedly, so chains go),
 * then the Constant nodes and initializers that only they read.
 */
function removeDeadNodes(graph: GraphProto, candidates: NodeProto[]): void {
  const outputs = new Set((graph.output ?? []).map((vi) => vi.name ?? ''));
  const pending = new Set(candidates);
  const freed = new Set<string>(); // inputs of removed nodes
  for (let changed = true; changed; ) {
    changed = false;
    const consumers = consumerMap(graph);
    for (const node of pending) {
      const used = (node.output ?? []).some((o) => o && (outputs.has(o) || (consumers.get(o)?.length ?? 0) > 0));
      if (used) continue;
      graph.node!.splice(graph.node!.indexOf(node), 1);
      dropValueInfo(graph, node.output ?? []);
      for (const i of node.input ?? []) if (i) freed.add(i);
      pending.delete(node);
      changed = true;
    }
  }
  const consumers = consumerMap(graph);
  const producers = producerMap(graph);
  for (const name of freed) {
    if ((consumers.get(name)?.length ?? 0) > 0 || outputs.has(name)) continue;
    const producer = producers.get(name);
    if (producer?.op_type === 'Constant') graph.node!.splice(graph.node!.indexOf(producer), 1);
    else if (!producer) removeInitializer(graph, name);
  }
}
