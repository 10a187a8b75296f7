/**
 * onnxruntime's own graph optimizations, applied once ("offline") and saved as a new .onnx:
 * constant folding, redundant-node elimination and common-subexpression elimination ('basic'),
 * operator fusions such as Conv+Activation → FusedConv, x·sigmoid(x) → QuickGelu, Gelu,
 * LayerNorm… ('extended'), and the NCHWc blocked-layout transforms of the MLAS kernels ('all').
 *
 * Loading the saved file skips the optimizations at session start (faster start-up), and a
 * runtime that lacks some optimizer (onnxruntime-web, older versions) still gets their result.
 *
 * Level 'all' may rewrite the graph into the `com.microsoft.nchwc` domain (Conv, MaxPool,
 * Upsample, ReorderInput/ReorderOutput), whose block size follows the SIMD width of THIS CPU
 * (AVX2, AVX-512, NEON…). Such a file is for this machine (or identical CPUs) and for
 * onnxruntime's CPU provider only; use 'extended' for a portable file. 'extended' may add
 * `com.microsoft` contrib ops (FusedConv, QuickGelu…), which onnxruntime-node/-web know but
 * other runtimes do not.
 *
 * Metadata: onnxruntime 1.30 keeps the model's `metadata_props` (and producer, doc_string,
 * model_version) in the written file; this function checks and restores any entry that went
 * missing so that profile auto-detection (e.g. Ultralytics' `names`, `imgsz`) keeps working.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { TearlessError } from '../../core/errors.js';
import { getMetadata, readModel, setMetadata, writeModel } from '../onnx/model.js';

export type OrtOptimizationLevel = 'basic' | 'extended' | 'all';

const LEVELS: readonly OrtOptimizationLevel[] = ['basic', 'extended', 'all'];

/**
 * Run onnxruntime's graph optimizer at `level` on `modelBytes` and write the optimized graph
 * to `outPath` (its folder must exist). The session is created only to optimize and is released
 * before returning. Throws TL_ERR_BAD_OPTION for an unknown level, TL_ERR_MODEL_RUN_FAILED
 * (with the onnxruntime error as `cause`) when onnxruntime cannot load/optimize the model or
 * write the file.
 */
export async function ortOfflineGraph(
  modelBytes: Uint8Array,
  level: OrtOptimizationLevel,
  outPath: string,
  opts: { threads?: number } = {},
): Promise<void> {
  if (!LEVELS.includes(level)) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `Unknown onnxruntime optimization level ${JSON.stringify(level)}; use basic, extended or all.`);
  }
  const source = readModel(modelBytes); // TL_ERR_MODEL_NOT_ONNX for non-models, before onnxruntime sees them
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      graphOptimizationLevel: level,
      optimizedModelFilePath: outPath,
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new TearlessError(
      'TL_ERR_MODEL_RUN_FAILED',
      `onnxruntime could not optimize the model at level "${level}" into "${outPath}": ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await session?.release();
  }

  let written: Uint8Array;
  try {
    written = await readFile(outPath);
  } catch (err) {
    throw new TearlessError('TL_ERR_MODEL_RUN_FAILED', `onnxruntime did not write the optimized model "${outPath}".`, { cause: err });
  }
  const wanted = getMetadata(source);
  if (Object.keys(wanted).length === 0) return;
  const optimized = readModel(written);
  const have = getMetadata(optimized);
  const missing = Object.entries(wanted).filter(([k, v]) => have[k] !== v);
  if (missing.length === 0) return;
  for (const [k, v] of missing) setMetadata(optimized, k, v);
  await writeFile(outPath, writeModel(optimized));
}
