/**
 * tearless/client — a typed, fetch-based client for `tearless serve`, for Node 20+ and browsers.
 * @example
 * import { TearlessClient, UnavailableError } from 'tearless/client';
 * const client = new TearlessClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.KEY });
 * const { detections } = await client.detect(jpegBytes, { model: 'yolox_nano_416_coco', conf: 0.3 });
 */
export { TearlessClient, decodeInferResponse, sniffImageType } from './client.js';
export type { TearlessClientOptions, FetchLike, ImageBody } from './client.js';
export {
  TearlessHttpError, BadRequestError, UnauthorizedError, NotFoundError, UnavailableError, TimeoutError, ConnectionError,
  errorFromResponse, parseRetryAfter,
} from './errors.js';
export type { HttpErrorDetails } from './errors.js';
export {
  float16ToFloat32, float16BitsToFloat32, float32ToFloat16Bits, encodeBinary, decodeBinary, encodeJson, decodeJson,
  elementCount, base64, ELEMENT_SIZE,
} from './tensors.js';
export type { OipDatatype, TensorData, TensorInputData, NestedNumbers } from './tensors.js';
export type * from './types.js';
