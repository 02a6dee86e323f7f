import type { OfferAttribute, OfferGpu } from '@bazaar/protocol'
import { type Exclusion, MarketReason } from './reasons.ts'

/** GPUs a job needs: `count` devices, each matching `model` (if given) with at least `minMemoryMb`. */
export interface GpuRequirement {
  count: number
  /** Matched by tokens, case-insensitively: "a100" matches "NVIDIA A100 80GB", "a10" does not. */
  model?: string
  minMemoryMb?: number
}

/** What a job asks of a provider, as the market engine sees it. */
export interface JobRequirements {
  runtime: string
  cores: number
  memoryMb: number
  maxPricePerFuel: bigint
  gpu?: GpuRequirement
  /** Exact region label (case-insensitive); any region when absent. */
  region?: string
  /** Labels the provider must carry with exactly these values. */
  attributes?: Readonly<Record<string, string>>
}

/** What a provider can run: its offer, or its own configured capacity. */
export interface Capability {
  runtimes: readonly string[]
  cores: number
  memoryMb: number
  gpus?: readonly OfferGpu[]
  region?: string
  attributes?: readonly OfferAttribute[]
}

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0)
}

/** Whether one device satisfies the per-device part (model, memory) of a GPU requirement. */
export function gpuMatches(gpu: OfferGpu, need: GpuRequirement): boolean {
  if (need.minMemoryMb !== undefined && gpu.memoryMb < need.minMemoryMb) return false
  if (need.model === undefined) return true
  const have = new Set(tokens(gpu.model))
  const want = tokens(need.model)
  return want.length > 0 && want.every((t) => have.has(t))
}

function describeGpu(need: GpuRequirement): string {
  const parts = [need.model ?? 'any model', need.minMemoryMb === undefined ? '' : `>= ${need.minMemoryMb} MB`]
  return `${need.count} GPU(s) (${parts.filter(Boolean).join(', ')})`
}

/**
 * Every static check of a job against what a provider can run, in a fixed order: runtime,
 * cores, memory, gpu, region, attribute. All failures are returned (not only the first), so
 * `explain` can tell a user everything they would have to change.
 */
export function checkCapability(job: JobRequirements, cap: Capability): Exclusion[] {
  const out: Exclusion[] = []
  if (!cap.runtimes.includes(job.runtime)) {
    out.push({
      reason: MarketReason.Runtime,
      detail: `runtime ${job.runtime} not offered (${cap.runtimes.join(', ') || 'none'})`,
    })
  }
  if (job.cores > cap.cores) {
    out.push({ reason: MarketReason.Cores, detail: `needs ${job.cores} cores, provider has ${cap.cores}` })
  }
  if (job.memoryMb > cap.memoryMb) {
    out.push({
      reason: MarketReason.Memory,
      detail: `needs ${job.memoryMb} MB, provider has ${cap.memoryMb} MB`,
    })
  }
  const gpu = job.gpu
  if (gpu !== undefined && gpu.count > 0) {
    const matching = (cap.gpus ?? []).filter((g) => gpuMatches(g, gpu)).length
    if (matching < gpu.count) {
      out.push({
        reason: MarketReason.Gpu,
        detail: `needs ${describeGpu(gpu)}, provider has ${matching} matching of ${(cap.gpus ?? []).length}`,
      })
    }
  }
  if (job.region !== undefined && job.region.toLowerCase() !== (cap.region ?? '').toLowerCase()) {
    out.push({
      reason: MarketReason.Region,
      detail: `needs region ${job.region}, provider is in ${cap.region || 'no stated region'}`,
    })
  }
  for (const [key, value] of Object.entries(job.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const have = cap.attributes?.find((a) => a.key === key)
    if (have?.value !== value) {
      out.push({
        reason: MarketReason.Attribute,
        detail: `needs ${key}=${value}, provider has ${have === undefined ? 'none' : `${key}=${have.value}`}`,
      })
    }
  }
  return out
}
