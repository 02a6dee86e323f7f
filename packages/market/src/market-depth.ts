import type { OfferMessage } from '@bazaar/protocol'
import { quantile, sortBigints } from './quantile.ts'
import { offerResourceClasses, type ResourceClass } from './resource-class.ts'

export interface PriceQuantiles {
  min: bigint
  p25: bigint
  p50: bigint
  p75: bigint
  max: bigint
}

export interface ClassDepth {
  resourceClass: ResourceClass
  providers: number
  cores: number
  memoryMb: number
  gpus: number
  /** Nearest-rank quantiles of the providers' floor prices per fuel. */
  floorPricePerFuel: PriceQuantiles
}

export interface MarketDepth {
  atSeconds: bigint
  providers: number
  cores: number
  memoryMb: number
  gpus: number
  /** One row per class (see `offerResourceClasses`), sorted by class. */
  classes: ClassDepth[]
}

export type DepthOffer = Pick<
  OfferMessage,
  'provider' | 'runtimes' | 'cores' | 'memoryMb' | 'gpus' | 'floorPricePerFuel' | 'expiry'
>

function quantiles(floors: bigint[]): PriceQuantiles {
  const sorted = sortBigints(floors)
  return {
    min: sorted[0]!,
    p25: quantile(sorted, 25)!,
    p50: quantile(sorted, 50)!,
    p75: quantile(sorted, 75)!,
    max: sorted.at(-1)!,
  }
}

/**
 * What the live offers add up to: totals over distinct providers, and per class the
 * providers whose whole machine falls in it (a provider offering two runtimes appears in two
 * classes). Expired offers (expiry <= now) are left out.
 */
export function marketDepth(offers: Iterable<DepthOffer>, nowSeconds: bigint): MarketDepth {
  const byClass = new Map<ResourceClass, DepthOffer[]>()
  const providers = new Set<string>()
  let cores = 0
  let memoryMb = 0
  let gpus = 0
  for (const offer of offers) {
    if (offer.expiry <= nowSeconds) continue
    const key = offer.provider.toLowerCase()
    if (providers.has(key)) continue
    providers.add(key)
    cores += offer.cores
    memoryMb += offer.memoryMb
    gpus += offer.gpus.length
    for (const c of offerResourceClasses(offer)) {
      const list = byClass.get(c) ?? []
      list.push(offer)
      byClass.set(c, list)
    }
  }
  const classes = [...byClass.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([resourceClass, list]) => ({
      resourceClass,
      providers: list.length,
      cores: list.reduce((s, o) => s + o.cores, 0),
      memoryMb: list.reduce((s, o) => s + o.memoryMb, 0),
      gpus: list.reduce((s, o) => s + o.gpus.length, 0),
      floorPricePerFuel: quantiles(list.map((o) => o.floorPricePerFuel)),
    }))
  return { atSeconds: nowSeconds, providers: providers.size, cores, memoryMb, gpus, classes }
}
