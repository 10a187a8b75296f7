/**
 * COCOeval's `summarize`: the 12 headline numbers from the accumulated tables, and the
 * familiar printed lines. Isomorphic: no Node APIs.
 */
import type { Accumulation } from './cocoeval.js';
import { meanOfValid } from './numeric.js';
import type { CocoEvalParams } from './params.js';

/** One of the 12 COCO summary numbers. */
export interface SummaryStat {
  /** Short name: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl. */
  name: string;
  kind: 'AP' | 'AR';
  /** IoU threshold, or null for the mean over all thresholds. */
  iouThr: number | null;
  area: string;
  maxDets: number;
  /** Mean over the valid entries, -1 when none is valid. */
  value: number;
}

/**
 * Mean precision (ap) or recall over the selected thresholds, all categories, one area range
 * and one maxDets, skipping -1 entries (pycocotools `_summarize`); -1 when nothing is valid.
 */
export function summarizeOne(acc: Accumulation, kind: 'AP' | 'AR', iouThr: number | null, area: string, maxDets: number): number {
  const p = acc.params;
  const [, R, K, A, M] = acc.counts;
  const a = p.areaRanges.findIndex((r) => r.label === area);
  const m = p.maxDets.indexOf(maxDets);
  if (a < 0 || m < 0) return -1;
  // Exact float comparison, as np.where(iouThr == p.iouThrs).
  const ts = iouThr === null ? p.iouThrs.map((_, t) => t) : p.iouThrs.flatMap((v, t) => (v === iouThr ? [t] : []));
  const values: number[] = [];
  for (const t of ts) {
    if (kind === 'AP') {
      for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) values.push(acc.precision[(((t * R + r) * K + k) * A + a) * M + m]);
    } else {
      for (let k = 0; k < K; k++) values.push(acc.recall[((t * K + k) * A + a) * M + m]);
    }
  }
  return meanOfValid(values);
}

/** The maxDets used for "AP at 100": 100 when evaluated (pycocotools), else the largest. */
export function primaryMaxDets(p: CocoEvalParams): number {
  return p.maxDets.includes(100) ? 100 : p.maxDets[p.maxDets.length - 1];
}

/** The 12 COCO numbers in pycocotools order (`COCOeval.stats`). */
export function summarize(acc: Accumulation): SummaryStat[] {
  const md = acc.params.maxDets;
  const at = (i: number): number => md[Math.min(i, md.length - 1)];
  const specs: [string, 'AP' | 'AR', number | null, string, number][] = [
    ['AP', 'AP', null, 'all', primaryMaxDets(acc.params)],
    ['AP50', 'AP', 0.5, 'all', at(2)],
    ['AP75', 'AP', 0.75, 'all', at(2)],
    ['APs', 'AP', null, 'small', at(2)],
    ['APm', 'AP', null, 'medium', at(2)],
    ['APl', 'AP', null, 'large', at(2)],
    [`AR${at(0)}`, 'AR', null, 'all', at(0)],
    [`AR${at(1)}`, 'AR', null, 'all', at(1)],
    [`AR${at(2)}`, 'AR', null, 'all', at(2)],
    ['ARs', 'AR', null, 'small', at(2)],
    ['ARm', 'AR', null, 'medium', at(2)],
    ['ARl', 'AR', null, 'large', at(2)],
  ];
  return specs.map(([name, kind, iouThr, area, maxDets]) => ({ name, kind, iouThr, area, maxDets, value: summarizeOne(acc, kind, iouThr, area, maxDets) }));
}

/** pycocotools' printed summary, line for line (`{:0.3f}` rounding included). */
export function formatSummary(stats: readonly SummaryStat[], iouThrs: readonly number[]): string[] {
  const range = `${fixed(iouThrs[0], 2)}:${fixed(iouThrs[iouThrs.length - 1], 2)}`;
  return stats.map((s) => {
    const title = s.kind === 'AP' ? 'Average Precision' : 'Average Recall';
    const iou = s.iouThr === null ? range : fixed(s.iouThr, 2);
    return ` ${title.padEnd(18)} (${s.kind}) @[ IoU=${iou.padEnd(9)} | area=${s.area.padStart(6)} | maxDets=${String(s.maxDets).padStart(3)} ] = ${fixed(s.value, 3)}`;
  });
}

/**
 * Python's `'{:0.Nf}'`: like toFixed, except that an exact binary tie rounds half to even
 * (0.0625 → "0.062"; JavaScript's toFixed gives "0.063").
 */
export function fixed(x: number, digits: number): string {
  // x is an exact decimal tie only if x * 2^(digits+1) is an odd integer (ties are dyadic).
  const q = Math.abs(x) * 2 ** (digits + 1);
  if (Number.isInteger(q) && q % 2 === 1) {
    const scaled = Math.abs(x) * 10 ** digits; // exact: a small odd multiple of 0.5
    const lo = Math.floor(scaled);
    const even = lo % 2 === 0 ? lo : lo + 1;
    return (Math.sign(x) * even / 10 ** digits).toFixed(digits);
  }
  return x.toFixed(digits);
}
