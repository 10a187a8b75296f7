/** The contract every output-family decoder implements. */
import type { Candidates } from '../candidates.js';
import type { CoreTensor, ModelProfile } from '../types.js';

export interface DecodeInput {
  /** Model outputs by name. */
  outputs: Record<string, CoreTensor>;
  /** Output names in graph order (for families that read outputs by position). */
  outputNames: readonly string[];
  profile: ModelProfile;
  /** Candidates scoring below this are dropped while decoding (cheap early filter). */
  conf: number;
  /** `allowed[classId] === 1` keeps the class; null keeps all. */
  allowed: Uint8Array | null;
  /** Which image of a batched output to decode. */
  batchIndex: number;
}

/**
 * Decode raw outputs into candidate boxes (xyxy). Boxes are in network-input pixels, or in
 * original-image pixels when `profile.output.boxesInOriginal` is set.
 */
export type Decoder = (input: DecodeInput) => Candidates;

/** True when class `c` passes the class filter. */
export function classAllowed(allowed: Uint8Array | null, c: number): boolean {
  return allowed === null || allowed[c] === 1;
}
