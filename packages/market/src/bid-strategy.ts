/**
 * Provider side of the reverse auction: decide whether to bid on a job and at what price.
 * Pure: the caller passes its capacity and current reservations.
 */
export interface ProviderCapacity {
  cores: number
  memoryMb: number
  runtimes: readonly string[]
}

export interface ProviderPricing {
  /** The lowest price per fuel unit this provider accepts. */
  floorPerFuel: bigint
  /**
   * How much the price rises at full utilization, in percent of the floor: a busy provider
   * asks more, which spreads work across the market. 100 = twice the floor when full.
   */
  utilizationMarkupPercent: number
}

export interface JobRequirements {
  runtime: string
  cores: number
  memoryMb: number
  maxPricePerFuel: bigint
}

export interface Reservations {
  /** Cores held by open bids and awarded jobs: a bid never promises more than is free. */
  cores: number
  memoryMb: number
  /**
   * Cores of awarded jobs only. Price follows this utilization, not open bids: bids a
   * provider may still lose should not make it dearer than its idle competitors.
   */
  awardedCores: number
}

export type BidDecision =
  | { bid: true; pricePerFuel: bigint }
  | { bid: false; reason: DeclineReason; detail: string }

export type DeclineReason = 'runtime' | 'cores' | 'memory' | 'busy' | 'price-floor-above-max'

export function decideBid(
  job: JobRequirements,
  capacity: ProviderCapacity,
  reserved: Reservations,
  pricing: ProviderPricing,
): BidDecision {
  if (!capacity.runtimes.includes(job.runtime)) {
    return {
      bid: false,
      reason: 'runtime',
      detail: `runtime ${job.runtime} not offered (${capacity.runtimes.join(', ')})`,
    }
  }
  if (job.cores > capacity.cores) {
    return { bid: false, reason: 'cores', detail: `needs ${job.cores} cores, provider has ${capacity.cores}` }
  }
  if (job.memoryMb > capacity.memoryMb) {
    return {
      bid: false,
      reason: 'memory',
      detail: `needs ${job.memoryMb} MB, provider has ${capacity.memoryMb} MB`,
    }
  }
  if (reserved.cores + job.cores > capacity.cores || reserved.memoryMb + job.memoryMb > capacity.memoryMb) {
    return {
      bid: false,
      reason: 'busy',
      detail: `${reserved.cores}/${capacity.cores} cores and ${reserved.memoryMb}/${capacity.memoryMb} MB already committed`,
    }
  }
  const utilizationPpm = BigInt(Math.round((reserved.awardedCores / capacity.cores) * 1_000_000))
  const markup =
    (pricing.floorPerFuel * BigInt(pricing.utilizationMarkupPercent) * utilizationPpm) / 100_000_000n
  const price = pricing.floorPerFuel + markup
  if (price > job.maxPricePerFuel) {
    return {
      bid: false,
      reason: 'price-floor-above-max',
      detail: `would ask ${price} per fuel, job pays at most ${job.maxPricePerFuel}`,
    }
  }
  return { bid: true, pricePerFuel: price }
}
