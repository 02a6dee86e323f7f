import { statfs } from 'node:fs/promises'
import { type GpuInfo, listGpus } from './nvidia-smi.ts'
import { detectResources } from './resources.ts'

export type Runtime = 'wasm' | 'docker'

export interface MachineResources {
  /** CPU cores this process may use (affinity-aware). */
  cores: number
  /** Memory in MiB: the machine's, or the cgroup limit when one is lower. */
  memoryMb: number
  /** The file system holding the data directory (job files, content store). */
  disk: { path: string; totalMb: number; freeMb: number }
  gpus: GpuInfo[]
  /** wasm always; docker when a daemon answered the ping. */
  runtimes: Runtime[]
}

export interface ProbeResourcesOptions {
  /** Where the node keeps its data; its file system's size is what it can offer. */
  dataDir: string
  /**
   * Answers whether a Docker daemon is reachable (e.g. `() => dockerExecutor.ping()`); a
   * rejection or `false` means no. Without it, docker is not offered.
   */
  dockerPing?: () => Promise<boolean>
  /** Lists GPUs; default `listGpus()` (nvidia-smi when present). */
  gpus?: () => Promise<GpuInfo[]>
}

/**
 * What this machine can offer to the market: cores, memory, disk, GPUs and runtimes.
 * Probes run in parallel; each one that fails reports "none" rather than failing the probe
 * (a node without nvidia-smi or Docker still offers wasm).
 */
export async function probeResources(options: ProbeResourcesOptions): Promise<MachineResources> {
  const { cores, memoryMb } = detectResources()
  const [disk, gpus, docker] = await Promise.all([
    statfs(options.dataDir).then((stats) => ({
      path: options.dataDir,
      totalMb: Math.floor((stats.blocks * stats.bsize) / 2 ** 20),
      freeMb: Math.floor((stats.bavail * stats.bsize) / 2 ** 20),
    })),
    (options.gpus ?? listGpus)().catch(() => []),
    options.dockerPing ? options.dockerPing().catch(() => false) : Promise.resolve(false),
  ])
  return { cores, memoryMb, disk, gpus, runtimes: docker ? ['wasm', 'docker'] : ['wasm'] }
}
