/**
 * Open Inference Protocol v2 tensors on the client: datatypes, JSON data and the binary tensor
 * data extension (little-endian raw elements; BYTES elements as 4-byte length + bytes).
 * No Node or DOM APIs: typed arrays, TextEncoder and TextDecoder only.
 */
import { toFloat16Bits as float32ToFloat16Bits, float16ToFloat32 } from '../core/float16.js';

/** OIP v2 tensor datatypes. */
export type OipDatatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/**
 * Tensor data as the client returns it: a typed array per datatype (BOOL → Uint8Array of 0/1,
 * FP16 → Uint16Array of IEEE half bits, see `float16ToFloat32`), BYTES → strings (UTF-8).
 */
export type TensorData =
  | Float32Array | Float64Array | Uint16Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint32Array | BigUint64Array
  | string[];

/** Nested arrays of numbers, as some clients write tensor data in JSON. */
export type NestedNumbers = number | boolean | bigint | NestedNumbers[];

/** What an input's `data` may be: a typed array, flat or nested numbers/booleans, or BYTES elements. */
export type TensorInputData = TensorData | NestedNumbers[] | (string | Uint8Array)[];

export const ELEMENT_SIZE: Record<Exclude<OipDatatype, 'BYTES'>, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2,
  UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

const DATATYPES = new Set<string>([...Object.keys(ELEMENT_SIZE), 'BYTES']);

export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && DATATYPES.has(value);
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

// ---- FP16 <-> FP32: the core's conversions (isomorphic), under the SDK's names ----

export { toFloat16Bits as float32ToFloat16Bits, fromFloat16Bits as float16BitsToFloat32, float16ToFloat32 } from '../core/float16.js';
// ---- building typed arrays ----

function flatten(data: unknown): unknown[] {
  if (!Array.isArray(data)) return [data];
  return data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : data;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`Expected a number in tensor data but received ${typeof v}.`);
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new TypeError(`Expected an integer in 64-bit integer tensor data but received ${String(v)}.`);
}

const isTypedArray = (v: unknown): v is Exclude<TensorData, string[]> => ArrayBuffer.isView(v) && !(v instanceof DataView);

/**
 * Numeric tensor data as the typed array of `datatype`. A typed array of the right kind is
 * returned as is; FP16 accepts half bits (Uint16Array) or any numbers (converted).
 */
export function toTypedArray(datatype: Exclude<OipDatatype, 'BYTES'>, data: TensorInputData): Exclude<TensorData, string[]> {
  const values = (): unknown[] => (isTypedArray(data) ? Array.from(data as ArrayLike<unknown>) : flatten(data));
  const numbers = (): number[] => values().map(toNumber);
  switch (datatype) {
    case 'FP32': return data instanceof Float32Array ? data : new Float32Array(numbers());
    case 'FP64': return data instanceof Float64Array ? data : new Float64Array(numbers());
    case 'FP16': return data instanceof Uint16Array ? data : Uint16Array.from(numbers(), float32ToFloat16Bits);
    case 'INT8': return data instanceof Int8Array ? data : new Int8Array(numbers());
    case 'INT16': return data instanceof Int16Array ? data : new Int16Array(numbers());
    case 'INT32': return data instanceof Int32Array ? data : new Int32Array(numbers());
    case 'UINT8': case 'BOOL': return data instanceof Uint8Array ? data : new Uint8Array(numbers());
    case 'UINT16': return data instanceof Uint16Array ? data : new Uint16Array(numbers());
    case 'UINT32': return data instanceof Uint32Array ? data : new Uint32Array(numbers());
    case 'INT64': return data instanceof BigInt64Array ? data : BigInt64Array.from(values(), toBigInt);
    case 'UINT64': return data instanceof BigUint64Array ? data : BigUint64Array.from(values(), toBigInt);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytesElements(data: TensorInputData): (string | Uint8Array)[] {
  if (!Array.isArray(data)) {
    if (data instanceof Uint8Array) return [data]; // one raw element (e.g. an encoded image)
    throw new TypeError('BYTES tensor data must be an array of strings or Uint8Arrays.');
  }
  return flatten(data).map((v) => {
    if (typeof v === 'string' || v instanceof Uint8Array) return v;
    throw new TypeError(`BYTES tensor elements must be strings or Uint8Arrays but one is ${typeof v}.`);
  });
}

/** Bytes of one tensor for the binary extension (typed arrays are little-endian on every supported platform). */
export function encodeBinary(datatype: OipDatatype, data: TensorInputData): Uint8Array<ArrayBuffer> {
  if (datatype === 'BYTES') {
    const parts = bytesElements(data).map((v) => (typeof v === 'string' ? encoder.encode(v) : v));
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    const view = new DataView(out.buffer);
    let off = 0;
    for (const p of parts) {
      view.setUint32(off, p.byteLength, true);
      out.set(p, off + 4);
      off += 4 + p.byteLength;
    }
    return out;
  }
  const arr = toTypedArray(datatype, data);
  return new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength) as ArrayBuffer);
}

/** Standard base64 of raw bytes (btoa exists in Node 16+ and every browser). */
export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Tensor data for the JSON encoding: a flat array of numbers, booleans or strings. Raw BYTES
 * elements (Uint8Array, e.g. an encoded image) are sent as base64 strings, which is how
 * tearless reads an image input in JSON.
 */
export function encodeJson(datatype: OipDatatype, data: TensorInputData): (number | boolean | string)[] {
  if (datatype === 'BYTES') {
    return bytesElements(data).map((v) => (typeof v === 'string' ? v : base64(v)));
  }
  if (datatype === 'FP16' && data instanceof Uint16Array) return Array.from(float16ToFloat32(data));
  if (datatype === 'BOOL') {
    const values = isTypedArray(data) ? Array.from(data as ArrayLike<number>) : flatten(data);
    return values.map((v) => Boolean(typeof v === 'bigint' ? v !== 0n : v));
  }
  const values = isTypedArray(data) ? Array.from(data as ArrayLike<number | bigint>) : flatten(data);
  return values.map(toNumber);
}

/** Decode one output chunk of the binary extension. */
export function decodeBinary(datatype: OipDatatype, bytes: Uint8Array): TensorData {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off + 4 <= bytes.byteLength) {
      const len = view.getUint32(off, true);
      if (off + 4 + len > bytes.byteLength) throw new RangeError('Truncated BYTES element in binary output.');
      out.push(decoder.decode(bytes.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    return out;
  }
  const size = ELEMENT_SIZE[datatype];
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`Binary ${datatype} output of ${bytes.byteLength} bytes is not a multiple of ${size}.`);
  }
  // Copy: chunks inside the response body are not aligned to the element size.
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  switch (datatype) {
    case 'FP32': return new Float32Array(buf);
    case 'FP64': return new Float64Array(buf);
    case 'FP16': case 'UINT16': return new Uint16Array(buf);
    case 'INT8': return new Int8Array(buf);
    case 'INT16': return new Int16Array(buf);
    case 'INT32': return new Int32Array(buf);
    case 'INT64': return new BigInt64Array(buf);
    case 'UINT8': case 'BOOL': return new Uint8Array(buf);
    case 'UINT32': return new Uint32Array(buf);
    case 'UINT64': return new BigUint64Array(buf);
  }
}

/** Decode JSON output data (flat or nested) into the same typed arrays as the binary path. */
export function decodeJson(datatype: OipDatatype, data: unknown): TensorData {
  const values = flatten(data ?? []);
  if (datatype === 'BYTES') return values.map((v) => (typeof v === 'string' ? v : String(v)));
  if (datatype === 'FP16') return Uint16Array.from(values.map(toNumber), float32ToFloat16Bits);
  return toTypedArray(datatype, values as NestedNumbers[]);
}
