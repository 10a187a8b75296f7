/**
 * Open Inference Protocol v2 (KServe v2 / Triton HTTP/REST): health, server and model metadata,
 * model readiness, inference with JSON tensors and the binary tensor data extension, the model
 * repository extension (index/load/unload) and the statistics extension.
 *
 * Inference has two modes:
 * - raw tensors: the request's inputs are the model's inputs (names, datatypes and fixed
 *   dimensions checked against the model), passed through the model's queue, and the model's
 *   outputs come back as tensors;
 * - image: exactly ONE input of datatype BYTES (any name, one element) holding an encoded image
 *   (base64 in JSON, raw bytes as binary data); it is decoded and detected server-side and the
 *   outputs are `boxes` [N,4] FP32 (x1, y1, x2, y2 in image pixels), `scores` [N] FP32, `classes`
 *   [N] INT32 and `labels` [N] BYTES. Request parameters `conf`, `iou`, `max_det`, `classes` and
 *   `agnostic` tune the detection.
 *
 * Registered WITHOUT fastify-plugin on purpose: the body parsers (every content type read as a
 * buffer, split into the JSON header and the binary tensor data here) stay inside this plugin.
 * Errors are TearlessErrors rendered by the server's error handler as `{"error", "code"}`.
 */
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { TearlessError, checkInteger, checkNumber, describeValue } from '../../core/errors.js';
import { fromFloat16Bits, toFloat16Bits } from '../../core/float16.js';
import type { CoreTensor, DetectOptions, TensorDataType, ValueInfo } from '../../core/types.js';
import type { StageTimings } from '../../pipeline/detector.js';
import { checkModelName, checkVersion } from '../model-repository.js';
import type { ModelManager, ModelStats, ModelVersionStatus, ServedModel } from '../types.js';

export interface OipV2Options {
  manager: ModelManager;
  /** The server's body limit in bytes (default: fastify's `bodyLimit`). */
  bodyLimit?: number;
  /**
   * Body limit of the inference routes (default `bodyLimit`). JSON tensors are ~10× larger than
   * their binary form: a [1,3,640,640] FP32 tensor is ~15 MB as JSON, 4.9 MB as binary data.
   */
  inferBodyLimit?: number;
}

/** The protocol extensions this plugin implements (reported by `GET /v2`). */
export const OIP_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics'] as const;

/** Names of the outputs of image mode, in response order. */
export const IMAGE_MODE_OUTPUTS = ['boxes', 'scores', 'classes', 'labels'] as const;

// ---------------------------------------------------------------------------------------------
// Datatypes

type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

const OIP_TO_TYPE: Record<OipDatatype, TensorDataType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const TYPE_TO_OIP = Object.fromEntries(Object.entries(OIP_TO_TYPE).map(([k, v]) => [v, k])) as Record<TensorDataType, OipDatatype>;

/** Bytes per element in binary form (BYTES elements are length-prefixed, variable). */
const ELEMENT_BYTES: Record<OipDatatype, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8, BYTES: 0,
};

/** Ranges of the integer datatypes that arrive as JSON numbers (64-bit: the safe-integer range). */
const INT_RANGE: Partial<Record<OipDatatype, [number, number]>> = {
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295], UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647], INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function isOipDatatype(v: unknown): v is OipDatatype {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(OIP_TO_TYPE, v);
}

function oipDatatype(type: TensorDataType | 'unknown'): string {
  return type === 'unknown' ? 'UNKNOWN' : TYPE_TO_OIP[type] ?? 'UNKNOWN';
}

/** Model dimensions in OIP form: symbolic/unknown dimensions are -1. */
function oipShape(shape: readonly (number | string)[]): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const bad = (message: string): TearlessError => new TearlessError('TL_ERR_BAD_REQUEST', message);
const notImplemented = (message: string): TearlessError => new TearlessError('TL_ERR_NOT_IMPLEMENTED', message);

/** Deepest nesting of `data` arrays accepted (a tensor of rank 32 is already absurd). */
const MAX_DEPTH = 32;
const MAX_RANK = 32;
/** Largest tensor accepted in one request, in elements. */
const MAX_ELEMENTS = 2 ** 31 - 1;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(v: unknown): string {
  const s = describeValue(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function readVersion(): string {
  try {
    // src/server/plugins/ and dist/server/plugins/ are both three levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Node runs on little-endian hardware everywhere it is supported; the binary format is LE. */
function bytesOf(data: Exclude<CoreTensor['data'], string[]>): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Request parsing

interface RequestOutputSpec {
  name: string;
  binary: boolean;
}

interface DecodedInput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  /** Numeric data, or null for BYTES. */
  data: Exclude<CoreTensor['data'], string[]> | null;
  /** BYTES elements: JSON strings (still encoded as the client sent them) or raw binary elements. */
  strings?: string[];
  bytes?: Uint8Array[];
}

interface ParsedRequest {
  id?: string;
  parameters: Json;
  inputs: DecodedInput[];
  outputs?: RequestOutputSpec[];
  binaryOutput: boolean;
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** The request body, decompressed when it has `Content-Encoding: gzip | deflate` (at most `limit` bytes). */
async function requestBytes(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  const body = request.body;
  if (!Buffer.isBuffer(body)) return undefined;
  const raw = request.headers['content-encoding'];
  const encoding = (Array.isArray(raw) ? raw.join(',') : raw ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new TearlessError('TL_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding.slice(0, 32)}" is not supported; send gzip, deflate or uncompressed bodies.`);
  }
  try {
    return await (encoding === 'gzip' ? gunzipAsync : inflateAsync)(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new TearlessError('TL_ERR_PAYLOAD_TOO_LARGE', `The ${encoding}-compressed request body inflates to more than the limit of ${limit} bytes.`);
    }
    throw bad(`The request body is not valid ${encoding} data (Content-Encoding: ${encoding}).`);
  }
}

/** Split the body into the JSON header and the binary tensor data (binary tensor data extension). */
function splitBody(request: FastifyRequest, body: Buffer | undefined): { header: unknown; binary: Buffer } {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw bad('The request body is empty: expected an inference request JSON object (see the Open Inference Protocol).');
  }
  const raw = request.headers['inference-header-content-length'];
  let headerLength = body.length;
  if (raw !== undefined) {
    const text = Array.isArray(raw) ? raw.join(',') : raw;
    if (!/^\d{1,15}$/.test(text.trim())) {
      throw bad(`Inference-Header-Content-Length must be a byte count, got "${text.slice(0, 32)}".`);
    }
    headerLength = Number(text.trim());
    if (headerLength > body.length) {
      throw bad(`Inference-Header-Content-Length (${headerLength}) is larger than the request body (${body.length} bytes).`);
    }
    if (headerLength === 0) throw bad('Inference-Header-Content-Length is 0: the body must start with the inference request JSON.');
  }
  let header: unknown;
  try {
    header = JSON.parse(body.toString('utf8', 0, headerLength));
  } catch (err) {
    const hint = raw === undefined && body.length > 0 && body[0] !== 0x7b && body[0] !== 0x20
      ? ' For binary tensor data send the JSON first and its length in the Inference-Header-Content-Length header.'
      : '';
    throw bad(`Malformed inference request JSON: ${(err as Error).message}.${hint}`);
  }
  return { header, binary: body.subarray(headerLength) };
}

/** A JSON body of a non-inference POST (repository APIs): empty or an object. */
function optionalJsonBody(request: FastifyRequest): Json {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0 || body.toString('utf8').trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw bad(`Malformed JSON body: ${(err as Error).message}.`);
  }
  if (!isObject(parsed)) throw bad(`Expected a JSON object as the request body but received ${short(parsed)}.`);
  return parsed;
}

/** Flatten nested `data` arrays (row-major), stopping as soon as there are more than `expected` elements. */
function flattenData(data: unknown, expected: number, where: string): unknown[] {
  if (!Array.isArray(data)) throw bad(`${where}.data must be an array (flat or nested) but is ${short(data)}.`);
  let nested = false;
  for (let i = 0; i < data.length; i++) {
    if (Array.isArray(data[i])) {
      nested = true;
      break;
    }
  }
  if (!nested) return data;
  const out: unknown[] = [];
  const stack: { arr: unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length >= MAX_DEPTH) throw bad(`${where}.data is nested deeper than ${MAX_DEPTH} levels.`);
      stack.push({ arr: v, i: 0 });
    } else {
      out.push(v);
      if (out.length > expected) break; // the count check reports it
    }
  }
  return out;
}

/** JSON elements → typed data of `datatype`. */
function jsonElements(datatype: OipDatatype, values: unknown[], where: string): Exclude<CoreTensor['data'], string[]> | string[] {
  const n = values.length;
  const badElement = (i: number, what: string): TearlessError =>
    bad(`${where}.data[${i}]: expected ${what} for datatype ${datatype} but received ${short(values[i])}.`);
  switch (datatype) {
    case 'FP32':
    case 'FP64':
    case 'FP16': {
      const out = datatype === 'FP32' ? new Float32Array(n) : datatype === 'FP64' ? new Float64Array(n) : new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number') throw badElement(i, 'a number');
        out[i] = datatype === 'FP16' ? toFloat16Bits(v) : v;
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') throw badElement(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'BYTES': {
      for (let i = 0; i < n; i++) if (typeof values[i] !== 'string') throw badElement(i, 'a string');
      return values as string[];
    }
    default: {
      const [min, max] = INT_RANGE[datatype]!;
      const check = (i: number): number => {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badElement(i, `an integer in [${min}, ${max}]`);
        return v;
      };
      if (datatype === 'INT64' || datatype === 'UINT64') {
        const out = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
        for (let i = 0; i < n; i++) out[i] = BigInt(check(i));
        return out;
      }
      const Ctor = { UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, INT8: Int8Array, INT16: Int16Array, INT32: Int32Array }[datatype as 'UINT8'];
      const out = new Ctor(n);
      for (let i = 0; i < n; i++) out[i] = check(i);
      return out;
    }
  }
}

/** Binary tensor data → typed data (copied, so it is aligned and owned). */
function binaryElements(datatype: Exclude<OipDatatype, 'BYTES'>, chunk: Buffer, count: number, where: string): Exclude<CoreTensor['data'], string[]> {
  const size = ELEMENT_BYTES[datatype];
  if (chunk.length !== count * size) {
    throw bad(`${where}: binary_data_size is ${chunk.length} bytes but shape × ${datatype} needs ${count} × ${size} = ${count * size} bytes.`);
  }
  const copy = new Uint8Array(chunk.length);
  copy.set(chunk);
  const buf = copy.buffer;
  switch (datatype) {
    case 'BOOL': return copy.map((v) => (v ? 1 : 0));
    case 'UINT8': return copy;
    case 'INT8': return new Int8Array(buf);
    case 'UINT16': case 'FP16': return new Uint16Array(buf);
    case 'INT16': return new Int16Array(buf);
    case 'UINT32': return new Uint32Array(buf);
    case 'INT32': return new Int32Array(buf);
    case 'FP32': return new Float32Array(buf);
    case 'UINT64': return new BigUint64Array(buf);
    case 'INT64': return new BigInt64Array(buf);
    case 'FP64': return new Float64Array(buf);
  }
}

/**
 * Binary BYTES elements: each a 4-byte little-endian length and the bytes. A single element sent
 * without the length prefix (a raw image) is accepted as that element.
 */
function binaryBytesElements(chunk: Buffer, count: number, where: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let ok = true;
  while (at < chunk.length) {
    if (at + 4 > chunk.length) {
      ok = false;
      break;
    }
    const len = chunk.readUInt32LE(at);
    if (at + 4 + len > chunk.length) {
      ok = false;
      break;
    }
    out.push(chunk.subarray(at + 4, at + 4 + len));
    at += 4 + len;
    if (out.length > count) break;
  }
  if (ok && out.length === count) return out;
  if (count === 1) return [chunk]; // one element without a length prefix
  throw bad(`${where}: the BYTES binary data does not hold ${count} length-prefixed element(s) (each a 4-byte little-endian length, then the bytes).`);
}

function parseShape(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) throw bad(`${where}.shape must be an array of non-negative integers but is ${short(v)}.`);
  if (v.length > MAX_RANK) throw bad(`${where}.shape has rank ${v.length}; at most ${MAX_RANK} dimensions are accepted.`);
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw bad(`${where}.shape must be an array of non-negative integers but contains ${short(d)}.`);
  }
  const shape = v as number[];
  if (product(shape) > MAX_ELEMENTS) throw bad(`${where}.shape ${fmtShape(shape)} has more than ${MAX_ELEMENTS} elements.`);
  return shape;
}

/** A `parameters` object; on tensors (`sharedMemory`) the shared-memory parameters are refused with 501. */
function checkParameters(v: unknown, where: string, sharedMemory = false): Json {
  if (v === undefined) return {};
  if (!isObject(v)) throw bad(`${where}.parameters must be an object but is ${short(v)}.`);
  if (!sharedMemory) return v;
  for (const key of ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset']) {
    if (key in v) throw notImplemented(`${where}: the shared-memory extension is not supported by this server ("${key}"); send the tensor data in the request.`);
  }
  return v;
}

function booleanParameter(params: Json, key: string, where: string): boolean | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`${where}.parameters.${key} must be true or false but is ${short(v)}.`);
  return v;
}

/** Parse and validate the inference request object (model-independent checks). */
function parseInferRequest(header: unknown, binary: Buffer): ParsedRequest {
  if (!isObject(header)) throw bad(`The inference request must be a JSON object but is ${short(header)}.`);
  const { id, inputs, outputs } = header;
  if (id !== undefined && typeof id !== 'string') throw bad(`"id" must be a string but is ${short(id)}.`);
  const parameters = checkParameters(header.parameters, 'request');
  for (const key of ['sequence_id', 'sequence_start', 'sequence_end']) {
    if (parameters[key] !== undefined && parameters[key] !== 0 && parameters[key] !== false && parameters[key] !== '') {
      throw notImplemented(`The sequence extension is not supported by this server (request parameter "${key}").`);
    }
  }
  const binaryOutput = booleanParameter(parameters, 'binary_data_output', 'request') ?? false;
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('"inputs" must be a non-empty array of tensors ({name, shape, datatype, data}).');

  const seen = new Set<string>();
  let offset = 0;
  const decoded: DecodedInput[] = inputs.map((input: unknown, k) => {
    let where = `inputs[${k}]`;
    if (!isObject(input)) throw bad(`${where} must be an object but is ${short(input)}.`);
    const { name, datatype } = input;
    if (typeof name !== 'string' || name === '') throw bad(`${where}.name must be a non-empty string but is ${short(name)}.`);
    where = `input "${name.slice(0, 64)}"`;
    if (seen.has(name)) throw bad(`${where} is given twice.`);
    seen.add(name);
    if (!isOipDatatype(datatype)) {
      throw bad(`${where}: datatype ${short(datatype)} is not supported; use one of ${Object.keys(OIP_TO_TYPE).join(', ')}.`);
    }
    const shape = parseShape(input.shape, where);
    const count = product(shape);
    const params = checkParameters(input.parameters, where, true);
    const size = params.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw bad(`${where}: parameters.binary_data_size must be a non-negative integer but is ${short(size)}.`);
      }
      if (input.data !== undefined) throw bad(`${where} has both "data" and parameters.binary_data_size; send one of them.`);
      if (offset + size > binary.length) {
        throw bad(`${where}: binary_data_size ${size} runs past the end of the body (${binary.length - offset} binary bytes left after the JSON header); the sizes do not add up.`);
      }
      const chunk = binary.subarray(offset, offset + size);
      offset += size;
      if (datatype === 'BYTES') return { name, datatype, shape, data: null, bytes: binaryBytesElements(chunk, count, where) };
      return { name, datatype, shape, data: binaryElements(datatype, chunk, count, where) };
    }
    if (input.data === undefined) throw bad(`${where} has no "data" (and no parameters.binary_data_size for binary data).`);
    const values = flattenData(input.data, count, where);
    if (values.length !== count) {
      throw bad(`${where}: shape ${fmtShape(shape)} has ${count} element(s) but data has ${values.length > count ? 'more' : values.length}.`);
    }
    const data = jsonElements(datatype, values, where);
    if (Array.isArray(data)) return { name, datatype, shape, data: null, strings: data };
    return { name, datatype, shape, data };
  });
  if (offset !== binary.length) {
    throw bad(`The binary data sizes of the inputs add up to ${offset} bytes but ${binary.length} bytes follow the JSON header.`);
  }

  let requested: RequestOutputSpec[] | undefined;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw bad(`"outputs" must be an array but is ${short(outputs)}.`);
    const names = new Set<string>();
    requested = outputs.map((o: unknown, k) => {
      if (!isObject(o) || typeof o.name !== 'string' || o.name === '') throw bad(`outputs[${k}] must be an object with a "name" string.`);
      if (names.has(o.name)) throw bad(`output "${o.name.slice(0, 64)}" is requested twice.`);
      names.add(o.name);
      const where = `output "${o.name.slice(0, 64)}"`;
      const params = checkParameters(o.parameters, where, true);
      if (params.classification !== undefined) throw notImplemented(`${where}: the classification extension is not supported by this server.`);
      return { name: o.name, binary: booleanParameter(params, 'binary_data', where) ?? binaryOutput };
    });
  }
  return { id: id as string | undefined, parameters, inputs: decoded, outputs: requested, binaryOutput };
}

// ---------------------------------------------------------------------------------------------
// Raw mode: validation against the model

function describeInputs(inputs: readonly ValueInfo[]): string {
  return inputs.map((i) => `${i.name} (${oipDatatype(i.type)} ${fmtShape(oipShape(i.shape))})`).join(', ');
}

function rawFeeds(model: ServedModel, inputs: readonly DecodedInput[]): Record<string, CoreTensor> {
  const modelInputs = model.info.inputs;
  const feeds: Record<string, CoreTensor> = {};
  let batch: number | undefined;
  for (const input of inputs) {
    const where = `input "${input.name.slice(0, 64)}"`;
    const spec = modelInputs.find((m) => m.name === input.name);
    if (!spec) {
      const hint = input.datatype === 'BYTES'
        ? ' (A BYTES input selects image mode only when it is the one and only input.)'
        : '';
      throw bad(`Model "${model.name}" has no input "${input.name.slice(0, 64)}"; its inputs are ${describeInputs(modelInputs)}.${hint}`);
    }
    const expected = oipDatatype(spec.type);
    if (spec.type !== 'unknown' && expected !== input.datatype) {
      throw bad(`${where}: datatype ${input.datatype} does not match the model's ${expected}.`);
    }
    const modelShape = oipShape(spec.shape);
    if (modelShape.length > 0 && input.shape.length !== modelShape.length) {
      throw bad(`${where}: shape ${fmtShape(input.shape)} has ${input.shape.length} dimension(s) but the model expects ${modelShape.length} (${fmtShape(modelShape)}, -1 = any).`);
    }
    modelShape.forEach((d, i) => {
      if (d >= 0 && input.shape[i] !== d) {
        throw bad(`${where}: shape ${fmtShape(input.shape)} does not match the model's ${fmtShape(modelShape)} (dimension ${i} must be ${d}).`);
      }
      if (d < 0 && input.shape[i] === 0) throw bad(`${where}: shape ${fmtShape(input.shape)} has an empty dimension ${i}; empty tensors are not accepted.`);
    });
    // Inputs whose first dimension is dynamic are batched together: their batch sizes must agree.
    if (modelShape.length > 0 && modelShape[0] < 0) {
      const n = input.shape[0];
      if (n > model.maxBatchSize && model.maxBatchSize > 0) {
        throw bad(`${where}: batch size ${n} exceeds the model's max_batch_size ${model.maxBatchSize}.`);
      }
      if (batch !== undefined && batch !== n && modelInputs.every((m) => m.shape.length > 0 && typeof m.shape[0] !== 'number')) {
        throw bad(`The inputs disagree on the batch size (dimension 0): ${batch} vs ${n} for ${where}.`);
      }
      batch ??= n;
    }
    const type = spec.type === 'unknown' ? OIP_TO_TYPE[input.datatype] : spec.type;
    const data = input.data ?? input.strings ?? (input.bytes ?? []).map((b) => Buffer.from(b).toString('utf8'));
    feeds[input.name] = { type, data, dims: input.shape };
  }
  const missing = modelInputs.filter((m) => !(m.name in feeds)).map((m) => m.name);
  if (missing.length > 0) {
    throw bad(`Model "${model.name}" needs input(s) ${missing.join(', ')}; its inputs are ${describeInputs(modelInputs)}.`);
  }
  return feeds;
}

// ---------------------------------------------------------------------------------------------
// Image mode

function isImageMode(model: ServedModel, inputs: readonly DecodedInput[]): boolean {
  return inputs.length === 1 && inputs[0].datatype === 'BYTES' && !model.info.inputs.some((m) => m.type === 'string');
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

function imageBytes(input: DecodedInput): Uint8Array {
  const where = `input "${input.name.slice(0, 64)}"`;
  const count = product(input.shape);
  if (count !== 1) {
    throw bad(`${where}: image mode takes exactly one encoded image (shape [1]) per request, got shape ${fmtShape(input.shape)}.`);
  }
  if (input.bytes) return input.bytes[0];
  let text = input.strings![0];
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1;
  if (comma >= 0) text = text.slice(comma + 1); // data URL
  text = text.replace(/\s+/g, '');
  if (!BASE64.test(text) || text.length % 4 === 1) {
    throw bad(`${where}: in JSON the image must be a base64 string (or send it raw as binary tensor data with binary_data_size).`);
  }
  return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
}

function numberParameter(params: Json, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return v as number; // checkNumber / checkInteger describe anything else
}

/** `conf`, `iou`, `max_det`, `classes` (ids or names, array or comma-separated) and `agnostic`. */
function detectOptions(params: Json, model: ServedModel): DetectOptions {
  const opts: DetectOptions = {};
  const conf = numberParameter(params, 'conf');
  if (conf !== undefined) opts.conf = checkNumber('request parameter conf', conf, 0, 1);
  const iou = numberParameter(params, 'iou');
  if (iou !== undefined) opts.iou = checkNumber('request parameter iou', iou, 0, 1);
  const maxDet = numberParameter(params, 'max_det');
  if (maxDet !== undefined) opts.maxDet = checkInteger('request parameter max_det', maxDet, 1, 100000);
  const agnostic = params.agnostic;
  if (agnostic !== undefined) {
    if (agnostic !== true && agnostic !== false && agnostic !== 'true' && agnostic !== 'false') {
      throw new TearlessError('TL_ERR_BAD_OPTION', `Expected true or false for request parameter agnostic but received ${short(agnostic)}.`);
    }
    opts.agnostic = agnostic === true || agnostic === 'true';
  }
  const classes = params.classes;
  if (classes !== undefined && classes !== null && classes !== '') {
    const list = typeof classes === 'string' ? classes.split(',').map((s) => s.trim()) : classes;
    if (!Array.isArray(list)) throw new TearlessError('TL_ERR_BAD_OPTION', `Expected class ids or names for request parameter classes but received ${short(classes)}.`);
    const labels = model.profile.labels;
    opts.classes = list.map((c: unknown) => {
      if (typeof c === 'string' && !/^\d+$/.test(c)) {
        const id = labels.indexOf(c);
        if (id < 0) throw new TearlessError('TL_ERR_BAD_OPTION', `Unknown class "${c.slice(0, 64)}" in request parameter classes; the model's classes are ${labels.slice(0, 20).join(', ')}${labels.length > 20 ? ', …' : ''}.`);
        return id;
      }
      return checkInteger('request parameter classes[]', typeof c === 'string' ? Number(c) : c, 0, Math.max(0, labels.length - 1));
    });
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Responses

interface OutTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: CoreTensor['data'];
}

function jsonData(t: OutTensor): unknown[] {
  const d = t.data;
  if (Array.isArray(d)) return d;
  if (t.datatype === 'FP16' && d instanceof Uint16Array) return Array.from(d, fromFloat16Bits);
  if (t.datatype === 'BOOL') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, (v) => Number(v));
  return Array.from(d as ArrayLike<number>);
}

function binaryData(t: OutTensor): Buffer {
  const d = t.data;
  if (Array.isArray(d)) {
    const parts = d.map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      p.copy(out, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  return bytesOf(d);
}

function sendInferResponse(reply: FastifyReply, head: Json, tensors: readonly OutTensor[], binaryFor: (name: string) => boolean): FastifyReply {
  const buffers: Buffer[] = [];
  const outputs = tensors.map((t) => {
    const base = { name: t.name, datatype: t.datatype, shape: t.shape };
    if (binaryFor(t.name)) {
      const buf = binaryData(t);
      buffers.push(buf);
      return { ...base, parameters: { binary_data_size: buf.length } };
    }
    return { ...base, data: jsonData(t) };
  });
  const body = { ...head, outputs };
  if (buffers.length === 0) return reply.type('application/json; charset=utf-8').send(body);
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  return reply
    .type('application/octet-stream')
    .header('inference-header-content-length', String(json.length))
    .send(Buffer.concat([json, ...buffers]));
}

function detectionTensors(result: { detections: { box: number[]; score: number; classId: number; label: string }[] }): Record<string, OutTensor> {
  const dets = result.detections;
  const n = dets.length;
  const boxes = new Float32Array(n * 4);
  const scores = new Float32Array(n);
  const classes = new Int32Array(n);
  dets.forEach((d, i) => {
    boxes.set(d.box, i * 4);
    scores[i] = d.score;
    classes[i] = d.classId;
  });
  return {
    boxes: { name: 'boxes', datatype: 'FP32', shape: [n, 4], data: boxes },
    scores: { name: 'scores', datatype: 'FP32', shape: [n], data: scores },
    classes: { name: 'classes', datatype: 'INT32', shape: [n], data: classes },
    labels: { name: 'labels', datatype: 'BYTES', shape: [n], data: dets.map((d) => d.label) },
  };
}

function durationStat(count: number, ns: number): { count: number; ns: number } {
  return { count, ns: Math.round(ns) };
}

/** One Triton `model_stats` entry. Per batch size only the inference time is tracked. */
function modelStat(s: ModelStats): Json {
  return {
    name: s.name,
    version: s.version,
    last_inference: Math.round(s.lastInferenceMs),
    inference_count: s.inferences,
    execution_count: s.executions,
    inference_stats: {
      success: durationStat(s.success, s.successNs),
      fail: durationStat(s.failure, s.failureNs),
      queue: durationStat(s.success, s.queueNs),
      compute_input: durationStat(s.success, s.computeInputNs),
      compute_infer: durationStat(s.success, s.computeInferNs),
      compute_output: durationStat(s.success, s.computeOutputNs),
      cache_hit: durationStat(0, 0),
      cache_miss: durationStat(0, 0),
    },
    batch_stats: Object.entries(s.batchSizes)
      .map(([size, count]) => ({
        batch_size: Number(size),
        compute_input: durationStat(count, 0),
        compute_infer: durationStat(count, s.batchComputeNs[Number(size)] ?? 0),
        compute_output: durationStat(count, 0),
      }))
      .sort((a, b) => a.batch_size - b.batch_size),
  };
}

const REPOSITORY_STATE: Record<ModelVersionStatus['state'], string> = {
  loading: 'LOADING',
  ready: 'READY',
  unloading: 'UNLOADING',
  unavailable: 'UNAVAILABLE',
  failed: 'UNAVAILABLE',
};

// ---------------------------------------------------------------------------------------------
// The plugin

interface ModelParams {
  model: string;
  version?: string;
}

interface MetricsDecorator {
  observeTimings(model: string, timings: StageTimings): void;
}

const TAGS = ['Open Inference Protocol v2'];
const MODEL_PARAM = { type: 'string', description: 'Model name' } as const;
const PARAMS = {
  model: { type: 'object', properties: { model: MODEL_PARAM }, required: ['model'] },
  version: {
    type: 'object',
    properties: { model: MODEL_PARAM, version: { type: 'string', description: 'Model version (without it: the newest ready version)' } },
    required: ['model', 'version'],
  },
} as const;

/** Route options carrying the OpenAPI description (no body schema: bodies are parsed here). */
const doc = (summary: string, description?: string, params?: string): RouteShorthandOptions => ({
  schema: {
    tags: TAGS,
    summary,
    ...(description ? { description } : {}),
    ...(params ? { params: params.includes(':version') ? PARAMS.version : PARAMS.model } : {}),
  },
});

export const oipV2Plugin: FastifyPluginAsync<OipV2Options> = async (app: FastifyInstance, opts: OipV2Options) => {
  const manager = opts.manager;
  if (!manager) throw new TypeError('oipV2Plugin needs { manager }.');
  const serverVersion = readVersion();
  const inferBodyLimit = opts.inferBodyLimit ?? opts.bodyLimit ?? app.initialConfig.bodyLimit ?? 1048576;
  const bodyLimit = opts.bodyLimit ?? app.initialConfig.bodyLimit ?? 1048576;

  // Every body in this scope is read as bytes; the handlers parse JSON and binary tensor data.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    done(null, body);
  });

  const names = (p: ModelParams): { name: string; version: string | undefined } => ({
    name: checkModelName(p.model),
    version: p.version === undefined ? undefined : checkVersion(p.version),
  });

  /** Known versions of `name` (404 when none). */
  const versionsOf = (name: string, version?: string): ModelVersionStatus[] => {
    const all = manager.index().filter((e) => e.name === name);
    if (all.length === 0) {
      const known = [...new Set(manager.index().map((e) => e.name))];
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Unknown model "${name}". Known: ${known.join(', ') || 'none'}.`);
    }
    if (version === undefined) return all;
    const match = all.filter((e) => e.version === String(Number(version)));
    if (match.length === 0) {
      throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model "${name}" has no version ${version}. Versions: ${all.map((e) => e.version).join(', ')}.`);
    }
    return match;
  };

  // --- Health and server metadata -----------------------------------------------------------

  // The status code is the answer (Triton's clients and probes read only that); the JSON body is
  // the one KServe's OIP schema defines ({"live": bool}, {"ready": bool}), which its clients parse.
  app.get('/v2/health/live', doc('Liveness: 200 {"live": true} while the process runs'), async (_req, reply) => reply.code(200).send({ live: true }));

  app.get('/v2/health/ready', doc('Readiness: 200 {"ready": true} once every model is loaded and warmed up, else 503 {"ready": false, …}'), async (_req, reply) => {
    if (manager.ready()) return reply.code(200).send({ ready: true });
    return reply.code(503).header('retry-after', '1').send({ ready: false, error: 'Models are still loading (or a model failed to load; see /v2/repository/index).', code: 'TL_ERR_MODEL_UNAVAILABLE' });
  });

  app.get('/v2', doc('Server metadata: name, version and the protocol extensions implemented'), async () => ({
    name: 'tearless',
    version: serverVersion,
    extensions: [...OIP_EXTENSIONS],
  }));

  // --- Model metadata and readiness ---------------------------------------------------------

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>): Promise<Json> => {
    const { name, version } = names(request.params);
    const versions = versionsOf(name).map((e) => e.version);
    const model = manager.get(name, version);
    const tensor = (v: ValueInfo): Json => ({ name: v.name, datatype: oipDatatype(v.type), shape: oipShape(v.shape) });
    const { input, output } = model.profile;
    return {
      name: model.name,
      versions,
      platform: model.platform,
      inputs: model.info.inputs.map(tensor),
      outputs: model.info.outputs.map(tensor),
      parameters: {
        max_batch_size: model.maxBatchSize,
        family: output.family,
        input_width: input.width,
        input_height: input.height,
        num_classes: model.profile.labels.length,
        image_mode: 'Send ONE input of datatype BYTES (any name, shape [1]) holding an encoded image (JPEG/PNG/WebP/AVIF/TIFF/GIF): '
          + 'a base64 string in JSON, or raw bytes as binary tensor data (binary_data_size). The image is decoded and detected server-side.',
        image_mode_outputs: 'boxes FP32 [N,4] (x1,y1,x2,y2 in image pixels), scores FP32 [N], classes INT32 [N], labels BYTES [N]',
        image_mode_parameters: 'conf (0-1, default 0.25), iou (0-1, default 0.45), max_det (default 300), classes (ids or names), agnostic (bool)',
      },
    };
  };

  const ready = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply): Promise<FastifyReply> => {
    const { name, version } = names(request.params);
    const entries = versionsOf(name, version);
    if (entries.some((e) => e.state === 'ready')) return reply.code(200).send({ name, ready: true });
    const why = entries.map((e) => `v${e.version} ${e.state}${e.reason ? ` (${e.reason})` : ''}`).join('; ');
    return reply.code(503).header('retry-after', '1').send({ name, ready: false, error: `Model "${name}" is not ready: ${why}.`, code: 'TL_ERR_MODEL_UNAVAILABLE' });
  };

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get<{ Params: ModelParams }>(base, doc('Model metadata: versions, platform, inputs and outputs (datatype, shape; -1 = dynamic)', undefined, base), metadata);
    app.get<{ Params: ModelParams }>(`${base}/ready`, doc('Model readiness: 200 when ready, 503 while loading or unavailable, 404 when unknown', undefined, base), ready);
  }

  // --- Inference ----------------------------------------------------------------------------

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply): Promise<FastifyReply> => {
    const { name, version } = names(request.params);
    const model = manager.get(name, version); // 404 / 503 before reading the body
    const { header, binary } = splitBody(request, await requestBytes(request, inferBodyLimit));
    const req = parseInferRequest(header, binary);
    const head: Json = { model_name: model.name, model_version: model.version };
    if (req.id !== undefined) head.id = req.id;
    const binaryFor = (n: string): boolean => req.outputs?.find((o) => o.name === n)?.binary ?? req.binaryOutput;

    if (isImageMode(model, req.inputs)) {
      const wanted = req.outputs?.map((o) => o.name) ?? [...IMAGE_MODE_OUTPUTS];
      for (const o of wanted) {
        if (!(IMAGE_MODE_OUTPUTS as readonly string[]).includes(o)) {
          throw bad(`Unknown output "${o.slice(0, 64)}": image mode returns ${IMAGE_MODE_OUTPUTS.join(', ')}.`);
        }
      }
      const options = detectOptions(req.parameters, model);
      const bytes = imageBytes(req.inputs[0]);
      const result = await manager.detect(name, version, bytes, options, true); // not read again here
      const metrics = (app as unknown as { tearlessMetrics?: MetricsDecorator }).tearlessMetrics;
      if (app.hasDecorator('tearlessMetrics') && typeof metrics?.observeTimings === 'function') metrics.observeTimings(result.model, result.timings);
      const tensors = detectionTensors(result);
      head.model_version = result.version;
      head.parameters = { width: result.width, height: result.height };
      return sendInferResponse(reply, head, wanted.map((o) => tensors[o]), binaryFor);
    }

    const modelOutputs = model.info.outputs.map((o) => o.name);
    const wanted = req.outputs?.map((o) => o.name);
    for (const o of wanted ?? []) {
      if (!modelOutputs.includes(o)) throw bad(`Unknown output "${o.slice(0, 64)}"; model "${model.name}" has outputs ${modelOutputs.join(', ')}.`);
    }
    const feeds = rawFeeds(model, req.inputs);
    const out = await manager.infer(name, model.version, feeds, wanted);
    const tensors: OutTensor[] = [];
    for (const o of wanted ?? modelOutputs) {
      const t = out[o];
      if (!t) continue;
      tensors.push({ name: o, datatype: TYPE_TO_OIP[t.type] ?? 'BYTES', shape: [...t.dims], data: t.data });
    }
    return sendInferResponse(reply, head, tensors, binaryFor);
  };

  const inferSummary = 'Inference: raw model tensors, or one BYTES input holding an encoded image (detections as tensors)';
  const inferDescription = 'JSON body per the Open Inference Protocol, or the binary tensor data extension (JSON header of Inference-Header-Content-Length bytes, '
    + 'then the binary tensors of the inputs with parameters.binary_data_size, in input order). Outputs with parameters.binary_data '
    + '(or request parameter binary_data_output) come back as binary data after the JSON header. Bodies may be gzip/deflate-compressed (Content-Encoding).';
  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.post<{ Params: ModelParams }>(`${base}/infer`, { ...doc(inferSummary, inferDescription, base), bodyLimit: inferBodyLimit }, infer);
  }

  // --- Statistics extension -----------------------------------------------------------------

  const stats = async (request: FastifyRequest<{ Params: Partial<ModelParams> }>): Promise<Json> => {
    const p = request.params;
    if (p.model === undefined) return { model_stats: manager.stats().map(modelStat) };
    const { name, version } = names(p as ModelParams);
    const versions = new Set(versionsOf(name, version).map((e) => e.version));
    // Filtered here rather than by manager.stats(name): an unloaded model still has statistics.
    return { model_stats: manager.stats().filter((s) => s.name === name && versions.has(s.version)).map(modelStat) };
  };
  app.get('/v2/models/stats', doc('Statistics of every model version (Triton statistics extension)'), stats);
  app.get('/v2/models/:model/stats', doc('Statistics of a model (Triton statistics extension)', undefined, '/:model'), stats);
  app.get('/v2/models/:model/versions/:version/stats', doc('Statistics of a model version (Triton statistics extension)', undefined, '/:model/versions/:version'), stats);

  // --- Model repository extension -----------------------------------------------------------

  app.post('/v2/repository/index', doc('Every model version in the repository with its state ({"ready": true} lists only ready ones)'), async (request) => {
    const body = optionalJsonBody(request);
    if (body.ready !== undefined && typeof body.ready !== 'boolean') throw bad(`"ready" must be true or false but is ${short(body.ready)}.`);
    return manager
      .index()
      .filter((e) => body.ready !== true || e.state === 'ready')
      .map((e) => ({ name: e.name, version: e.version, state: REPOSITORY_STATE[e.state] ?? 'UNAVAILABLE', reason: e.reason ?? '' }));
  });

  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/load', doc('Load (or reload) a model from the repository; answers when it is ready', undefined, '/:model'), async (request, reply) => {
    const name = checkModelName(request.params.model);
    const body = optionalJsonBody(request);
    const params = checkParameters(body.parameters, 'request');
    const overrides = Object.keys(params).filter((k) => k === 'config' || k.startsWith('file:'));
    if (overrides.length > 0) throw notImplemented(`Loading with a config or model file override (${overrides.join(', ')}) is not supported; put the files into the repository.`);
    await manager.load(name);
    return reply.code(200).send();
  });

  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/unload', doc('Unload a model (in-flight requests finish first)', undefined, '/:model'), async (request, reply) => {
    const name = checkModelName(request.params.model);
    optionalJsonBody(request);
    await manager.unload(name);
    return reply.code(200).send();
  });
};

export default oipV2Plugin;
