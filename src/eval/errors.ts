/**
 * Errors of the evaluation module. They are ordinary {@link TearlessError}s from the one
 * registry in core/errors.ts:
 *  - `TL_ERR_DATASET_INVALID` (400): a dataset file is malformed. The message names the file
 *    and the offending entry (array index, line number or XML element).
 *  - `TL_ERR_BAD_OPTION` (400): a caller-supplied value (detections, parameters, class map)
 *    is invalid.
 */
import { TearlessError, describeValue } from '../core/errors.js';

export { TearlessError, describeValue };

/** A `TL_ERR_DATASET_INVALID` error whose message starts with the file and the place in it. */
export function datasetError(file: string, where: string, message: string, cause?: unknown): TearlessError {
  const at = where ? `${file} (${where})` : file;
  return new TearlessError('TL_ERR_DATASET_INVALID', `${at}: ${message}`, cause === undefined ? undefined : { cause });
}

/** A `TL_ERR_BAD_OPTION` error. */
export function badOption(message: string): TearlessError {
  return new TearlessError('TL_ERR_BAD_OPTION', message);
}
