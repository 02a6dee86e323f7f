import { availableParallelism, totalmem } from 'node:os'

export interface Resources {
  /** CPU cores this process may use (affinity-aware). */
  cores: number
  /** Memory in MiB: the machine's, or the cgroup limit when one is lower. */
  memoryMb: number
  /** Runtimes this machine can run jobs for (GPUs and containers come later). */
  runtimes: 'wasm'[]
}

/** What this machine can offer to the market. */
export function detectResources(): Resources {
  const total = totalmem()
  const constrained = process.constrainedMemory()
  const bytes = constrained > 0 && constrained < total ? constrained : total
  return { cores: availableParallelism(), memoryMb: Math.floor(bytes / 2 ** 20), runtimes: ['wasm'] }
}
