import { MarketConfigError } from './market-config-error.ts'
import type { PriceStats } from './price-index.ts'

/** Follow the market: ask near its recent clearing price when that is above the floor. */
export interface SpotPricing {
  /** Anchor = this percent of the class's median clearing price (e.g. 95 to undercut a little). */
  percentOfMedian: number
  /** Ignore the index for classes with fewer awards than this in its window. */
  minSamples: number
}

export interface AskPricing {
  floorPerFuel: bigint
  floorPerFuelByRuntime?: Readonly<Record<string, bigint>>
  utilizationMarkupPercent: number
  spot?: SpotPricing
}

const PPM = 1_000_000n

export function validatePricing(pricing: AskPricing): void {
  if (pricing.floorPerFuel < 0n) throw new MarketConfigError('floorPerFuel', 'must not be negative')
  for (const [runtime, floor] of Object.entries(pricing.floorPerFuelByRuntime ?? {})) {
    if (floor < 0n) throw new MarketConfigError(`floorPerFuelByRuntime.${runtime}`, 'must not be negative')
  }
  const m = pricing.utilizationMarkupPercent
  if (!Number.isSafeInteger(m) || m < 0 || m > 100_000) {
    throw new MarketConfigError('utilizationMarkupPercent', `must be an integer in [0, 100000], got ${m}`)
  }
  const spot = pricing.spot
  if (spot !== undefined) {
    if (
      !Number.isSafeInteger(spot.percentOfMedian) ||
      spot.percentOfMedian < 0 ||
      spot.percentOfMedian > 10_000
    ) {
      throw new MarketConfigError(
        'spot.percentOfMedian',
        `must be an integer in [0, 10000], got ${spot.percentOfMedian}`,
      )
    }
    if (!Number.isSafeInteger(spot.minSamples) || spot.minSamples < 1) {
      throw new MarketConfigError('spot.minSamples', `must be a positive integer, got ${spot.minSamples}`)
    }
  }
}

/** The spot anchor from the index, or 0n when spot pricing is off or the class has too few awards. */
export function spotAnchor(spot: SpotPricing | undefined, stats: PriceStats | undefined): bigint {
  if (spot === undefined || stats === undefined || stats.count < spot.minSamples) return 0n
  return (stats.median * BigInt(spot.percentOfMedian)) / 100n
}

/**
 * A provider's ask:  base = max(floor, spotAnchor);  ask = base · (1 + markup · utilization).
 * Utilization is in ppm (0..1e6). With markup >= 0 the ask is never below the floor.
 */
export function askPrice(
  floorPerFuel: bigint,
  markupPercent: number,
  utilizationPpm: bigint,
  anchor: bigint,
): bigint {
  const base = anchor > floorPerFuel ? anchor : floorPerFuel
  const u = utilizationPpm < 0n ? 0n : utilizationPpm > PPM ? PPM : utilizationPpm
  return base + (base * BigInt(markupPercent) * u) / (100n * PPM)
}
