/**
 * How many cores this process may really use: the affinity-aware `os.availableParallelism()`,
 * capped by a container's CPU quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), which
 * Node 20's libuv does not take into account yet.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** A small system file's text, or null when it cannot be read. */
export function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Parse cgroup v2 `cpu.max` ("max 100000" = unlimited, "150000 100000" = 1.5 cores); null for
 * "max" or anything unreadable.
 */
export function parseCpuMax(text: string | null): number | null {
  if (!text) return null;
  const [quota, period] = text.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100000);
  return quota !== 'max' && q > 0 && p > 0 ? q / p : null;
}

/** CPU quota in cores: cgroup v2 first, then v1; null when there is none. */
export function cgroupCpuQuota(): number | null {
  const v2 = parseCpuMax(readText('/sys/fs/cgroup/cpu.max'));
  if (v2 !== null) return v2;
  const quota = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? quota / period : null;
}

let cached: number | undefined;

/** Cores available to this process (at least 1). */
export function availableCores(): number {
  if (cached === undefined) {
    const parallel = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    const quota = cgroupCpuQuota();
    cached = Math.max(1, quota !== null ? Math.min(parallel, Math.ceil(quota)) : parallel);
  }
  return cached;
}
