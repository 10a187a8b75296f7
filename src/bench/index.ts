/**
 * The benchmark as a library (used by `tearless bench` and `npm run bench`).
 * @example
 * import { runBench } from 'tearless/dist/bench/index.js';
 * const report = await runBench({ threads: [1, 2], streams: [1], durationS: 2, runs: 3 });
 */
export { runBench, BENCH_DEFAULTS, type BenchOptions } from './run.js';
export { RawSessionRunner } from './raw-session.js';
export { EndToEndRunner } from './end-to-end.js';
export { runLoad, checkUrl, type LoadOptions } from './load.js';
export { machineFingerprint, formatFingerprint, type MachineFingerprint } from './fingerprint.js';
export { loadBenchImages, type BenchImages } from './images.js';
export { parallelismPairs, type Parallelism } from './plan.js';
export { percentile, median, summarizeLatencies, histogram } from './stats.js';
export { formatBenchReport, formatLoadReport } from './report-text.js';
export { benchReportHtml, loadReportHtml } from './report-html.js';
export type * from './types.js';
