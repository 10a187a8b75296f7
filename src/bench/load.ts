/**
 * `--url` load mode: POST encoded images to one endpoint the user named, with a bounded number
 * of requests in flight, for a bounded time. It never follows redirects (a 3xx is reported as
 * an error by status, not chased to another host), and every request is aborted at the latest
 * `timeoutS` seconds after the measurement ends, so the run always stops by itself.
 */
import { TearlessError } from '../core/errors.js';
import { contentTypeFor, type BenchImages } from './images.js';
import { histogram, round, summarizeLatencies } from './stats.js';
import type { LoadResult } from './types.js';

export interface LoadOptions {
  url: string;
  concurrency: number;
  durationS: number;
  images: BenchImages['images'];
  /** Per-request limit, seconds (default 30). */
  timeoutS?: number;
}

/** Check the endpoint is an absolute http(s) URL; returns it normalised. */
export function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--url must be an absolute http:// or https:// URL, got "${text}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TearlessError('TL_ERR_BAD_OPTION', `--url must use http:// or https://, got "${url.protocol}".`);
  return url.href;
}

type Outcome = { ok: true; ms: number } | { ok: false; key: string };

async function post(url: string, image: BenchImages['images'][number], signal: AbortSignal): Promise<Outcome> {
  const s = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentTypeFor(image.name) },
      body: image.bytes,
      redirect: 'manual',
      signal,
    });
    // Read the whole body: latency is until the answer has arrived, and the socket is reused.
    await res.arrayBuffer();
    if (res.status >= 200 && res.status < 300) return { ok: true, ms: performance.now() - s };
    return { ok: false, key: String(res.status) };
  } catch (err) {
    const name = (err as Error).name;
    return { ok: false, key: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
  }
}

/**
 * One concurrency level: `concurrency` loops, each posting the next image as soon as its
 * previous answer arrived, until `durationS` is over. A first round of one request per loop
 * warms the server up and is not counted; if every one of them fails to connect, the run stops
 * with an error instead of hammering a closed port for the whole duration.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const timeoutMs = (o.timeoutS ?? 30) * 1000;
  const hardStop = new AbortController();
  let next = 0;
  const pick = (): BenchImages['images'][number] => o.images[next++ % o.images.length];
  const signal = (): AbortSignal => AbortSignal.any([AbortSignal.timeout(timeoutMs), hardStop.signal]);

  const warm = await Promise.all(Array.from({ length: o.concurrency }, () => post(o.url, pick(), signal())));
  if (warm.every((w) => !w.ok && w.key === 'network')) {
    throw new TearlessError('TL_ERR_BAD_OPTION', `--url: cannot connect to ${o.url} (all ${warm.length} warm-up requests failed). Is the server running?`);
  }

  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let requests = 0;
  const t0 = performance.now();
  const deadline = t0 + o.durationS * 1000;
  // Requests still running this long after the deadline are aborted (counted as "timeout").
  const stopTimer = setTimeout(() => hardStop.abort(), o.durationS * 1000 + timeoutMs).unref();
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const r = await post(o.url, pick(), signal());
      requests++;
      if (r.ok) latencies.push(r.ms);
      else errors[r.key] = (errors[r.key] ?? 0) + 1;
      // A failing server answers instantly; yield so failures cannot spin the event loop.
      if (!r.ok) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  clearTimeout(stopTimer);
  const elapsedS = (performance.now() - t0) / 1000;

  const lat = summarizeLatencies(latencies);
  const ms = (v: number): number | null => (lat.count ? round(v, 3) : null);
  return {
    concurrency: o.concurrency,
    rps: round(latencies.length / elapsedS, 2) ?? 0,
    p50Ms: ms(lat.p50Ms),
    p90Ms: ms(lat.p90Ms),
    p99Ms: ms(lat.p99Ms),
    maxMs: ms(lat.maxMs),
    errors,
    requests,
    ok: latencies.length,
    durationS: round(elapsedS, 3) ?? 0,
    histogram: histogram(latencies),
  };
}
