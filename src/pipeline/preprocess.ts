/**
 * Pixels → model feeds: the image tensor of one image or a batch (via the isomorphic core) and
 * the extra original-size input DETR-style exports take.
 */
import type { Placement } from '../core/geometry.js';
import type { PixelBuffer } from '../core/resize.js';
import { allocate, imageToTensor, inputElementCount } from '../core/tensor-layout.js';
import type { CoreTensor, ModelProfile } from '../core/types.js';

export interface Prepared {
  feeds: Record<string, CoreTensor>;
  placement: Placement;
}

/** One image into a batch-of-one input tensor. */
export function prepareFeeds(pixels: PixelBuffer, profile: ModelProfile): Prepared {
  const { feeds, placements } = prepareBatchFeeds([pixels], profile);
  return { feeds, placement: placements[0] };
}

/**
 * Several images into one batched input tensor ([N, 3, H, W] or [N, H, W, 3]). `reuse`: a
 * buffer of an earlier input tensor to write into instead of allocating (used when its byte
 * length fits exactly; every value is overwritten).
 */
export function prepareBatchFeeds(pixels: readonly PixelBuffer[], profile: ModelProfile, reuse?: ArrayBuffer): { feeds: Record<string, CoreTensor>; placements: Placement[] } {
  const input = profile.input;
  const n = pixels.length;
  const per = inputElementCount(input);
  const data = allocate(input, n, reuse);
  const placements = pixels.map((px, i) => imageToTensor(px, input, n === 1 ? data : data.subarray(i * per, (i + 1) * per)).placement);
  const dims = input.layout === 'nchw' ? [n, 3, input.height, input.width] : [n, input.height, input.width, 3];
  const feeds: Record<string, CoreTensor> = { [input.name]: { type: input.dtype, data, dims } };
  const size = input.origSizeInput;
  if (size) {
    const pairs = pixels.flatMap((px) => (size.order === 'wh' ? [px.width, px.height] : [px.height, px.width]));
    feeds[size.name] = {
      type: size.dtype,
      data: size.dtype === 'int64' ? BigInt64Array.from(pairs, BigInt) : size.dtype === 'int32' ? Int32Array.from(pairs) : Float32Array.from(pairs),
      dims: [n, 2],
    };
  }
  return { feeds, placements };
}
