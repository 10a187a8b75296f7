/**
 * The model manager: loads every model of the repository (newest version of each name),
 * routes requests to a version's scheduler, hot-reloads changed or new versions (the new one
 * is loaded and warmed before it replaces the old; a broken file leaves the old one serving),
 * and reports state and statistics.
 */
import { TearlessError, isTearlessError } from '../core/errors.js';
import type { CoreTensor, DetectOptions } from '../core/types.js';
import { Detector } from '../pipeline/detector.js';
import { BUNDLED_MODEL_PATH } from '../pipeline/model-source.js';
import { availableCores } from '../runtime/node/onnx-backend.js';
import { checkModelName, checkVersion, scanSources, type RepositoryEntry, type RepositoryProblem } from './model-repository.js';
import { ModelScheduler } from './scheduler.js';
import type { ModelManager, ModelManagerOptions, ModelStats, ModelVersionStatus, ServedDetectResult, ServedModel } from './types.js';

interface Slot {
  entry: RepositoryEntry;
  state: ModelVersionStatus['state'];
  reason?: string;
  scheduler?: ModelScheduler;
  served?: ServedModel;
  /** The slot keeps serving while its name is in conflict (two files); `reason` says so. */
  conflict?: boolean;
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };

export function createModelManager(options: ModelManagerOptions): ModelManager {
  return new RepositoryModelManager(options);
}

class RepositoryModelManager implements ModelManager {
  /** name → version → slot */
  private readonly models = new Map<string, Map<string, Slot>>();
  /** Names explicitly unloaded through the repository API (not reloaded by the rescan). */
  private readonly unloaded = new Set<string>();
  private readonly sources: string[];
  private readonly log: NonNullable<ModelManagerOptions['logger']>;
  private readonly loaded: Promise<void>;
  private loadedOnce = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private rescanning: Promise<void> | null = null;
  /** Every name seen, in scan order (command line, then each folder alphabetically). */
  private readonly order: string[] = [];
  /** Names in the repository as of the last scan (removed ones stay listed, not counted). */
  private present = new Set<string>();
  /** Problems already logged (path + reason), so a rescan every 2 s does not repeat them. */
  private reported = new Set<string>();

  constructor(private readonly opts: ModelManagerOptions) {
    this.sources = opts.sources.length ? [...opts.sources] : [BUNDLED_MODEL_PATH];
    this.log = opts.logger ?? silent;
    if (opts.defaultModel !== undefined) checkModelName(opts.defaultModel);
    this.loaded = this.rescan().then(() => {
      this.loadedOnce = true;
      const interval = opts.reloadIntervalMs ?? 2000;
      if (interval > 0 && !this.closed) {
        this.timer = setInterval(() => void this.rescan().catch((err) => this.log.error({ err }, 'repository rescan failed')), interval);
        this.timer.unref();
      }
      if (opts.defaultModel !== undefined && !this.models.has(opts.defaultModel)) {
        this.log.warn({ model: opts.defaultModel, known: [...this.models.keys()] }, 'the default model is not in the repository; /v1/detect answers 404 until it is');
      }
    });
    // Reported through whenLoaded(); never an unhandled rejection before a caller attaches.
    this.loaded.catch((err) => this.log.error({ err }, 'loading the models failed'));
  }

  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /**
   * `defaultModel` when given; else the first name in scan order that is serving, so a model
   * that failed to load (or was removed) does not leave `/v1/detect` answering 503 while
   * others serve; else the first name.
   */
  get defaultModel(): string | undefined {
    if (this.opts.defaultModel !== undefined) return this.opts.defaultModel;
    const serving = this.order.find((n) => [...(this.models.get(n)?.values() ?? [])].some((s) => s.state === 'ready'));
    return serving ?? this.order.find((n) => this.present.has(n)) ?? this.order[0];
  }

  /**
   * Every model in the repository has a ready version. Models unloaded through the API, or
   * whose files were removed, do not count: they are not meant to serve.
   */
  ready(): boolean {
    if (!this.loadedOnce || this.closed) return false;
    let counted = 0;
    for (const [name, versions] of this.models) {
      if (this.unloaded.has(name) || !this.present.has(name)) continue;
      counted++;
      if (![...versions.values()].some((s) => s.state === 'ready')) return false;
    }
    return counted > 0;
  }

  index(): ModelVersionStatus[] {
    const out: ModelVersionStatus[] = [];
    for (const [name, versions] of this.models) {
      for (const [version, s] of versions) out.push({ name, version, path: s.entry.path, state: s.state, ...(s.reason ? { reason: s.reason } : {}) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
  }

  get(name: string, version?: string): ServedModel {
    return this.slot(name, version).served!;
  }

  /** `handOver`: the caller will not read `image` again (see `ModelScheduler.detect`). */
  async detect(name: string, version: string | undefined, image: Uint8Array, opts?: DetectOptions, handOver = false): Promise<ServedDetectResult> {
    const slot = this.slot(name, version);
    const result = await slot.scheduler!.detect(image, opts, handOver);
    return { ...result, model: slot.entry.name, version: slot.entry.version };
  }

  infer(name: string, version: string | undefined, feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    return this.slot(name, version).scheduler!.infer(feeds, outputNames);
  }

  async load(name: string): Promise<void> {
    checkModelName(name);
    this.unloaded.delete(name);
    await this.rescan();
    const versions = this.models.get(name);
    if (!versions || !this.present.has(name)) throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model "${name}" is not in the repository${versions ? ' (its files were removed)' : ''}.`);
    const failed = [...versions.values()].find((s) => s.state === 'failed');
    if (![...versions.values()].some((s) => s.state === 'ready')) {
      throw new TearlessError('TL_ERR_MODEL_UNAVAILABLE', `Model "${name}" failed to load: ${failed?.reason ?? 'unknown reason'}`);
    }
  }

  async unload(name: string): Promise<void> {
    checkModelName(name);
    const versions = this.models.get(name);
    if (!versions) throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model "${name}" is not in the repository.`);
    this.unloaded.add(name);
    await Promise.all([...versions.values()].map((s) => this.retire(s, 'unavailable', 'unloaded through the repository API')));
  }

  stats(name?: string, version?: string): ModelStats[] {
    if (name !== undefined) this.slot(name, version); // 404s for unknown names/versions
    const out: ModelStats[] = [];
    for (const [n, versions] of this.models) {
      if (name !== undefined && n !== name) continue;
      for (const [v, s] of versions) {
        if (version !== undefined && v !== version) continue;
        if (s.scheduler) out.push({ ...s.scheduler.stats, batchSizes: { ...s.scheduler.stats.batchSizes }, batchComputeNs: { ...s.scheduler.stats.batchComputeNs } });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.loaded.catch(() => {});
    await this.rescanning?.catch(() => {});
    await Promise.all([...this.models.values()].flatMap((v) => [...v.values()]).map((s) => this.retire(s, 'unavailable', 'server shutting down')));
  }

  /** The slot serving `name` (newest ready version) or the named version. */
  private slot(name: string, version?: string): Slot {
    checkModelName(name);
    const versions = this.models.get(name);
    if (!versions) throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Unknown model "${name}". Known: ${[...this.models.keys()].join(', ') || 'none'}.`);
    if (version !== undefined) {
      checkVersion(version);
      const s = versions.get(String(Number(version)));
      if (!s) throw new TearlessError('TL_ERR_MODEL_NOT_FOUND', `Model "${name}" has no version ${version}. Versions: ${[...versions.keys()].join(', ')}.`);
      if (s.state !== 'ready') throw new TearlessError('TL_ERR_MODEL_UNAVAILABLE', `Model "${name}" version ${version} is ${s.state}${s.reason ? `: ${s.reason}` : ''}.`);
      return s;
    }
    const ready = [...versions.values()].filter((s) => s.state === 'ready').sort((a, b) => Number(b.entry.version) - Number(a.entry.version));
    if (!ready.length) {
      const why = [...versions.values()].map((s) => `v${s.entry.version} ${s.state}${s.reason ? ` (${s.reason})` : ''}`).join('; ');
      throw new TearlessError('TL_ERR_MODEL_UNAVAILABLE', `Model "${name}" has no ready version: ${why}.`);
    }
    return ready[0];
  }

  /** Bring the loaded set in line with the repository. Serialised: one rescan at a time. */
  private rescan(): Promise<void> {
    const run = (this.rescanning ?? Promise.resolve()).then(() => this.rescanOnce());
    this.rescanning = run.catch(() => {});
    return run;
  }

  private async rescanOnce(): Promise<void> {
    if (this.closed) return;
    const { entries, problems } = await scanSources(this.sources);
    this.report(problems);
    const byName = new Map<string, RepositoryEntry[]>();
    for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    const conflicts = new Map<string, RepositoryProblem>();
    for (const p of problems) if (p.name !== undefined && !conflicts.has(p.name)) conflicts.set(p.name, p);
    this.present = new Set([...byName.keys(), ...conflicts.keys()]);
    for (const name of this.present) if (!this.order.includes(name)) this.order.push(name);
    // A conflict resolved since the last scan: its serving version's reason clears.
    for (const [name, versions] of this.models) {
      if (conflicts.has(name)) continue;
      for (const s of versions.values()) if (s.conflict) Object.assign(s, { conflict: false, reason: undefined });
    }

    for (const [name, list] of byName) {
      if (this.unloaded.has(name)) continue;
      const versions = this.models.get(name) ?? new Map<string, Slot>();
      this.models.set(name, versions);
      // Serve the newest version (Triton's default policy "latest 1").
      const newest = list.sort((a, b) => Number(b.version) - Number(a.version))[0];
      const current = versions.get(newest.version);
      if (current && current.entry.signature === newest.signature && current.state !== 'unavailable') continue;
      if (current?.state === 'failed' && current.entry.signature === newest.signature) continue; // same broken file
      await this.loadVersion(name, newest, versions);
    }
    // A name in conflict keeps its serving version (hot reload of the others goes on); without
    // one, it is listed as failed with the reason.
    for (const [name, problem] of conflicts) {
      if (this.unloaded.has(name)) continue;
      const versions = this.models.get(name) ?? new Map<string, Slot>();
      this.models.set(name, versions);
      const serving = [...versions.values()].filter((s) => s.state === 'ready');
      for (const s of serving) Object.assign(s, { conflict: true, reason: problem.reason });
      if (!serving.length && !byName.has(name)) {
        const version = problem.version ?? '1';
        versions.set(version, { entry: { name, version, path: problem.path, signature: 'conflict' }, state: 'failed', reason: problem.reason });
      }
    }
    // Versions whose files disappeared stop serving.
    for (const [name, versions] of this.models) {
      if (conflicts.has(name)) continue;
      for (const [v, s] of versions) {
        const still = byName.get(name)?.some((e) => e.version === v);
        if (!still && s.state !== 'unavailable') await this.retire(s, 'unavailable', 'removed from the repository');
      }
    }
  }

  /** Log each repository problem once (again if it goes away and comes back). */
  private report(problems: readonly RepositoryProblem[]): void {
    const key = (p: RepositoryProblem): string => `${p.path}\n${p.reason}`;
    const now = new Set(problems.map(key));
    for (const p of problems) {
      if (!this.reported.has(key(p))) this.log.error({ path: p.path, ...(p.name ? { model: p.name } : {}) }, `not served: ${p.reason}`);
    }
    this.reported = now;
  }

  private async loadVersion(name: string, entry: RepositoryEntry, versions: Map<string, Slot>): Promise<void> {
    const previous = versions.get(entry.version);
    const slot: Slot = { entry, state: 'loading' };
    // While a replacement loads, the old slot keeps serving; record the new one beside it.
    if (!previous || previous.state !== 'ready') versions.set(entry.version, slot);
    this.log.info({ model: name, version: entry.version, path: entry.path }, 'loading model');
    try {
      // A server is loaded concurrently: one single-threaded stream per core gives the best
      // throughput and steadier latency than one stream on all cores (npm run bench:serve).
      const cores = availableCores();
      const streams = this.opts.streams ?? (this.opts.threads !== undefined ? Math.max(1, Math.floor(cores / this.opts.threads)) : cores);
      const threads = this.opts.threads ?? Math.max(1, Math.floor(cores / streams));
      const detector = await Detector.load(entry.path, {
        threads,
        streams,
        maxPixels: this.opts.maxPixels,
        maxBatchSize: this.opts.maxBatchSize ?? 8,
      });
      const scheduler = new ModelScheduler(detector, name, entry.version, {
        maxQueue: this.opts.maxQueue ?? 64,
        timeoutMs: this.opts.timeoutMs ?? 30000,
        maxBatchSize: this.opts.maxBatchSize ?? 8,
        maxQueueDelayMs: this.opts.maxQueueDelayMs ?? 2,
      });
      slot.scheduler = scheduler;
      slot.served = { name, version: entry.version, path: entry.path, info: detector.info, profile: detector.profile, maxBatchSize: scheduler.maxBatch, platform: 'onnxruntime_onnx' };
      slot.state = 'ready';
      versions.set(entry.version, slot);
      this.log.info({ model: name, version: entry.version, family: detector.profile.output.family, maxBatchSize: scheduler.maxBatch }, 'model ready');
      // Older versions and the replaced slot retire once their in-flight requests finish.
      for (const [v, s] of versions) {
        if (s !== slot && s.state === 'ready' && Number(v) <= Number(entry.version)) void this.retire(s, 'unavailable', `replaced by version ${entry.version}`);
      }
      if (previous && previous !== slot && previous.state === 'ready') await this.retire(previous, 'unavailable', 'reloaded');
    } catch (err) {
      const reason = isTearlessError(err) ? `${err.message} [${err.code}]` : (err as Error).message;
      this.log.error({ model: name, version: entry.version, err: reason }, 'model failed to load; the previous version (if any) keeps serving');
      if (previous && previous.state === 'ready') {
        // Keep serving the old file; remember the failure for /v2/repository/index.
        previous.reason = `a newer file failed to load: ${reason}`;
        previous.entry = { ...previous.entry, signature: entry.signature };
      } else {
        slot.state = 'failed';
        slot.reason = reason;
        versions.set(entry.version, slot);
      }
    }
  }

  private async retire(slot: Slot, state: 'unavailable', reason: string): Promise<void> {
    if (slot.state === 'unavailable' || slot.state === 'unloading') return;
    const scheduler = slot.scheduler;
    slot.state = 'unloading';
    if (scheduler) {
      await scheduler.drain();
      await scheduler.detector.close();
    }
    slot.state = state;
    slot.reason = reason;
    slot.conflict = false; // the reason is now why it stopped
  }
}
