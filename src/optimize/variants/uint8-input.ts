/**
 * Fold the input conversion into the graph: the model takes the pixels as they come — uint8,
 * NHWC [N, H, W, 3], in the channel order the profile already uses — and converts them itself
 * (Cast → Transpose → Mul(scale) → Sub(mean) → Div(std)). The pre-processing then only resizes
 * and places bytes (no lookup tables, 4× less memory to write and to hand to onnxruntime),
 * and onnxruntime runs the conversion with its vectorized kernels.
 *
 * The graph computes `(v · scale − mean[c]) / std[c]` in the input's float type, exactly the
 * formula of core/tensor-layout.ts (which evaluates it in double precision and rounds once, so
 * values may differ in the last bit). Steps that do nothing (scale 1, mean 0, std 1) are left out.
 */
import { TearlessError } from '../../core/errors.js';
import { toFloat16Bits } from '../../core/float16.js';
import type { ModelProfile } from '../../core/types.js';
import type { ProfileOverrides } from '../../core/profile/overrides.js';
import { NameScope, insertNodes, makeNode } from '../onnx/graph.js';
import { cloneModel, dataTypeName, getOpset, graphInputs, makeTensor, makeTensorValueInfo, tensorTypeOf, type OnnxModel } from '../onnx/model.js';
import { DataType, type NodeProto } from '../onnx/schema.js';

/**
 * A new model whose image input is uint8 NHWC with the conversion inside the graph, and the
 * profile that feeds it (dtype 'uint8', layout 'nhwc', scale 1, mean 0, std 1, same channel
 * order, size, placement and padding; `name` is the new input's name, `<old>_uint8`). The old
 * input name becomes the output of the conversion, so the rest of the graph is untouched;
 * other inputs (e.g. a DETR-style original-size input) are kept as they are.
 *
 * Throws TL_ERR_BAD_OPTION when the profile's input is not a float32/float16 graph input of
 * rank 4 matching the profile's layout, and TL_ERR_NOT_IMPLEMENTED below opset 7 (no
 * broadcasting Mul/Sub/Div).
 */
export function foldInputConversion(model: OnnxModel, profile: ModelProfile): { model: OnnxModel; profile: ModelProfile } {
  const spec = profile.input;
  const opset = getOpset(model, '') ?? 0;
  if (opset < 7) {
    throw new TearlessError('TL_ERR_NOT_IMPLEMENTED', `Folding the input conversion needs opset 7 or later (broadcasting Mul/Sub/Div); this model uses opset ${opset}.`);
  }
  const input = graphInputs(model).find((vi) => vi.name === spec.name);
  if (!input) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `The profile's input "${spec.name}" is not an input of the model (inputs: ${graphInputs(model).map((v) => v.name).join(', ')}).`);
  }
  const type = tensorTypeOf(input);
  const elemType = type?.elemType ?? 0;
  if (elemType === DataType.UINT8) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Input "${spec.name}" already takes uint8 pixels; nothing to fold.`);
  }
  if (elemType !== DataType.FLOAT && elemType !== DataType.FLOAT16) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Input "${spec.name}" is ${dataTypeName(elemType)}; only float32 and float16 image inputs can take uint8 pixels instead.`);
  }
  const shape = type?.shape;
  if (!shape || shape.length !== 4) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Input "${spec.name}" must have rank 4 (${spec.layout.toUpperCase()}), but its shape is ${shape ? `[${shape.join(', ')}]` : 'unknown'}.`);
  }
  const channelAxis = spec.layout === 'nchw' ? 1 : 3;
  if (typeof shape[channelAxis] === 'number' && shape[channelAxis] !== 3) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Input "${spec.name}" has shape [${shape.join(', ')}]: dimension ${channelAxis} should be the 3 channels of layout ${spec.layout}.`);
  }
  const [n, h, w] = spec.layout === 'nchw' ? [shape[0], shape[2], shape[3]] : [shape[0], shape[1], shape[2]];

  const out = cloneModel(model);
  const graph = out.graph;
  const names = new NameScope(graph);
  const oldName = spec.name;
  const newName = names.fresh(`${oldName}_uint8`);
  const isHalf = elemType === DataType.FLOAT16;
  const constant = (base: string, values: readonly number[]): string => {
    const name = names.fresh(`${oldName}_${base}`);
    const dims = values.length === 1 ? [] : spec.layout === 'nchw' ? [1, 3, 1, 1] : [3];
    graph.initializer ??= [];
    graph.initializer.push(
      isHalf
        ? makeTensor(name, Uint16Array.from(values, (v) => toFloat16Bits(v)), dims, DataType.FLOAT16)
        : makeTensor(name, Float32Array.from(values), dims),
    );
    return name;
  };

  // Cast → Transpose (NCHW only) → Mul → Sub → Div, each step skipped when it is the identity.
  type Step = { op: string; inputs: (string | null)[]; attributes?: Record<string, number | { ints: number[] }> };
  const steps: Step[] = [{ op: 'Cast', inputs: [null], attributes: { to: elemType } }];
  if (spec.layout === 'nchw') steps.push({ op: 'Transpose', inputs: [null], attributes: { perm: { ints: [0, 3, 1, 2] } } });
  if (spec.scale !== 1) steps.push({ op: 'Mul', inputs: [null, constant('scale', [spec.scale])] });
  if (spec.mean.some((m) => m !== 0)) steps.push({ op: 'Sub', inputs: [null, constant('mean', spec.mean)] });
  if (spec.std.some((s) => s !== 1)) steps.push({ op: 'Div', inputs: [null, constant('std', spec.std)] });
  const nodes: NodeProto[] = [];
  let current = newName;
  steps.forEach((step, i) => {
    const output = i === steps.length - 1 ? oldName : names.fresh(`${oldName}_${step.op.toLowerCase()}`);
    nodes.push(
      makeNode(step.op, step.inputs.map((x) => x ?? current), [output], {
        name: names.fresh(`${oldName}_uint8_${step.op}`),
        attributes: step.attributes,
      }),
    );
    current = output;
  });
  insertNodes(graph, nodes, 0);

  // The new input takes the old one's place in graph.input; the old name becomes an internal value.
  const position = graph.input!.findIndex((vi) => vi.name === oldName);
  const oldInfo = graph.input![position];
  const newInfo = makeTensorValueInfo(newName, DataType.UINT8, [n, h, w, 3]);
  if (oldInfo.doc_string) newInfo.doc_string = oldInfo.doc_string;
  graph.input!.splice(position, 1, newInfo);
  graph.value_info ??= [];
  graph.value_info.push(oldInfo);

  const newProfile: ModelProfile = {
    ...profile,
    input: { ...spec, name: newName, layout: 'nhwc', dtype: 'uint8', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    source: `${profile.source ?? 'profile'} + uint8 NHWC input folded into the graph`,
  };
  return { model: out, profile: newProfile };
}

/**
 * The profile as sidecar JSON content (`<model>.json` beside the .onnx, read by
 * pipeline/model-source.ts): everything but `source`, which sidecars may not contain.
 */
export function profileSidecar(profile: ModelProfile, description?: string): ProfileOverrides & { description?: string } {
  return {
    ...(description ? { description } : {}),
    input: { ...profile.input },
    output: { ...profile.output },
    labels: [...profile.labels],
    nms: profile.nms,
  };
}
