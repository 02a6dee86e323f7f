import { availableParallelism, totalmem } from 'node:os'

export interface Resources {
  /** CPU cores this process may use (affinity-aware). */
  cores: number
  /** Memory in MiB: the machine's, or the cgroup limit when one is lower. */
  memoryMb: number
  /** Runtimes known without probing: wasm. `probeResources` also asks Docker. */
  runtimes: 'wasm'[]
}

/**
 * The synchronous, always-available part of what this machine can offer. `probeResources`
 * (probe-resources.ts) adds disk, GPUs and Docker, which need I/O.
 */
export function detectResources(): Resources {
  const total = totalmem()
  const constrained = process.constrainedMemory()
  const bytes = constrained > 0 && constrained < total ? constrained : total
  return { cores: availableParallelism(), memoryMb: Math.floor(bytes / 2 ** 20), runtimes: ['wasm'] }
}
