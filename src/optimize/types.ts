/**
 * The contracts between the parts of `tearless optimize` (issue 5): calibration produces
 * ranges, the quantizer turns a float graph + ranges into an INT8 graph, the search builds
 * candidates and measures them, the report prints them. Each part lives in its own folder:
 *
 *   onnx/       read/write .onnx, graph utilities, opset conversion
 *   calibrate/  activation statistics (MinMax, Percentile, Entropy)
 *   quantize/   per-channel int8 weights, QDQ and QOperator static quantization, dynamic MatMul
 *   variants/   graph-level variants (onnxruntime offline graph, uint8 input folding, fp16)
 *   analyze/    per-node profiles (onnxruntime profiling) and per-layer sensitivity
 *   search/     candidates × measurement × decision rule
 *   report/     terminal table, JSON, HTML
 */

/** How the range of an activation tensor is chosen from calibration data. */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

/** A float range [min, max] an activation is quantized over; always contains 0. */
export interface TensorRange {
  min: number;
  max: number;
}

/** Activation ranges by tensor name. */
export type RangeTable = Map<string, TensorRange>;

/** Storage format of a statically quantized graph. */
export type QuantFormat = 'qdq' | 'qoperator';

/** Which integer type activations use (weights are always int8, symmetric). */
export type ActivationType = 'uint8' | 'int8';

/** One candidate model the search builds and measures. */
export interface CandidateSpec {
  /** Stable short id, e.g. `fp32`, `ort-all`, `int8-qdq-entropy-conv`. */
  id: string;
  /** One line for humans: what was changed / quantized. */
  description: string;
  /** The kind of change, for grouping in the report. */
  kind: 'original' | 'graph' | 'int8-static' | 'int8-dynamic' | 'fp16' | 'reference';
  /** Intra-op threads of the session measuring it (streams stay 1 for model-only). */
  threads: number;
}

/** Measured result of one candidate. Fields are absent when that measurement failed. */
export interface CandidateResult extends CandidateSpec {
  /** Path of the candidate .onnx (in the work folder). */
  file?: string;
  sizeBytes?: number;
  /** Raw `session.run` images/s, median of runs (model-only). */
  modelFps?: number;
  /** End-to-end images/s (decode → boxes), median of runs. */
  endToEndFps?: number;
  /** The per-run ratios `speedup` is the median of. */
  speedupRuns?: number[];
  /** endToEndFps ÷ the original's end-to-end images/s in the same run. */
  endToEndSpeedup?: number;
  /** Median single-image model-only latency, ms. */
  latencyMs?: number;
  /** COCO mAP@[.5:.95] on the labelled data, when given. */
  map?: number;
  /** Share of the original model's boxes matched by class and IoU ≥ 0.9 (0..1). */
  agreement?: number;
  /** modelFps ÷ the original's modelFps in the same run. */
  speedup?: number;
  /** Number of nodes quantized / kept in float (int8 candidates). */
  quantizedNodes?: number;
  floatNodes?: number;
  /** mAP drop vs the original (original − candidate), when scored on labels. */
  mapDrop?: number;
  /** Why the candidate was rejected, or the error that stopped it. */
  rejected?: string;
  error?: { code: string; message: string };
}

/** Error of one quantized layer against float, from the sensitivity analysis. */
export interface LayerSensitivity {
  /** Node name (or output tensor name when the node has none). */
  node: string;
  opType: string;
  /** Signal-to-quantization-noise ratio (dB, higher is better) of the node's output when only this node is quantized (its inputs, weights and output), on exact float inputs. */
  sqnrDb: number;
  /** Whether the search kept it in float. */
  keptFloat: boolean;
}

/** Time of one op type in an onnxruntime profile, per run. */
export interface OpTypeTime {
  opType: string;
  nodes: number;
  msPerRun: number;
  share: number;
}

/** Everything `tearless optimize` found, for the terminal table, `--json` and `--report`. */
export interface OptimizeReport {
  /** Input model path. */
  model: string;
  /** Where the chosen model was written; absent when the original stays the best. */
  output?: string;
  /** Id of the chosen candidate, or null when nothing beat the original. */
  chosen: string | null;
  /** One or two sentences: what was chosen and why (or why nothing was). */
  verdict: string;
  guard:
    | { kind: 'map'; maxMapDrop: number; images: number; dataset: string }
    | { kind: 'agreement'; minAgreement: number; images: number };
  calibration: { images: number; folder: string; method: CalibrationMethod[] };
  /** Machine description lines (see bench/fingerprint.ts formatFingerprint). */
  machine: string[];
  candidates: CandidateResult[];
  /** Per-layer error of the full INT8 graph, worst first. */
  sensitivity?: LayerSensitivity[];
  /** Per-op-type time of the original and of the fastest INT8 candidate. */
  profiles?: { candidate: string; ops: OpTypeTime[] }[];
  durationMs: number;
}
