/**
 * A fixed set of inference "streams" (backend sessions) handed out to callers, so several
 * images can be in flight while each session runs one at a time. Waiters queue FIFO.
 */
import type { InferenceBackend } from '../runtime/backend.js';

export class StreamPool<B extends InferenceBackend = InferenceBackend> {
  private readonly free: B[];
  private readonly waiters: ((b: B) => void)[] = [];

  constructor(readonly backends: readonly B[]) {
    this.free = [...backends];
  }

  /** Number of callers waiting for a stream. */
  get waiting(): number {
    return this.waiters.length;
  }

  async use<T>(fn: (backend: B) => Promise<T>): Promise<T> {
    const backend = this.free.pop() ?? (await new Promise<B>((resolve) => this.waiters.push(resolve)));
    try {
      return await fn(backend);
    } finally {
      const next = this.waiters.shift();
      if (next) next(backend);
      else this.free.push(backend);
    }
  }
}
