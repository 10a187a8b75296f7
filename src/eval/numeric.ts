/**
 * The few numpy behaviours COCOeval's numbers depend on, reproduced bit for bit so that our
 * results equal pycocotools' to the last digit rather than to a tolerance.
 */

/**
 * `np.linspace(start, stop, num)`: `i * step + start` with the last point set to `stop`.
 * The exact floats matter: pycocotools' 9th IoU threshold is 0.8999999999999999, not 0.9,
 * and a box pair with an IoU of exactly 0.9 counts as a match there.
 */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** numpy's pairwise summation (8 accumulators, blocks of 128), as `np.sum` does for float64. */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3], a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.mean(s[s > -1])`, or -1 when no entry is valid (COCOeval's convention for "absent"). */
export function meanOfValid(values: ArrayLike<number>): number {
  const valid: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] > -1) valid.push(values[i]);
  return valid.length === 0 ? -1 : pairwiseSum(valid) / valid.length;
}
