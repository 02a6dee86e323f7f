import {
  type BidDecision,
  decideBid,
  type MarketSignal,
  type ProviderCapacity,
  type ProviderPricing,
  type Reservations,
} from './bid-strategy.ts'
import type { JobRequirements } from './requirements.ts'

export interface CapacityHold {
  jobId: string
  cores: number
  memoryMb: number
  /** Indices into `capacity.gpus`. */
  gpus: readonly number[]
  /** False while the bid is open, true once the job is awarded to this provider. */
  awarded: boolean
}

/**
 * A provider's reservations across concurrent jobs. Every change goes through `reserve`,
 * which refuses anything that would exceed the machine, so cores, memory and GPU devices
 * are never promised twice. Synchronous on purpose: deciding and reserving happen in one
 * step, with no await in between for a concurrent announcement to slip through.
 */
export class CapacityLedger {
  readonly capacity: ProviderCapacity
  private readonly holds = new Map<string, CapacityHold>()
  private readonly gpusTaken = new Set<number>()
  private cores = 0
  private memoryMb = 0
  private awardedCores = 0
  private awardedMemoryMb = 0
  private awardedGpus = 0

  constructor(capacity: ProviderCapacity) {
    this.capacity = capacity
  }

  /** The totals `decideBid` takes. */
  reserved(): Reservations {
    return {
      cores: this.cores,
      memoryMb: this.memoryMb,
      awardedCores: this.awardedCores,
      awardedMemoryMb: this.awardedMemoryMb,
      gpus: [...this.gpusTaken].sort((a, b) => a - b),
      awardedGpus: this.awardedGpus,
    }
  }

  get(jobId: string): CapacityHold | undefined {
    const hold = this.holds.get(jobId)
    return hold === undefined ? undefined : { ...hold }
  }

  list(): CapacityHold[] {
    return [...this.holds.values()]
      .map((hold) => ({ ...hold }))
      .sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0))
  }

  /** Decides on a job and, when it bids, reserves what the bid promises. */
  bid(jobId: string, job: JobRequirements, pricing: ProviderPricing, market: MarketSignal = {}): BidDecision {
    if (this.holds.has(jobId))
      return { bid: false, reason: 'duplicate', detail: `already holding job ${jobId}` }
    const decision = decideBid(job, this.capacity, this.reserved(), pricing, market)
    if (!decision.bid) return decision
    const held = this.reserve(jobId, { cores: job.cores, memoryMb: job.memoryMb, gpus: decision.gpus ?? [] })
    // decideBid checked the same totals, so this cannot fail; keep the invariant loud anyway.
    if (!held) return { bid: false, reason: 'busy', detail: 'capacity changed while deciding' }
    return decision
  }

  /** Holds capacity for a job; false (and no change) if it would over-commit or the job is held. */
  reserve(jobId: string, need: { cores: number; memoryMb: number; gpus?: readonly number[] }): boolean {
    const gpus = [...new Set(need.gpus ?? [])]
    const gpuCount = this.capacity.gpus?.length ?? 0
    if (
      this.holds.has(jobId) ||
      !Number.isSafeInteger(need.cores) ||
      !Number.isSafeInteger(need.memoryMb) ||
      need.cores < 0 ||
      need.memoryMb < 0 ||
      gpus.length !== (need.gpus ?? []).length ||
      this.cores + need.cores > this.capacity.cores ||
      this.memoryMb + need.memoryMb > this.capacity.memoryMb ||
      gpus.some((i) => !Number.isInteger(i) || i < 0 || i >= gpuCount || this.gpusTaken.has(i))
    ) {
      return false
    }
    this.holds.set(jobId, { jobId, cores: need.cores, memoryMb: need.memoryMb, gpus, awarded: false })
    this.cores += need.cores
    this.memoryMb += need.memoryMb
    for (const i of gpus) this.gpusTaken.add(i)
    return true
  }

  /** The job was awarded to us: its capacity now counts toward utilization (and price). */
  award(jobId: string): boolean {
    const hold = this.holds.get(jobId)
    if (hold === undefined || hold.awarded) return false
    hold.awarded = true
    this.awardedCores += hold.cores
    this.awardedMemoryMb += hold.memoryMb
    this.awardedGpus += hold.gpus.length
    return true
  }

  /** Frees a job's capacity (lost the auction, bid expired, job finished). */
  release(jobId: string): boolean {
    const hold = this.holds.get(jobId)
    if (hold === undefined) return false
    this.holds.delete(jobId)
    this.cores -= hold.cores
    this.memoryMb -= hold.memoryMb
    for (const i of hold.gpus) this.gpusTaken.delete(i)
    if (hold.awarded) {
      this.awardedCores -= hold.cores
      this.awardedMemoryMb -= hold.memoryMb
      this.awardedGpus -= hold.gpus.length
    }
    return true
  }
}
