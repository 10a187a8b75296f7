/**
 * `tearless optimize`: build candidates from a model (graph variants, INT8 static with several
 * calibrations and formats, INT8 dynamic for MatMul-heavy models), score each with the accuracy
 * guard and measure each against the original side by side, then keep the fastest one that
 * keeps accuracy — or say that the original is the best and write nothing.
 */
import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TearlessError } from '../../core/errors.js';
import type { Detection, ModelProfile } from '../../core/types.js';
import { formatFingerprint, machineFingerprint } from '../../bench/fingerprint.js';
import { readDataset, type ClassOverrides } from '../../eval/index.js';
import { Detector } from '../../pipeline/detector.js';
import { decodeImage } from '../../pipeline/image-decode.js';
import { prepareFeeds } from '../../pipeline/preprocess.js';
import { BUNDLED_MODEL_PATH, sidecarPath } from '../../pipeline/model-source.js';
import { availableCores } from '../../runtime/node/cpus.js';
import { layerSensitivity } from '../analyze/sensitivity.js';
import { profileOpTypesSideBySide } from '../analyze/profile.js';
import { applyKnownRanges, collectActivationRanges } from '../calibrate/index.js';
import { consumerMap } from '../onnx/graph.js';
import { readModel, writeModel, type OnnxModel } from '../onnx/model.js';
import { nodeId, QUANT_OPS, quantizableTensors, quantizeDynamic, quantizeStatic } from '../quantize/index.js';
import type { CalibrationMethod, CandidateResult, LayerSensitivity, OpTypeTime, OptimizeReport, QuantFormat, RangeTable } from '../types.js';
import { convertToFloat16, foldInputConversion, foldSpaceToDepthSlices, ortOfflineGraph, profileSidecar } from '../variants/index.js';
import { AGREEMENT_CANDIDATE, AGREEMENT_REFERENCE, agreementOf, detectAll, mapData, measureMap, type AccuracyData } from './accuracy.js';
import { candidateId, type BuiltCandidate, type CandidateRecipe } from './candidates.js';
import { decide, MIN_SPEEDUP, type AccuracyGuard } from './decide.js';
import { listImages, loadCalibrationSet, toOrtFeeds, type Feeds } from './images.js';
import { compareEndToEnd, compareModelOnly, type SpeedOptions } from './speed.js';

export interface OptimizeOptions {
  /** Model file; default the bundled model. */
  model?: string;
  /** Folder (or glob) of calibration images. */
  calib: string;
  /** Calibration images used (default 64) and the minimum accepted (default 16). */
  calibCount?: number;
  minCalib?: number;
  /** Labelled data for the mAP guard (COCO json, YOLO yaml, VOC folder) and its image folder. */
  data?: string;
  images?: string;
  split?: string;
  classMap?: ClassOverrides;
  /** Images scored for agreement when there are no labels (default 128, from --calib). */
  agreementImages?: number;
  maxMapDrop?: number;
  minAgreement?: number;
  /** Intra-op thread counts measured; the first decides (default: the cores available). */
  threads?: number[];
  methods?: CalibrationMethod[];
  formats?: QuantFormat[];
  /** Node names kept float in every static INT8 candidate (besides what the search decides). */
  keepFloat?: string[];
  /** Only nodes of these op types are quantized statically (default: every supported type). */
  quantizeOps?: string[];
  /** Extra models measured beside the candidates for comparison (never chosen). */
  references?: string[];
  /** Where the chosen model goes (default `<model>.opt.onnx` in the current folder). */
  output?: string;
  /** Keep every candidate here instead of a temporary folder. */
  keepDir?: string;
  speed?: Partial<SpeedOptions>;
  /** Progress: a step starts (`total` steps in all). */
  onStep?: (step: { index: number; total: number; label: string }) => void;
  /** Warnings (skipped images, …). */
  onWarning?: (message: string) => void;
}

const DEFAULT_SPEED: SpeedOptions = { runs: 3, durationMs: 1500, sliceMs: 250 };
const DEFAULT_METHODS: CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

interface Measured {
  result: CandidateResult;
  file?: string;
  profile: ModelProfile;
}

export async function runOptimize(opts: OptimizeOptions): Promise<OptimizeReport> {
  const started = performance.now();
  const modelPath = opts.model ?? BUNDLED_MODEL_PATH;
  const cores = availableCores();
  const threads = opts.threads?.length ? opts.threads : [cores];
  const speed: SpeedOptions = { ...DEFAULT_SPEED, ...opts.speed };
  const methods = opts.methods?.length ? opts.methods : DEFAULT_METHODS;
  const formats: QuantFormat[] = opts.formats?.length ? opts.formats : ['qdq', 'qoperator'];
  const maxMapDrop = opts.maxMapDrop ?? 0.01;
  const minAgreement = opts.minAgreement ?? 0.97;
  const warn = opts.onWarning ?? (() => {});

  // --- the input: read (never written), understood by the Detector ---
  const inputBytes = await readFile(modelPath).catch((err: NodeJS.ErrnoException) => {
    throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `-m: cannot read "${modelPath}" (${err.code ?? err.message}).`);
  });
  const original = readModel(inputBytes);
  checkNodeSelection(original, opts);
  const output = path.resolve(opts.output ?? `${path.basename(modelPath, path.extname(modelPath))}.opt.onnx`);
  if (path.resolve(modelPath) === output) throw new TearlessError('TL_ERR_BAD_OPTION', `-o would overwrite the input model "${modelPath}"; choose another output path.`);
  const probe = await Detector.load(modelPath, { threads: 1, warmup: false });
  const profile = probe.profile;
  await probe.close();

  const calibSet = await loadCalibrationSet(opts.calib, profile, { count: opts.calibCount ?? 64, min: opts.minCalib ?? 16 });
  for (const s of calibSet.skipped) warn(`calibration image skipped: ${s}`);

  let accuracy: AccuracyData;
  if (opts.data) {
    const dataset = await readDataset(opts.data, { imageDir: opts.images, split: opts.split });
    if (dataset.images.length === 0) throw new TearlessError('TL_ERR_DATASET_INVALID', `--data: ${opts.data} has no images.`);
    accuracy = mapData(dataset, opts.data, profile.labels, opts.classMap);
  } else {
    const files = (await listImages(opts.calib, '--calib')).slice(0, opts.agreementImages ?? 128);
    accuracy = { kind: 'agreement', images: await readableImages(files, warn) };
  }
  const guard: AccuracyGuard = accuracy.kind === 'map' ? { kind: 'map', maxMapDrop } : { kind: 'agreement', minAgreement };
  const speedImages = await Promise.all(calibSet.files.slice(0, 16).map((f) => readFile(f)));

  const workDir = opts.keepDir ? path.resolve(opts.keepDir) : await mkdtemp(path.join(os.tmpdir(), 'tearless-optimize-'));
  await mkdir(workDir, { recursive: true });
  // A search takes minutes and is often interrupted: do not leave its candidate models behind.
  const onInterrupt = (signal: NodeJS.Signals): void => {
    if (!opts.keepDir) rmSync(workDir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    const search = new Search({ modelPath, profile, original, calib: calibSet.feeds, accuracy, threads, speed, workDir, speedImages, cores, warn });
    const plannedSteps = 2 + 4 + methods.length * formats.length + 3 + (opts.references?.length ?? 0);
    let step = 0;
    const progress = (label: string): void => opts.onStep?.({ index: ++step, total: Math.max(plannedSteps, step), label });

    progress('original: accuracy');
    const base = await search.measureOriginal();

    // The exact Focus fold: a candidate of its own, and the base of the INT8 candidates (it removes
    // the slices in either precision).
    const folded = foldSpaceToDepthSlices(original);

    // Graph-level variants.
    const graphRecipes: CandidateRecipe[] = [
      ...(['extended', 'all'] as const).map((level) => ({
        id: candidateId.ortOffline(level),
        description: level === 'all'
          ? "onnxruntime's offline graph, level all (NCHWc layouts: for this CPU only)"
          : "onnxruntime's offline graph, level extended (fusions)",
        kind: 'graph' as const,
        threads: threads[0],
        build: async (): Promise<BuiltCandidate> => {
          const file = path.join(workDir, `${candidateId.ortOffline(level)}.onnx`);
          await ortOfflineGraph(inputBytes, level, file, { threads: threads[0] });
          return { bytes: await readFile(file) };
        },
      })),
      {
        id: candidateId.spaceToDepth,
        description: 'Focus slices + concat folded into one stride-2 convolution (exact)',
        kind: 'graph',
        threads: threads[0],
        build: async () => {
          if (folded.folded === 0) throw new TearlessError('TL_ERR_BAD_OPTION', 'no Focus (space-to-depth slices → concat → conv) pattern in this model');
          return { model: folded.model };
        },
      },
      {
        id: candidateId.uint8Input,
        description: 'uint8 NHWC input, conversion folded into the graph',
        kind: 'graph',
        threads: threads[0],
        build: async () => foldInputConversion(original, profile),
      },
      {
        id: candidateId.fp16,
        description: 'float16 weights and activations, float32 interface (for browser/WebGPU; CPU has few fp16 kernels)',
        kind: 'fp16',
        threads: threads[0],
        build: async () => ({ model: convertToFloat16(original) }),
      },
    ];
    for (const recipe of graphRecipes) {
      progress(recipe.id);
      await search.evaluate(recipe, base);
    }

    const floatBase = folded.folded > 0 ? folded.model : original;
    const baseNote = folded.folded > 0 ? ' (on the s2d-fold graph)' : '';

    // The user's choice of nodes, applied to every static candidate.
    const userExclude = new Set(opts.keepFloat ?? []);
    const quantizeOps = opts.quantizeOps?.length ? new Set(opts.quantizeOps) : null;
    const selection = {
      include: quantizeOps ? (n: { op_type?: string | null }) => quantizeOps.has(n.op_type ?? '') : undefined,
      exclude: userExclude,
    };
    const excluding = (more: Iterable<string> = []): { include?: (n: { op_type?: string | null }) => boolean; exclude: Set<string> } => ({ include: selection.include, exclude: new Set([...userExclude, ...more]) });
    const toCalibrate = quantizableTensors(floatBase, selection);
    const rangesByMethod = new Map<CalibrationMethod, RangeTable>();
    if (toCalibrate.length > 0) {
      progress(`calibration (${methods.join(', ')}) on ${calibSet.feeds.length} images`);
      const collected = await collectActivationRanges(floatBase, toCalibrate, calibSet.feeds, { methods, threads: cores });
      for (const [method, ranges] of collected) rangesByMethod.set(method, applyKnownRanges(floatBase, ranges).ranges);
    }
    const staticResults: CandidateResult[] = [];
    for (const format of formats) {
      for (const method of methods) {
        const ranges = rangesByMethod.get(method);
        if (!ranges) continue;
        const id = candidateId.staticInt8(format, method);
        progress(id);
        const r = await search.evaluate(
          {
            id,
            description: `INT8 ${format === 'qdq' ? 'QDQ' : 'QOperator'}, ${method} calibration, per-channel s8 weights / u8 activations, output tail float${baseNote}`,
            kind: 'int8-static',
            threads: threads[0],
            build: async () => {
              const q = quantizeStatic(floatBase, ranges, { format, ...excluding() });
              return { model: q.model, quantizedNodes: q.quantized.length, floatNodes: q.float.length };
            },
          },
          base,
        );
        staticResults.push(r);
      }
    }

    // Mixed precision: per-layer sensitivity of the most accurate static candidate, then the
    // fewest most-sensitive layers kept float that bring accuracy within the budget.
    let sensitivity: LayerSensitivity[] | undefined;
    const bestStatic = bestByAccuracy(staticResults.filter((r) => r.id.startsWith('int8-qdq-')), accuracy.kind);
    if (bestStatic && !passes(bestStatic, base.result, guard)) {
      const method = methods.find((m) => bestStatic.id === candidateId.staticInt8('qdq', m))!;
      const ranges = rangesByMethod.get(method)!;
      progress(`sensitivity of ${bestStatic.id}`);
      try {
        const q = quantizeStatic(floatBase, ranges, { format: 'qdq', ...excluding() });
        sensitivity = await layerSensitivity(floatBase, ranges, q.quantized, calibSet.feeds.slice(0, 8), { threads: cores });
        const ranked = sensitivity.map((l) => l.node);
        const excludeFor = (k: number): Set<string> => withActivations(floatBase, ranked.slice(0, k));
        // Bisection on how many of the worst layers stay float, scoring accuracy only.
        let lo = 0;
        let hi = ranked.length;
        let best: Set<string> | null = null;
        for (let step = 0; step < 6 && hi - lo > 1; step++) {
          const k = Math.max(1, Math.round((lo + hi) / 2));
          progress(`mixed precision: ${k} of ${ranked.length} layers float`);
          const q2 = quantizeStatic(floatBase, ranges, { format: 'qdq', ...excluding(excludeFor(k)) });
          const score = await search.accuracyOf(q2.model);
          if (passes(score, base.result, guard)) {
            hi = k;
            best = excludeFor(k);
          } else {
            lo = k;
          }
        }
        if (best) {
          const exclude = best;
          for (const l of sensitivity) l.keptFloat = exclude.has(l.node);
          await search.evaluate(
            {
              id: candidateId.staticInt8('qdq', method, '-mixed'),
              description: `as ${bestStatic.id}, the ${hi} most sensitive layers (isolated SQNR) and their activations kept float`,
              kind: 'int8-static',
              threads: threads[0],
              build: async () => {
                const q3 = quantizeStatic(floatBase, ranges, { format: 'qdq', ...excluding(exclude) });
                return { model: q3.model, quantizedNodes: q3.quantized.length, floatNodes: q3.float.length };
              },
            },
            base,
          );
        } else {
          warn(`no mixed-precision split of ${bestStatic.id} kept accuracy within the budget (tried down to ${hi} float layers)`);
        }
      } catch (err) {
        warn(`sensitivity analysis failed: ${(err as Error).message}`);
      }
    }

    // Dynamic INT8 for MatMul/Gemm-heavy (transformer) models.
    progress(candidateId.dynamicInt8);
    await search.evaluate(
      {
        id: candidateId.dynamicInt8,
        description: 'INT8 dynamic: MatMul/Gemm weights per-channel s8, activations quantized at run time',
        kind: 'int8-dynamic',
        threads: threads[0],
        build: async () => {
          const q = quantizeDynamic(floatBase);
          return { model: q.model, quantizedNodes: q.quantized.length, floatNodes: q.float.length };
        },
      },
      base,
    );

    for (const ref of opts.references ?? []) {
      progress(`reference ${path.basename(ref)}`);
      await search.evaluate(
        {
          id: candidateId.reference(path.basename(ref, path.extname(ref))),
          description: `given for comparison: ${ref}`,
          kind: 'reference',
          threads: threads[0],
          build: async () => ({ bytes: await readFile(ref) }),
        },
        base,
      );
    }

    // Other thread counts: the same candidates again (reported; the first count decides).
    for (const t of threads.slice(1)) {
      progress(`threads ${t}`);
      await search.remeasureAt(t, base);
    }

    // Decide: end-to-end confirmation for the acceptable ones, then the rule.
    const results = search.results();
    let decision = decide(base.result, results, guard);
    for (const r of results) {
      if (r.id === base.result.id || decision.rejected.has(r.id) && !decision.rejected.get(r.id)!.startsWith('slower than')) continue;
      progress(`${r.id}: end to end`);
      await search.endToEnd(r.id, base);
    }
    decision = decide(base.result, results, guard);

    // Why: per-op-type profiles of the original and the fastest INT8 candidate, side by side.
    progress('per-node profiles');
    const profiles: { candidate: string; ops: OpTypeTime[] }[] = [];
    const fastestInt8 = results
      .filter((r) => r.kind.startsWith('int8') && r.speedup !== undefined && r.threads === threads[0])
      .sort((a, b) => b.speedup! - a.speedup!)[0];
    const profiled = [base, fastestInt8 && search.measured(fastestInt8.id)].filter((m): m is Measured => !!m?.file);
    try {
      const tables = await profileOpTypesSideBySide(
        await Promise.all(profiled.map(async (m) => ({ model: m.file!, feeds: await search.speedFeeds(m.profile) }))),
        { threads: threads[0] },
      );
      profiled.forEach((m, k) => profiles.push({ candidate: m.result.id, ops: tables[k] }));
    } catch (err) {
      warn(`profiling failed: ${(err as Error).message}`);
    }

    for (const r of results) {
      if (r.id === decision.chosen?.id || r.id === base.result.id) continue;
      const reason = decision.rejected.get(r.id);
      if (reason && !r.error) r.rejected = reason;
    }

    let verdict: string;
    if (decision.chosen) {
      const chosen = search.measured(decision.chosen.id)!;
      await mkdir(path.dirname(output), { recursive: true });
      await copyFile(chosen.file!, output);
      await writeFile(sidecarPath(output), JSON.stringify(profileSidecar(chosen.profile, `${decision.chosen.description} — made by tearless optimize from ${path.basename(modelPath)}`), null, 2) + '\n');
      const acc = accuracy.kind === 'map'
        ? `mAP ${decision.chosen.map!.toFixed(3)} vs ${base.result.map!.toFixed(3)}`
        : `${(decision.chosen.agreement! * 100).toFixed(1)}% of the original's boxes found`;
      const machineOnly = decision.chosen.id === candidateId.ortOffline('all') ? " It holds onnxruntime's NCHWc layouts for this CPU: build it again on another machine." : '';
      verdict = `${decision.chosen.id} is ×${decision.chosen.speedup!.toFixed(2)} faster than the original (model-only, ${threads[0]} threads) with ${acc}; written to ${output}.${machineOnly}`;
    } else {
      verdict = `The original is the best: no candidate was both within the accuracy budget and at least ×${MIN_SPEEDUP.toFixed(2)} faster. Nothing was written.`;
    }

    return {
      model: modelPath,
      output: decision.chosen ? output : undefined,
      chosen: decision.chosen?.id ?? null,
      verdict,
      guard: accuracy.kind === 'map'
        ? { kind: 'map', maxMapDrop, images: accuracy.dataset.images.length, dataset: accuracy.source }
        : { kind: 'agreement', minAgreement, images: accuracy.images.length },
      calibration: { images: calibSet.feeds.length, folder: opts.calib, method: methods },
      machine: formatFingerprint(machineFingerprint()),
      candidates: results,
      sensitivity,
      profiles,
      durationMs: performance.now() - started,
    };
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    if (!opts.keepDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** Refuse --keep-float names that are not nodes of the model and --quantize-ops types the quantizer does not know. */
function checkNodeSelection(model: OnnxModel, opts: OptimizeOptions): void {
  const ids = new Set((model.graph.node ?? []).map(nodeId));
  const unknown = (opts.keepFloat ?? []).filter((n) => !ids.has(n));
  if (unknown.length) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--keep-float: no node named ${unknown.map((n) => `"${n}"`).join(', ')} in the model (node names as Netron shows them, e.g. "${[...ids][0] ?? 'Conv_0'}").`);
  }
  const known = new Set(QUANT_OPS.keys());
  const badOps = (opts.quantizeOps ?? []).filter((t) => !known.has(t));
  if (badOps.length) throw new TearlessError('TL_ERR_BAD_OPTION', `--quantize-ops: ${badOps.join(', ')} cannot be quantized; supported: ${[...known].join(', ')}.`);
}

/** The images that decode (agreement is scored on every one; an unreadable file is skipped, with a warning). */
async function readableImages(files: readonly string[], warn: (m: string) => void): Promise<string[]> {
  const ok: string[] = [];
  for (const f of files) {
    try {
      await decodeImage(await readFile(f));
      ok.push(f);
    } catch (err) {
      warn(`agreement image skipped: ${f}: ${(err as Error).message}`);
    }
  }
  if (ok.length === 0) throw new TearlessError('TL_ERR_DATASET_INVALID', '--calib: none of the images can be read, so agreement cannot be scored.');
  return ok;
}

/** Whether an accuracy score is within the guard's budget. */
function passes(score: { map?: number; agreement?: number }, original: CandidateResult, guard: AccuracyGuard): boolean {
  if (guard.kind === 'map') return score.map !== undefined && original.map !== undefined && original.map - score.map <= guard.maxMapDrop + 1e-12;
  return score.agreement !== undefined && score.agreement >= guard.minAgreement;
}

/**
 * The nodes to keep float plus the SiLU/Sigmoid activations reading their outputs: a float
 * convolution followed by an int8 activation would only add conversions.
 */
function withActivations(model: OnnxModel, nodes: readonly string[]): Set<string> {
  const consumers = consumerMap(model);
  const ids = new Set(nodes);
  for (const node of model.graph.node ?? []) {
    if (!ids.has(nodeId(node))) continue;
    for (const out of node.output ?? []) {
      for (const c of consumers.get(out) ?? []) if (c.op_type === 'Sigmoid' || c.op_type === 'Mul' || c.op_type === 'Relu' || c.op_type === 'LeakyRelu') ids.add(nodeId(c));
    }
  }
  return ids;
}

function bestByAccuracy(results: CandidateResult[], kind: 'map' | 'agreement'): CandidateResult | undefined {
  const score = (r: CandidateResult): number => (kind === 'map' ? r.map : r.agreement) ?? -1;
  return results.filter((r) => !r.error).sort((a, b) => score(b) - score(a))[0];
}

interface SearchContext {
  modelPath: string;
  profile: ModelProfile;
  original: OnnxModel;
  calib: Feeds[];
  accuracy: AccuracyData;
  threads: number[];
  speed: SpeedOptions;
  workDir: string;
  speedImages: Uint8Array[];
  cores: number;
  warn: (m: string) => void;
}

/** The candidates measured so far, and how to measure one more. */
class Search {
  private readonly byId = new Map<string, Measured>();
  private readonly order: CandidateResult[] = [];
  private referenceBoxes: Detection[][] | null = null;

  constructor(private readonly ctx: SearchContext) {}

  results(): CandidateResult[] {
    return this.order;
  }

  measured(id: string): Measured | undefined {
    return this.byId.get(id);
  }

  /** Fixed feeds for profiling: the first speed image, pre-processed for the candidate's input. */
  async speedFeeds(profile: ModelProfile): Promise<Feeds> {
    return toOrtFeeds(prepareFeeds(await decodeImage(this.ctx.speedImages[0]), profile).feeds);
  }

  async measureOriginal(): Promise<Measured> {
    const { modelPath, threads, profile } = this.ctx;
    const st = await stat(modelPath);
    const result: CandidateResult = { id: candidateId.original, description: 'the input model, float32', kind: 'original', threads: threads[0], file: modelPath, sizeBytes: st.size, speedup: 1, endToEndSpeedup: 1 };
    if (this.ctx.accuracy.kind === 'map') {
      result.map = await measureMap(modelPath, this.ctx.accuracy);
      result.mapDrop = 0;
    } else {
      this.referenceBoxes = await detectAll(modelPath, this.ctx.accuracy.images, AGREEMENT_REFERENCE);
      result.agreement = 1;
    }
    const m: Measured = { result, file: modelPath, profile };
    this.byId.set(result.id, m);
    this.order.push(result);
    return m;
  }

  /** Build, score and time one candidate; a failure is recorded in its row, never thrown. */
  async evaluate(recipe: CandidateRecipe, base: Measured): Promise<CandidateResult> {
    const { build, ...spec } = recipe;
    const result: CandidateResult = { ...spec };
    const m: Measured = { result, profile: this.ctx.profile };
    this.byId.set(result.id, m);
    this.order.push(result);
    try {
      const built = await build();
      const bytes = built.bytes ?? writeModel(built.model!);
      const file = path.join(this.ctx.workDir, `${safeName(result.id)}.onnx`);
      await writeFile(file, bytes);
      if (built.profile) m.profile = built.profile;
      await writeFile(sidecarPath(file), JSON.stringify(profileSidecar(m.profile), null, 2) + '\n');
      m.file = file;
      result.file = file;
      result.sizeBytes = bytes.length;
      if (built.quantizedNodes !== undefined) result.quantizedNodes = built.quantizedNodes;
      if (built.floatNodes !== undefined) result.floatNodes = built.floatNodes;
      await this.scoreAccuracy(m, base);
      const s = await compareModelOnly({ model: base.file!, profile: base.profile }, { model: file, profile: m.profile }, this.ctx.speedImages[0], result.threads, this.ctx.speed);
      result.modelFps = s.fps;
      result.speedup = s.speedup;
      result.speedupRuns = s.perRun;
      result.latencyMs = s.latencyMs;
      if (base.result.modelFps === undefined || base.result.threads === result.threads) base.result.modelFps = s.baselineFps;
    } catch (err) {
      const e = err as Error & { code?: string };
      result.error = { code: e.code ?? 'TL_ERR_INTERNAL', message: e.message.split('\n')[0] };
    }
    return result;
  }

  /** Accuracy only (for the mixed-precision search): written to a scratch file and scored. */
  async accuracyOf(model: OnnxModel): Promise<{ map?: number; agreement?: number }> {
    const file = path.join(this.ctx.workDir, 'scratch-accuracy.onnx');
    await writeFile(file, writeModel(model));
    await writeFile(sidecarPath(file), JSON.stringify(profileSidecar(this.ctx.profile), null, 2) + '\n');
    const probe: Measured = { result: { id: 'scratch', description: '', kind: 'int8-static', threads: 1 }, file, profile: this.ctx.profile };
    await this.scoreAccuracy(probe, this.byId.get(candidateId.original)!);
    return { map: probe.result.map, agreement: probe.result.agreement };
  }

  private async scoreAccuracy(m: Measured, base: Measured): Promise<void> {
    const { accuracy } = this.ctx;
    if (accuracy.kind === 'map') {
      m.result.map = await measureMap(m.file!, accuracy);
      m.result.mapDrop = base.result.map! - m.result.map;
    } else {
      const boxes = await detectAll(m.file!, accuracy.images, AGREEMENT_CANDIDATE);
      m.result.agreement = agreementOf(this.referenceBoxes!, boxes);
    }
  }

  /** The same candidates at another thread count (speed only; accuracy does not depend on it). */
  async remeasureAt(threads: number, base: Measured): Promise<void> {
    for (const r of [...this.order]) {
      const m = this.byId.get(r.id)!;
      if (!m.file || r.error || r.threads !== this.ctx.threads[0] || r.id === base.result.id) continue;
      const row: CandidateResult = { ...r, id: `${r.id}@${threads}t`, threads, endToEndFps: undefined, endToEndSpeedup: undefined };
      try {
        const s = await compareModelOnly({ model: base.file!, profile: base.profile }, { model: m.file, profile: m.profile }, this.ctx.speedImages[0], threads, this.ctx.speed);
        Object.assign(row, { modelFps: s.fps, speedup: s.speedup, speedupRuns: s.perRun, latencyMs: s.latencyMs });
      } catch (err) {
        row.error = { code: (err as { code?: string }).code ?? 'TL_ERR_INTERNAL', message: (err as Error).message };
      }
      // reported only: decide() leaves rows of other thread counts out
      this.byId.set(row.id, { ...m, result: row });
      this.order.push(row);
    }
  }

  async endToEnd(id: string, base: Measured): Promise<void> {
    const m = this.byId.get(id);
    if (!m?.file) return;
    try {
      const s = await compareEndToEnd(base.file!, m.file, this.ctx.speedImages, this.ctx.cores, this.ctx.speed);
      m.result.endToEndFps = s.fps;
      m.result.endToEndSpeedup = s.speedup;
      base.result.endToEndFps ??= s.baselineFps;
    } catch (err) {
      this.ctx.warn(`end-to-end measurement of ${id} failed: ${(err as Error).message}`);
    }
  }
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
