/**
 * The raw baseline of `npm run bench` and `npm run bench:serve`: back-to-back `session.run`
 * on a fixed tensor in ONE in-process onnxruntime session using every core as intra-op
 * threads — the model's own ceiling with the whole thread budget.
 */
import * as ort from 'onnxruntime-node';

export class RawSessionRunner {
  /** Runs completed and milliseconds spent, accumulated over slices. */
  count = 0;
  ms = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly feeds: Record<string, ort.Tensor>,
  ) {}

  /** Create the session, build a fixed input (symbolic dims → 1) and warm up. */
  static async start(model: string, threads: number): Promise<RawSessionRunner> {
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    const meta = session.inputMetadata[0] as unknown as { name: string; shape: (number | string)[]; type?: string };
    const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const tensor =
      meta.type === 'uint8'
        ? new ort.Tensor('uint8', new Uint8Array(size).fill(114), dims)
        : meta.type === 'float16'
          ? new ort.Tensor('float16', new Uint16Array(size).fill(0x5720), dims) // 114 in fp16
          : new ort.Tensor('float32', new Float32Array(size).fill(114), dims);
    const runner = new RawSessionRunner(session, { [meta.name]: tensor });
    for (let i = 0; i < 10; i++) await session.run(runner.feeds);
    return runner;
  }

  /** Run back to back for about `ms` ms; returns this slice's runs and elapsed ms. */
  async slice(ms: number): Promise<{ count: number; ms: number }> {
    const t0 = performance.now();
    let count = 0;
    while (performance.now() - t0 < ms) {
      await this.session.run(this.feeds);
      count++;
    }
    const elapsed = performance.now() - t0;
    this.count += count;
    this.ms += elapsed;
    return { count, ms: elapsed };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
