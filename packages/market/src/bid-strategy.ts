/**
 * Provider side of the reverse auction: decide whether to bid on a job and at what price.
 * Pure: the caller passes its capacity, current reservations and (optionally) the market's
 * price index. `CapacityLedger` keeps the reservations for a caller that wants it to.
 */
import { askPrice, type SpotPricing, validatePricing } from './ask-price.ts'
import type { PriceIndexSnapshot } from './price-index.ts'
import { type PriceQuote, quotePrice } from './price-quote.ts'
import type { MarketReason } from './reasons.ts'
import { type Capability, checkCapability, gpuMatches, type JobRequirements } from './requirements.ts'
import { resourceClass } from './resource-class.ts'

export type { JobRequirements } from './requirements.ts'

/** The provider's own machine: a `Capability` with required cores, memory and runtimes. */
export interface ProviderCapacity extends Capability {
  cores: number
  memoryMb: number
  runtimes: readonly string[]
}

export interface ProviderPricing {
  /** The lowest price per fuel unit this provider accepts. */
  floorPerFuel: bigint
  /**
   * A floor per runtime whose fuel unit differs, overriding `floorPerFuel` for its jobs: a
   * docker fuel unit is one core-millisecond, worth about a million WASM fuel units.
   */
  floorPerFuelByRuntime?: Readonly<Record<string, bigint>>
  /**
   * How much the price rises at full utilization, in percent of the base price: a busy
   * provider asks more, which spreads work across the market. 100 = twice the base when full.
   */
  utilizationMarkupPercent: number
  /** Price off the market's recent clearing price (needs `market.prices` in `decideBid`). */
  spot?: SpotPricing
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
  /** Memory of awarded jobs; when given, utilization is the larger of the core and memory share. */
  awardedMemoryMb?: number
  /** Indices into `capacity.gpus` held by open bids and awarded jobs. */
  gpus?: readonly number[]
  /** How many of those GPUs belong to awarded jobs; counts toward utilization. */
  awardedGpus?: number
}

/** What the provider knows of the market when it decides. */
export interface MarketSignal {
  prices?: PriceIndexSnapshot
}

export type DeclineReason = Extract<
  MarketReason,
  | 'runtime'
  | 'cores'
  | 'memory'
  | 'gpu'
  | 'region'
  | 'attribute'
  | 'busy'
  | 'price-floor-above-max'
  | 'duplicate'
>

export type BidDecision =
  | {
      bid: true
      pricePerFuel: bigint
      /** How the price was reached (floor, market median, utilization), for the provider's records. */
      quote: PriceQuote
      /** Indices into `capacity.gpus` to reserve; present only for jobs that need GPUs. */
      gpus?: number[]
    }
  | { bid: false; reason: DeclineReason; detail: string }

const PPM = 1_000_000n

function share(used: number | undefined, total: number): bigint {
  if (used === undefined || total <= 0) return 0n
  return (BigInt(Math.max(0, Math.trunc(used))) * PPM) / BigInt(Math.trunc(total))
}

/** Utilization in ppm: the largest awarded share of cores, memory (if given) and GPUs (if given). */
export function utilizationPpm(capacity: ProviderCapacity, reserved: Reservations): bigint {
  const shares = [
    share(reserved.awardedCores, capacity.cores),
    share(reserved.awardedMemoryMb, capacity.memoryMb),
    share(reserved.awardedGpus, capacity.gpus?.length ?? 0),
  ]
  const max = shares.reduce((a, b) => (b > a ? b : a), 0n)
  return max > PPM ? PPM : max
}

/** Free GPU indices matching the job's requirement, lowest first. */
function freeMatchingGpus(
  job: JobRequirements,
  capacity: ProviderCapacity,
  reserved: Reservations,
): number[] {
  const need = job.gpu
  if (need === undefined) return []
  const taken = new Set(reserved.gpus ?? [])
  const out: number[] = []
  for (const [i, gpu] of (capacity.gpus ?? []).entries())
    if (!taken.has(i) && gpuMatches(gpu, need)) out.push(i)
  return out
}

export function decideBid(
  job: JobRequirements,
  capacity: ProviderCapacity,
  reserved: Reservations,
  pricing: ProviderPricing,
  market: MarketSignal = {},
): BidDecision {
  validatePricing(pricing)
  const unable = checkCapability(job, capacity)[0]
  if (unable !== undefined)
    return { bid: false, reason: unable.reason as DeclineReason, detail: unable.detail }
  const needGpus = job.gpu?.count ?? 0
  const freeGpus = needGpus > 0 ? freeMatchingGpus(job, capacity, reserved) : []
  if (
    reserved.cores + job.cores > capacity.cores ||
    reserved.memoryMb + job.memoryMb > capacity.memoryMb ||
    freeGpus.length < needGpus
  ) {
    const gpuNote = needGpus > 0 ? `, ${freeGpus.length} matching GPU(s) free of ${needGpus} needed` : ''
    return {
      bid: false,
      reason: 'busy',
      detail: `${reserved.cores}/${capacity.cores} cores and ${reserved.memoryMb}/${capacity.memoryMb} MB already committed${gpuNote}`,
    }
  }
  const utilization = utilizationPpm(capacity, reserved)
  // The floor-based ask decides whether the job is worth taking at all; spot only raises it.
  const floorPerFuel = pricing.floorPerFuelByRuntime?.[job.runtime] ?? pricing.floorPerFuel
  const floorAsk = askPrice(floorPerFuel, pricing.utilizationMarkupPercent, utilization, 0n)
  if (floorAsk > job.maxPricePerFuel) {
    return {
      bid: false,
      reason: 'price-floor-above-max',
      detail: `would ask ${floorAsk} per fuel, job pays at most ${job.maxPricePerFuel}`,
    }
  }
  const quote = quotePrice({
    resourceClass: resourceClass(job),
    maxPricePerFuel: job.maxPricePerFuel,
    floorPerFuel,
    markupPercent: pricing.utilizationMarkupPercent,
    utilizationPpm: utilization,
    ...(pricing.spot === undefined ? {} : { spot: pricing.spot }),
    ...(market.prices === undefined ? {} : { prices: market.prices }),
  })
  const pricePerFuel = quote.pricePerFuel
  return needGpus > 0
    ? { bid: true, pricePerFuel, quote, gpus: freeGpus.slice(0, needGpus) }
    : { bid: true, pricePerFuel, quote }
}
