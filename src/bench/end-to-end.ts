/**
 * End-to-end measurement: encoded image bytes → detections through `Detector.detect`, as
 * `predict` and the server use it, with `streams + 2` images in flight so every stream stays
 * busy while the next images decode.
 */
import { Detector } from '../pipeline/detector.js';
import type { StageTimings } from '../pipeline/detector.js';

/** Accumulated over the slices of one run. */
export interface EndToEndAccumulator {
  images: number;
  ms: number;
  latencies: number[];
  sums: StageTimings;
}

const emptyAcc = (): EndToEndAccumulator => ({
  images: 0,
  ms: 0,
  latencies: [],
  sums: { decodeMs: 0, preprocessMs: 0, queueMs: 0, inferMs: 0, postprocessMs: 0 },
});

export interface EndToEndOptions {
  threads: number;
  streams: number;
  spinning: boolean;
}

export class EndToEndRunner {
  acc = emptyAcc();
  private next = 0;

  private constructor(
    readonly detector: Detector,
    private readonly images: readonly Uint8Array[],
    /** `Detector.load` + the first `detect` (ms). */
    readonly coldStartMs: number,
  ) {}

  /**
   * Load the model and run the first detection, timing both: the cold start a user waits for
   * (load includes the Detector's own warm-up run on every stream).
   */
  static async start(model: string, opts: EndToEndOptions, images: readonly Uint8Array[]): Promise<EndToEndRunner> {
    const t0 = performance.now();
    const detector = await Detector.load(model, { threads: opts.threads, streams: opts.streams, spinning: opts.spinning });
    try {
      await detector.detect(images[0]);
    } catch (err) {
      await detector.close();
      throw err;
    }
    return new EndToEndRunner(detector, images, performance.now() - t0);
  }

  private get inFlight(): number {
    return this.detector.streams + 2;
  }

  /** Warm-up, not measured: a few rounds over the images so allocations and JIT settle. */
  async warmup(): Promise<void> {
    const n = Math.max(8, this.inFlight * 2);
    for (let i = 0; i < n; i += this.inFlight) {
      await Promise.all(Array.from({ length: Math.min(this.inFlight, n - i) }, () => this.detector.detect(this.images[this.next++ % this.images.length])));
    }
  }

  /** Detect for about `ms` ms with `streams + 2` in flight; in-flight images finish inside the slice. */
  async slice(ms: number): Promise<void> {
    const acc = this.acc;
    const t0 = performance.now();
    const deadline = t0 + ms;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const bytes = this.images[this.next++ % this.images.length];
        const s = performance.now();
        const r = await this.detector.detect(bytes);
        acc.latencies.push(performance.now() - s);
        for (const k of Object.keys(acc.sums) as (keyof StageTimings)[]) acc.sums[k] += r.timings[k];
        acc.images++;
      }
    };
    await Promise.all(Array.from({ length: this.inFlight }, lane));
    acc.ms += performance.now() - t0;
  }

  reset(): void {
    this.acc = emptyAcc();
  }

  close(): Promise<void> {
    return this.detector.close();
  }
}
