/** Shared test helpers: fixture paths and the optional larger data beside the repo. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { makeTensorValueInfo, type makeTensor, type OnnxModel } from '../src/optimize/onnx/model.js';
import { DataType, type NodeProto } from '../src/optimize/onnx/schema.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const fixtureModel = (name: string): string => path.join(FIXTURES, 'models', name);
export const fixtureImage = (name: string): string => path.join(FIXTURES, 'images', name);
export const BUNDLED_MODEL = path.join(ROOT, 'models', 'yolox_nano_416_coco.onnx');

/** `../shared/data/<rel>` when that folder exists beside the repo (CI and dev machines), else null. */
export function sharedData(rel: string): string | null {
  const p = path.resolve(ROOT, '..', 'shared', 'data', rel);
  return existsSync(p) ? p : null;
}

/** mulberry32: a small seeded PRNG, so generated test and bench data are the same every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Largest |a[i] − b[i]| (asserts equal lengths). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Largest element difference of two float tensors of the same shape. */
export function maxAbsTensorDiff(a: ort.Tensor, b: ort.Tensor): number {
  assert.deepEqual(b.dims, a.dims);
  return maxAbsDiff(a.data as Float32Array, b.data as Float32Array);
}

/** A small float ONNX model built in a test (opset 13 unless given; carries one metadata entry). */
export function tinyOnnxModel(
  nodes: NodeProto[],
  inputs: [string, number[]][],
  outputs: [string, number[] | null][],
  initializers: ReturnType<typeof makeTensor>[] = [],
  opset = 13,
): OnnxModel {
  return {
    ir_version: 8,
    producer_name: 'tearless-test',
    opset_import: [{ domain: '', version: opset }],
    metadata_props: [{ key: 'tearless.test', value: 'kept' }],
    graph: {
      name: 'test',
      node: nodes,
      initializer: initializers,
      input: inputs.map(([n, s]) => makeTensorValueInfo(n, DataType.FLOAT, s)),
      output: outputs.map(([n, s]) => makeTensorValueInfo(n, DataType.FLOAT, s)),
    },
  };
}
