/** Read tensor elements as numbers regardless of the output dtype (fp16, int64, …). */
import { float16ToFloat32 } from './float16.js';
import { TearlessError } from './errors.js';
import type { CoreTensor } from './types.js';

/** The tensor's data as a Float32Array (a view when it already is one). */
export function floatData(t: CoreTensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (t.type === 'float16' && d instanceof Uint16Array) return float16ToFloat32(d);
  if (Array.isArray(d)) throw new TearlessError('TL_ERR_MODEL_NOT_UNDERSTOOD', `Expected a numeric output tensor but got strings.`);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d, (x) => Number(x));
  return Float32Array.from(d as ArrayLike<number>);
}

/** Number of elements implied by `dims`. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
