/**
 * Where a model spends its time, per op type, from onnxruntime's own profiler (the "Node"
 * events of its Chrome-trace JSON): what `tearless optimize` shows to explain why an INT8 graph
 * is or is not faster (e.g. QLinearConv halves the convolutions while QLinearSigmoid +
 * QLinearMul cost more than the float SiLU they replace).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { TearlessError } from '../../core/errors.js';
import type { OpTypeTime } from '../types.js';

/** One event of onnxruntime's profile (only the fields used here). */
interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

/**
 * Sum the kernel time of each op type over the runs in a profile, per run, largest first.
 * Node events are named `<node>_kernel_time` (there are also `_fence_before/after` events,
 * which are not kernel time); runs are the `model_run` session events.
 */
export function opTypeTimes(events: readonly ProfileEvent[]): OpTypeTime[] {
  const byOp = new Map<string, { us: number; events: number }>();
  let runs = 0;
  let totalUs = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') runs++;
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const entry = byOp.get(e.args.op_name) ?? { us: 0, events: 0 };
    entry.us += e.dur ?? 0;
    entry.events++;
    byOp.set(e.args.op_name, entry);
    totalUs += e.dur ?? 0;
  }
  if (runs === 0) return [];
  return [...byOp]
    .map(([opType, v]) => ({ opType, nodes: Math.round(v.events / runs), msPerRun: v.us / runs / 1000, share: totalUs > 0 ? v.us / totalUs : 0 }))
    .sort((a, b) => b.msPerRun - a.msPerRun);
}

/**
 * Profile models side by side: one profiling session per model (each with its own feeds and
 * `threads` intra-op threads), run in alternation `runs` times, so that every profile sees the
 * same machine — on a shared VM whose speed drifts, profiles taken one after the other are not
 * comparable. onnxruntime records from the first run, so the slower first runs are in the trace
 * too; with the default 30 runs their share is small. Returns one table per model, in order.
 */
export async function profileOpTypesSideBySide(
  models: readonly { model: string | Uint8Array; feeds: Record<string, ort.Tensor> }[],
  opts: { threads: number; runs?: number },
): Promise<OpTypeTime[][]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tearless-profile-'));
  try {
    const sessions: ort.InferenceSession[] = [];
    try {
      for (const [k, m] of models.entries()) {
        const options: ort.InferenceSession.SessionOptions = {
          intraOpNumThreads: opts.threads,
          graphOptimizationLevel: 'all',
          enableProfiling: true,
          profileFilePrefix: path.join(dir, `profile${k}`),
          logSeverityLevel: 3,
        };
        sessions.push(typeof m.model === 'string' ? await ort.InferenceSession.create(m.model, options) : await ort.InferenceSession.create(m.model, options));
      }
      for (let i = 0; i < (opts.runs ?? 30); i++) {
        for (const [k, s] of sessions.entries()) await s.run(models[k].feeds);
      }
    } finally {
      // the trace files are written when the sessions end
      for (const s of sessions) await s.release();
    }
    const files = await readdir(dir);
    return Promise.all(
      models.map(async (_, k) => {
        const file = files.find((f) => f.startsWith(`profile${k}_`) && f.endsWith('.json'));
        if (!file) throw new TearlessError('TL_ERR_MODEL_RUN_FAILED', 'onnxruntime wrote no profile file.');
        return opTypeTimes(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as ProfileEvent[]);
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Profile one model (see {@link profileOpTypesSideBySide}). */
export async function profileOpTypes(model: string | Uint8Array, feeds: Record<string, ort.Tensor>, opts: { threads: number; runs?: number }): Promise<OpTypeTime[]> {
  return (await profileOpTypesSideBySide([{ model, feeds }], opts))[0];
}
