import { askPrice, type SpotPricing, spotAnchor } from './ask-price.ts'
import { minBig } from './bigint-math.ts'
import type { PriceIndexSnapshot } from './price-index.ts'
import type { ResourceClass } from './resource-class.ts'

/**
 * Why a provider asks what it asks: every input of the ask and what each contributed. Kept
 * with the bid so an operator (or a test) can see that the price came from the floor, the
 * market's median, and the provider's utilization, and was never under the floor.
 */
export interface PriceQuote {
  resourceClass: ResourceClass
  floorPerFuel: bigint
  /** Awarded share of the machine, ppm (0 idle … 1e6 full). */
  utilizationPpm: bigint
  markupPercent: number
  /** The class's median clearing price in the index window, when the index had any award. */
  marketMedian?: bigint
  /** Awards behind `marketMedian` (0 when the class has none). */
  marketSamples: number
  /** The spot anchor (median × percentOfMedian / 100), 0 when spot is off or samples are too few. */
  anchor: bigint
  /** What the markup applies to: the floor, or the anchor when that is higher. */
  basis: 'floor' | 'spot'
  /** max(floor, anchor) × (1 + markup × utilization), before the job's cap. */
  ask: bigint
  /** The bid: min(ask, job maximum). */
  pricePerFuel: bigint
  /** True when the job's maximum cut the ask. */
  capped: boolean
}

/** The quote for a job of `cls` capped at `maxPricePerFuel`. Pure; no validation (decideBid does it). */
export function quotePrice(args: {
  resourceClass: ResourceClass
  maxPricePerFuel: bigint
  floorPerFuel: bigint
  markupPercent: number
  utilizationPpm: bigint
  spot?: SpotPricing
  prices?: PriceIndexSnapshot
}): PriceQuote {
  const stats = args.prices?.[args.resourceClass]
  const anchor = spotAnchor(args.spot, stats)
  const ask = askPrice(args.floorPerFuel, args.markupPercent, args.utilizationPpm, anchor)
  const pricePerFuel = minBig(ask, args.maxPricePerFuel)
  return {
    resourceClass: args.resourceClass,
    floorPerFuel: args.floorPerFuel,
    utilizationPpm: args.utilizationPpm,
    markupPercent: args.markupPercent,
    ...(stats === undefined ? {} : { marketMedian: stats.median }),
    marketSamples: stats?.count ?? 0,
    anchor,
    basis: anchor > args.floorPerFuel ? 'spot' : 'floor',
    ask,
    pricePerFuel,
    capped: pricePerFuel < ask,
  }
}

/** One line for logs and job records, e.g. "spot 950 (95% of median 1000, 4 awards) × (1 + 100% × 25%) = 1187". */
export function describeQuote(q: PriceQuote): string {
  const base =
    q.basis === 'spot'
      ? `spot ${q.anchor} (median ${q.marketMedian} of ${q.marketSamples} awards; floor ${q.floorPerFuel})`
      : `floor ${q.floorPerFuel}${q.marketMedian === undefined ? ' (no market data)' : ` (median ${q.marketMedian} of ${q.marketSamples} awards not used)`}`
  const utilization = `${Number(q.utilizationPpm / 100n) / 100}%`
  const cap = q.capped ? `, capped at the job maximum ${q.pricePerFuel}` : ''
  return `${base} × (1 + ${q.markupPercent}% × ${utilization} utilization) = ${q.ask}${cap}`
}
