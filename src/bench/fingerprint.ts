/**
 * Machine fingerprint printed with every benchmark: numbers from different machines (or from
 * the same VM on a different host) are not comparable, and this is what tells them apart.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { cgroupCpuQuota, readText } from '../runtime/node/cpus.js';
import sharp from 'sharp';

/** The CPU features onnxruntime's kernels choose between (MLAS picks AVX2/AVX-512/VNNI paths). */
export const ISA_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'] as const;
export type IsaFlag = (typeof ISA_FLAGS)[number];

export interface MachineFingerprint {
  cpu: string;
  /** `os.availableParallelism()`: cores this process may use (affinity-aware). */
  cores: number;
  /** Logical CPUs the OS reports, whatever the quota. */
  logicalCpus: number;
  /** CPU quota from the cgroup (`cpu.max`, or cgroup v1 `cpu.cfs_quota_us`) in cores; null = no quota / not Linux. */
  cgroupCpuQuota: number | null;
  /** Which of {@link ISA_FLAGS} /proc/cpuinfo lists; null when /proc/cpuinfo is not readable. */
  isa: Record<IsaFlag, boolean> | null;
  totalMemoryMb: number;
  platform: string;
  arch: string;
  node: string;
  onnxruntimeNode: string;
  sharp: string;
  libvips: string;
}

/** Collect the fingerprint of this machine and process. Never throws: unknowns are null/"unknown". */
export function machineFingerprint(): MachineFingerprint {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() || 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    logicalCpus: cpus.length,
    cgroupCpuQuota: cgroupCpuQuota(),
    isa: isaFlags(),
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    sharp: sharp.versions.sharp ?? packageVersion('sharp'),
    libvips: sharp.versions.vips ?? 'unknown',
  };
}


export { parseCpuMax } from '../runtime/node/cpus.js';

/** ISA flags from the first "flags" line of /proc/cpuinfo (Linux x86); null elsewhere. */
function isaFlags(): Record<IsaFlag, boolean> | null {
  return parseIsaFlags(readText('/proc/cpuinfo'));
}

/** Exported for tests: which of {@link ISA_FLAGS} a /proc/cpuinfo text lists. */
export function parseIsaFlags(cpuinfo: string | null): Record<IsaFlag, boolean> | null {
  const line = cpuinfo?.match(/^flags\s*:(.*)$/m)?.[1];
  if (line === undefined) return null;
  const present = new Set(line.trim().split(/\s+/));
  return Object.fromEntries(ISA_FLAGS.map((f) => [f, present.has(f)])) as Record<IsaFlag, boolean>;
}

/** A dependency's version from its package.json (onnxruntime-node exposes no version API of its own). */
function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** One-line-per-topic text form for the table report. */
export function formatFingerprint(m: MachineFingerprint): string[] {
  const isa = m.isa ? ISA_FLAGS.filter((f) => m.isa![f]).join(' ') || 'none of avx2/fma/avx512f/vnni' : 'unknown';
  const quota = m.cgroupCpuQuota === null ? 'no cgroup CPU quota' : `cgroup quota ${m.cgroupCpuQuota} cores`;
  return [
    `${m.cpu} | ${m.cores} cores available (${m.logicalCpus} logical, ${quota}) | ${isa} | ${(m.totalMemoryMb / 1024).toFixed(1)} GB RAM`,
    `Node ${m.node} ${m.arch} | onnxruntime-node ${m.onnxruntimeNode} | sharp ${m.sharp} (libvips ${m.libvips}) | ${m.platform}`,
  ];
}
