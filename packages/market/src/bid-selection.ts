/**
 * Requester side of the reverse auction: filter the sealed bids a job received and pick
 * the best. Pure: no I/O and no clock of its own (`nowSeconds` is passed in).
 */
export interface CandidateBid {
  provider: string
  pricePerFuel: bigint
  /** Unix seconds. */
  expiry: bigint
}

export interface SelectionContext {
  maxPricePerFuel: bigint
  nowSeconds: bigint
  /** Seconds a bid must still be valid for, so the award transaction lands before expiry. */
  minValiditySeconds: bigint
  /** Whether the provider may be awarded (staked, not jailed); false excludes it. */
  isEligible: (provider: string) => boolean
  /**
   * Reputation weight in parts per million (1_000_000 = neutral). Effective price is
   * price / weight, so a provider with a better record wins at a slightly higher price.
   */
  reputationPpm?: (provider: string) => bigint
}

export type BidRejection = 'price-above-max' | 'expired' | 'ineligible' | 'duplicate'

export interface BidEvaluation<B extends CandidateBid> {
  bid: B
  /** Price adjusted by reputation, in token base units per fuel, scaled by 1e6. */
  effectivePriceScaled: bigint
}

export interface SelectionResult<B extends CandidateBid> {
  winners: BidEvaluation<B>[]
  rejected: { bid: B; reason: BidRejection }[]
}

const NEUTRAL_PPM = 1_000_000n

export function selectBids<B extends CandidateBid>(
  bids: B[],
  k: number,
  ctx: SelectionContext,
): SelectionResult<B> {
  const rejected: SelectionResult<B>['rejected'] = []
  const seen = new Set<string>()
  const qualified: BidEvaluation<B>[] = []
  for (const bid of bids) {
    const key = bid.provider.toLowerCase()
    if (seen.has(key)) {
      rejected.push({ bid, reason: 'duplicate' })
      continue
    }
    seen.add(key)
    if (bid.pricePerFuel > ctx.maxPricePerFuel) rejected.push({ bid, reason: 'price-above-max' })
    else if (bid.expiry < ctx.nowSeconds + ctx.minValiditySeconds) rejected.push({ bid, reason: 'expired' })
    else if (!ctx.isEligible(bid.provider)) rejected.push({ bid, reason: 'ineligible' })
    else {
      const weight = ctx.reputationPpm?.(bid.provider) ?? NEUTRAL_PPM
      const safeWeight = weight > 0n ? weight : 1n
      qualified.push({
        bid,
        effectivePriceScaled: (bid.pricePerFuel * NEUTRAL_PPM * NEUTRAL_PPM) / safeWeight,
      })
    }
  }
  // Ties break on the provider address so every node computes the same winners.
  qualified.sort((a, b) =>
    a.effectivePriceScaled === b.effectivePriceScaled
      ? a.bid.provider.toLowerCase() < b.bid.provider.toLowerCase()
        ? -1
        : 1
      : a.effectivePriceScaled < b.effectivePriceScaled
        ? -1
        : 1,
  )
  return { winners: qualified.slice(0, k), rejected }
}
