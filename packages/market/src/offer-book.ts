import type { OfferMessage } from '@bazaar/protocol'
import { type MarketDepth, marketDepth } from './market-depth.ts'
import { checkCapability, type JobRequirements } from './requirements.ts'

export interface OfferBookInit {
  /** Most providers held at once. Default 10_000. */
  maxOffers?: number
  /** How far in the future `issuedAt` may be (clock skew). Default 60 s. */
  maxClockSkewSeconds?: bigint
  /** Longest allowed expiry − issuedAt. Default 1 day. */
  maxLifetimeSeconds?: bigint
}

export type OfferRejection =
  /** The same offer again (same provider, sequence and content): harmless. */
  | 'duplicate'
  /** An older sequence than the one held: a replay. */
  | 'stale-sequence'
  /** Same sequence, different content: the provider signed two offers under one number. */
  | 'equivocation'
  | 'expired'
  | 'issued-in-future'
  | 'lifetime-too-long'
  | 'book-full'

export type OfferAddResult<O> =
  | { status: 'added'; offer: O }
  | { status: 'replaced'; offer: O; previous: O }
  | { status: 'rejected'; reason: OfferRejection; detail: string }

function sameOffer(a: OfferMessage, b: OfferMessage): boolean {
  return (
    a.provider.toLowerCase() === b.provider.toLowerCase() &&
    a.peerId === b.peerId &&
    a.cores === b.cores &&
    a.memoryMb === b.memoryMb &&
    a.floorPricePerFuel === b.floorPricePerFuel &&
    a.stake === b.stake &&
    a.region === b.region &&
    a.issuedAt === b.issuedAt &&
    a.expiry === b.expiry &&
    a.sequence === b.sequence &&
    a.runtimes.length === b.runtimes.length &&
    a.runtimes.every((r, i) => r === b.runtimes[i]) &&
    a.gpus.length === b.gpus.length &&
    a.gpus.every((g, i) => g.model === b.gpus[i]?.model && g.memoryMb === b.gpus[i]?.memoryMb) &&
    a.attributes.length === b.attributes.length &&
    a.attributes.every((x, i) => x.key === b.attributes[i]?.key && x.value === b.attributes[i]?.value)
  )
}

function byFloorThenProvider(a: OfferMessage, b: OfferMessage): number {
  if (a.floorPricePerFuel !== b.floorPricePerFuel) return a.floorPricePerFuel < b.floorPricePerFuel ? -1 : 1
  const pa = a.provider.toLowerCase()
  const pb = b.provider.toLowerCase()
  return pa < pb ? -1 : pa > pb ? 1 : 0
}

/**
 * The requester's view of supply: at most one offer per provider, the highest sequence
 * wins. The book trusts its caller to have checked each offer's signature and domain;
 * it checks freshness and ordering. Expired offers stay until `prune`, so `explain` can
 * still say "offer expired" about a provider that went quiet.
 */
export class OfferBook<O extends OfferMessage = OfferMessage> {
  private readonly byProvider = new Map<string, O>()
  private readonly maxOffers: number
  private readonly maxSkew: bigint
  private readonly maxLifetime: bigint

  constructor(init: OfferBookInit = {}) {
    this.maxOffers = init.maxOffers ?? 10_000
    this.maxSkew = init.maxClockSkewSeconds ?? 60n
    this.maxLifetime = init.maxLifetimeSeconds ?? 86_400n
  }

  get size(): number {
    return this.byProvider.size
  }

  add(offer: O, nowSeconds: bigint): OfferAddResult<O> {
    if (offer.expiry <= nowSeconds) {
      return {
        status: 'rejected',
        reason: 'expired',
        detail: `expired at ${offer.expiry}, now ${nowSeconds}`,
      }
    }
    if (offer.issuedAt > nowSeconds + this.maxSkew) {
      return {
        status: 'rejected',
        reason: 'issued-in-future',
        detail: `issued at ${offer.issuedAt}, more than ${this.maxSkew}s after now ${nowSeconds}`,
      }
    }
    if (offer.expiry - offer.issuedAt > this.maxLifetime) {
      return {
        status: 'rejected',
        reason: 'lifetime-too-long',
        detail: `valid for ${offer.expiry - offer.issuedAt}s, at most ${this.maxLifetime}s allowed`,
      }
    }
    const key = offer.provider.toLowerCase()
    const held = this.byProvider.get(key)
    if (held !== undefined) {
      if (offer.sequence < held.sequence) {
        return {
          status: 'rejected',
          reason: 'stale-sequence',
          detail: `sequence ${offer.sequence} is older than the held ${held.sequence}`,
        }
      }
      if (offer.sequence === held.sequence) {
        return sameOffer(offer, held)
          ? { status: 'rejected', reason: 'duplicate', detail: `sequence ${offer.sequence} already held` }
          : {
              status: 'rejected',
              reason: 'equivocation',
              detail: `a different offer with sequence ${offer.sequence} is already held`,
            }
      }
      this.byProvider.set(key, offer)
      return { status: 'replaced', offer, previous: held }
    }
    if (this.byProvider.size >= this.maxOffers) this.prune(nowSeconds)
    if (this.byProvider.size >= this.maxOffers) {
      return { status: 'rejected', reason: 'book-full', detail: `${this.maxOffers} providers already held` }
    }
    this.byProvider.set(key, offer)
    return { status: 'added', offer }
  }

  get(provider: string): O | undefined {
    return this.byProvider.get(provider.toLowerCase())
  }

  remove(provider: string): boolean {
    return this.byProvider.delete(provider.toLowerCase())
  }

  /** Drops offers expired for at least `graceSeconds`; returns them. */
  prune(nowSeconds: bigint, graceSeconds = 0n): O[] {
    const dropped: O[] = []
    for (const [key, offer] of this.byProvider) {
      if (offer.expiry + graceSeconds <= nowSeconds) {
        this.byProvider.delete(key)
        dropped.push(offer)
      }
    }
    return dropped
  }

  /** Every held offer, expired ones included, by provider address. */
  offers(): O[] {
    return [...this.byProvider.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o)
  }

  /** Offers still valid at `nowSeconds`, by provider address. */
  active(nowSeconds: bigint): O[] {
    return this.offers().filter((o) => o.expiry > nowSeconds)
  }

  /**
   * Live offers that can run the job at or under its maximum price, cheapest floor first.
   * Resources and price only; stake, jail and reputation are `explain`'s and selection's.
   */
  query(job: JobRequirements, nowSeconds: bigint): O[] {
    return this.active(nowSeconds)
      .filter((o) => o.floorPricePerFuel <= job.maxPricePerFuel && checkCapability(job, o).length === 0)
      .sort(byFloorThenProvider)
  }

  depth(nowSeconds: bigint): MarketDepth {
    return marketDepth(this.byProvider.values(), nowSeconds)
  }
}
