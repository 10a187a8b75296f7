/**
 * The request queue of one served model version: admission control (a bounded number of
 * requests waiting or in progress, else 503 with Retry-After), a per-request timeout, and
 * dynamic batching — requests that arrive within
 * `maxQueueDelayMs` of each other run as one inference when the model has a batch dimension.
 */
import { TearlessError } from '../core/errors.js';
import { resolveDetectOptions, type ResolvedDetectOptions } from '../core/postprocess.js';
import type { CoreTensor, DetectOptions } from '../core/types.js';
import type { Detector, DetectResult } from '../pipeline/detector.js';
import type { ModelStats } from './types.js';

export interface SchedulerOptions {
  maxQueue: number;
  timeoutMs: number;
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

interface Job {
  kind: 'detect' | 'raw';
  /** Encoded image bytes: decoded in the inference stream's worker, with the model's pixel limit. */
  image?: Uint8Array;
  /** The request gave the image's buffer up: it may be moved to the worker (no copy). */
  handOver?: boolean;
  opts?: ResolvedDetectOptions;
  feeds?: Record<string, CoreTensor>;
  outputNames?: readonly string[];
  enqueuedAt: number;
  resolve: (v: DetectResult | Record<string, CoreTensor>) => void;
  reject: (e: unknown) => void;
}

const NS_PER_MS = 1e6;

/** A TL_ERR_QUEUE_FULL error carrying the Retry-After estimate. */
export class QueueFullError extends TearlessError {
  constructor(readonly retryAfterSeconds: number, model: string) {
    super('TL_ERR_QUEUE_FULL', `Model "${model}" is at capacity (queue full). Retry after ${retryAfterSeconds} s, or raise --max-queue / add streams.`);
  }
}

export class ModelScheduler {
  readonly stats: ModelStats;
  private readonly queue: Job[] = [];
  private pending = 0;
  private running = 0;
  private batchTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Mean execution time (ms), for Retry-After estimates. */
  private meanExecMs = 20;

  constructor(
    readonly detector: Detector,
    readonly name: string,
    readonly version: string,
    private readonly opts: SchedulerOptions,
  ) {
    this.stats = {
      name, version, success: 0, failure: 0, successNs: 0, failureNs: 0, executions: 0, inferences: 0, queueNs: 0,
      computeInferNs: 0, computeInputNs: 0, computeOutputNs: 0, queueDepth: 0, batchSizes: {}, batchComputeNs: {}, lastInferenceMs: 0,
    };
  }

  /** Largest batch this scheduler forms. */
  get maxBatch(): number {
    return Math.max(1, Math.min(this.opts.maxBatchSize, this.detector.maxBatchSize));
  }

  /** Requests waiting or in progress. */
  get load(): number {
    return this.pending;
  }

  /** `handOver`: the caller will not read `image` again, so its buffer may be moved (detached). */
  async detect(image: Uint8Array, opts?: DetectOptions, handOver = false): Promise<DetectResult> {
    const resolved = resolveDetectOptions(opts, this.detector.profile.labels); // bad options fail before queueing
    return this.admit((deadline) => this.enqueue({ kind: 'detect', image, handOver, opts: resolved }, deadline) as Promise<DetectResult>);
  }

  async infer(feeds: Record<string, CoreTensor>, outputNames?: readonly string[]): Promise<Record<string, CoreTensor>> {
    return this.admit((deadline) => this.enqueue({ kind: 'raw', feeds, outputNames }, deadline) as Promise<Record<string, CoreTensor>>);
  }

  /** Stop admitting work and wait until everything admitted has finished. */
  async drain(): Promise<void> {
    this.closed = true;
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async admit<T>(work: (deadline: number) => Promise<T>): Promise<T> {
    if (this.closed) throw new TearlessError('TL_ERR_MODEL_UNAVAILABLE', `Model "${this.name}" version ${this.version} is being unloaded.`);
    if (this.pending >= this.opts.maxQueue) {
      const waitMs = ((this.pending - this.running) / Math.max(1, this.detector.streams)) * this.meanExecMs;
      throw new QueueFullError(Math.max(1, Math.ceil(waitMs / 1000)), this.name);
    }
    this.pending++;
    const arrived = performance.now();
    const deadline = arrived + this.opts.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeoutError()), this.opts.timeoutMs);
    });
    try {
      const result = await Promise.race([work(deadline), timeout]);
      this.stats.success++;
      this.stats.successNs += (performance.now() - arrived) * NS_PER_MS;
      return result;
    } catch (err) {
      this.stats.failure++;
      this.stats.failureNs += (performance.now() - arrived) * NS_PER_MS;
      throw err;
    } finally {
      clearTimeout(timer);
      this.pending--;
      if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private timeoutError(): TearlessError {
    return new TearlessError('TL_ERR_TIMEOUT', `Model "${this.name}" did not answer within ${this.opts.timeoutMs} ms (waiting for a stream plus inference took longer). Retry later, or raise --timeout-ms.`);
  }

  private enqueue(partial: Pick<Job, 'kind' | 'image' | 'handOver' | 'opts' | 'feeds' | 'outputNames'>, deadline: number): Promise<DetectResult | Record<string, CoreTensor>> {
    return new Promise((resolve, reject) => {
      const job: Job = { ...partial, enqueuedAt: performance.now(), resolve, reject };
      // A job whose request timed out is dropped from the queue instead of computed.
      const left = deadline - performance.now();
      const expire = setTimeout(() => this.removeFromQueue(job), Math.max(0, left));
      job.resolve = (v) => { clearTimeout(expire); resolve(v); };
      job.reject = (e) => { clearTimeout(expire); reject(e); };
      this.queue.push(job);
      this.stats.queueDepth = this.queue.length;
      this.pump();
    });
  }

  private removeFromQueue(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    this.stats.queueDepth = this.queue.length;
  }

  private pump(): void {
    while (this.running < this.detector.streams && this.queue.length > 0) {
      const head = this.queue[0];
      const maxBatch = head.kind === 'detect' ? this.maxBatch : 1;
      const detectsWaiting = maxBatch > 1 ? this.queue.filter((j) => j.kind === 'detect').length : 1;
      // Wait briefly for a batch to fill, but never longer than maxQueueDelayMs for the head.
      if (maxBatch > 1 && detectsWaiting < maxBatch && this.opts.maxQueueDelayMs > 0) {
        const waited = performance.now() - head.enqueuedAt;
        if (waited < this.opts.maxQueueDelayMs) {
          if (!this.batchTimer) {
            this.batchTimer = setTimeout(() => {
              this.batchTimer = null;
              this.pump();
            }, this.opts.maxQueueDelayMs - waited);
          }
          return;
        }
      }
      const batch: Job[] = [];
      if (head.kind === 'raw') {
        batch.push(this.queue.shift()!);
      } else {
        for (let i = 0; i < this.queue.length && batch.length < maxBatch; ) {
          if (this.queue[i].kind === 'detect') batch.push(...this.queue.splice(i, 1));
          else i++;
        }
      }
      this.stats.queueDepth = this.queue.length;
      void this.execute(batch);
    }
  }

  private countExecution(size: number, start: number): void {
    this.stats.executions++;
    this.stats.inferences += size;
    this.stats.batchSizes[size] = (this.stats.batchSizes[size] ?? 0) + 1;
    this.stats.batchComputeNs[size] = (this.stats.batchComputeNs[size] ?? 0) + (performance.now() - start) * NS_PER_MS;
    this.stats.lastInferenceMs = Date.now();
  }

  private async execute(batch: Job[]): Promise<void> {
    this.running++;
    const start = performance.now();
    for (const j of batch) this.stats.queueNs += (start - j.enqueuedAt) * NS_PER_MS;
    try {
      if (batch[0].kind === 'raw') {
        const out = await this.detector.run(batch[0].feeds!, batch[0].outputNames);
        this.stats.computeInferNs += (performance.now() - start) * NS_PER_MS;
        batch[0].resolve(out);
        this.countExecution(1, start);
      } else {
        const results = await this.detector.detectEncodedBatch(batch.map((j) => j.image!), batch.map((j) => j.opts!), { handOver: batch.map((j) => j.handOver === true) });
        let ran = 0;
        results.forEach((r, i) => {
          if (r instanceof Error) return batch[i].reject(r); // an unreadable image fails alone
          if (ran++ === 0) this.stats.computeInferNs += r.timings.inferMs * NS_PER_MS;
          this.stats.computeInputNs += (r.timings.decodeMs + r.timings.preprocessMs) * NS_PER_MS;
          this.stats.computeOutputNs += r.timings.postprocessMs * NS_PER_MS;
          r.timings.queueMs += start - batch[i].enqueuedAt;
          batch[i].resolve(r);
        });
        if (ran > 0) this.countExecution(ran, start); // all unreadable: nothing was inferred
      }
    } catch (err) {
      for (const j of batch) j.reject(err);
    } finally {
      const took = performance.now() - start;
      this.meanExecMs = this.meanExecMs * 0.9 + took * 0.1;
      this.running--;
      this.pump();
    }
  }
}
