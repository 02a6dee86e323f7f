import type { OfferMessage } from '@bazaar/protocol'
import type { GpuRequirement } from './requirements.ts'

/**
 * Resource classes group jobs whose prices are comparable, so the price index and the
 * market depth speak about like with like. A class is `runtime/cN/mSIZE[/gK[-model]]`:
 * cores and memory rounded up to a power of two (a 3-core, 3000 MB job is `wasm/c4/m4g`),
 * GPUs by count and model tokens. Example: `wasm/c1/m512m`, `wasm/c8/m32g/g2-a100`.
 */
export type ResourceClass = string

function nextPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

function prevPow2(n: number): number {
  let p = 1
  while (p * 2 <= n) p *= 2
  return p
}

function formatMb(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024}g` : `${mb}m`
}

function modelSlug(model: string): string {
  return model
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0)
    .join('-')
}

/** The class of a job: the smallest bucket that holds its requirements. */
export function resourceClass(job: {
  runtime: string
  cores: number
  memoryMb: number
  gpu?: GpuRequirement
}): ResourceClass {
  const base = `${job.runtime}/c${nextPow2(Math.max(1, job.cores))}/m${formatMb(nextPow2(Math.max(1, job.memoryMb)))}`
  if (job.gpu === undefined || job.gpu.count <= 0) return base
  const model = job.gpu.model === undefined ? '' : modelSlug(job.gpu.model)
  return `${base}/g${job.gpu.count}${model ? `-${model}` : ''}`
}

/**
 * The classes an offer's whole capacity serves, one per runtime: the largest bucket it can
 * fully hold (cores and memory rounded down to a power of two), GPUs by count and the model
 * of its first device. Used to summarize market depth.
 */
export function offerResourceClasses(
  offer: Pick<OfferMessage, 'runtimes' | 'cores' | 'memoryMb' | 'gpus'>,
): ResourceClass[] {
  const size = `c${prevPow2(Math.max(1, offer.cores))}/m${formatMb(prevPow2(Math.max(1, offer.memoryMb)))}`
  const first = offer.gpus[0]
  const gpu =
    first === undefined
      ? ''
      : `/g${offer.gpus.length}${modelSlug(first.model) ? `-${modelSlug(first.model)}` : ''}`
  return [...new Set(offer.runtimes)].sort().map((runtime) => `${runtime}/${size}${gpu}`)
}

/** Prefix of the classes of awards whose job spec this node never saw (see `unclassifiedResourceClass`). */
export const UNCLASSIFIED_PREFIX = 'unclassified/'

const FUEL_UNITS: readonly [bigint, string][] = [
  [1n << 40n, 't'],
  [1n << 30n, 'g'],
  [1n << 20n, 'm'],
  [1n << 10n, 'k'],
]

/**
 * The class of an award known only from the chain: the job's fuel limit rounded up to a power
 * of two, e.g. `unclassified/f64m` for 50,000,000 fuel. Used when the node did not hear the job's
 * announcement (it joined later, or gossip missed it), so the award still shows in the market's
 * prices without being mixed into a class whose resources it may not match.
 */
export function unclassifiedResourceClass(maxFuel: bigint): ResourceClass {
  let p = 1n
  while (p < maxFuel) p <<= 1n
  for (const [unit, suffix] of FUEL_UNITS) if (p >= unit) return `${UNCLASSIFIED_PREFIX}f${p / unit}${suffix}`
  return `${UNCLASSIFIED_PREFIX}f${p}`
}
