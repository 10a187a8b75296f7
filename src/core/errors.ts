/**
 * The one error registry. Every error tearless raises on purpose has a stable code
 * (`TL_ERR_*`) and the HTTP status a server should answer with; CLI and server share it.
 */

export const ERROR_CODES = {
  TL_ERR_IMAGE_EMPTY: 400,
  TL_ERR_IMAGE_UNREADABLE: 400,
  TL_ERR_IMAGE_UNSUPPORTED_FORMAT: 415,
  TL_ERR_IMAGE_TOO_LARGE: 413,
  TL_ERR_INPUT_NOT_FOUND: 404,
  TL_ERR_MODEL_NOT_FOUND: 404,
  TL_ERR_MODEL_NOT_ONNX: 400,
  TL_ERR_MODEL_NOT_UNDERSTOOD: 422,
  TL_ERR_MODEL_RUN_FAILED: 500,
  TL_ERR_PROFILE_INVALID: 400,
  TL_ERR_BAD_OPTION: 400,
  TL_ERR_DATASET_INVALID: 400,
  TL_ERR_CLOSED: 503,
  TL_ERR_MODEL_UNAVAILABLE: 503,
  TL_ERR_QUEUE_FULL: 503,
  TL_ERR_TIMEOUT: 504,
  TL_ERR_UNAUTHORIZED: 401,
  TL_ERR_BAD_REQUEST: 400,
  TL_ERR_PAYLOAD_TOO_LARGE: 413,
  TL_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  TL_ERR_NOT_IMPLEMENTED: 501,
  TL_ERR_NOT_FOUND: 404,
  TL_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure: carries a stable code, an HTTP status and a message naming the fix. */
export class TearlessError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TearlessError';
    this.code = code;
    this.status = ERROR_CODES[code];
  }
}

export function isTearlessError(err: unknown): err is TearlessError {
  return err instanceof TearlessError;
}

/** Describe a value for validation messages, sharp-style: `-1 of type number`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `"${value}" of type string`;
  return `${String(value)} of type ${typeof value}`;
}

/** Throw TL_ERR_BAD_OPTION unless `value` is a finite number within [min, max]. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Expected a number between ${min} and ${max} for ${name} but received ${describeValue(value)}.`,
    );
  }
  return value;
}

/** Throw TL_ERR_BAD_OPTION unless `value` is an integer within [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TearlessError(
      'TL_ERR_BAD_OPTION',
      `Expected an integer between ${min} and ${max} for ${name} but received ${describeValue(value)}.`,
    );
  }
  return value;
}
