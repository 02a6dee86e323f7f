import type { OfferMessage } from '@bazaar/protocol'
import { type Exclusion, MarketReason } from './reasons.ts'
import { effectivePriceScaled, type ReputationRecord, reputationPpm } from './reputation.ts'
import { checkCapability, type JobRequirements } from './requirements.ts'
import type { SelectionPolicy } from './selection-policy.ts'

/** A sealed bid as the requester holds it after checking its signature. */
export interface MarketBid {
  provider: string
  pricePerFuel: bigint
  /** Unix seconds. */
  expiry: bigint
  /** The caller's EIP-712 check: the signature recovers to `provider` for this job. */
  signatureValid: boolean
}

/** What the chain says about a provider. */
export interface ProviderStanding {
  /** Stake held in the registry, token base units. */
  stake: bigint
  jailed: boolean
  reputation?: ReputationRecord
}

/** Offer fields the evaluation uses; a protocol `OfferMessage` fits. */
export type OfferLike = Pick<
  OfferMessage,
  'runtimes' | 'cores' | 'memoryMb' | 'gpus' | 'region' | 'attributes' | 'expiry'
>

export interface EvaluationContext {
  job: JobRequirements
  /** Unix seconds, from the chain or the caller's clock. */
  nowSeconds: bigint
  /**
   * On-chain standing, looked up by lowercase address. `undefined` means unknown: no stake,
   * not jailed, no history (so it fails any positive `minStake`).
   */
  standing: (provider: string) => ProviderStanding | undefined
  /** The provider's offer from the book (lowercase address), used for the resource checks. */
  offer?: (provider: string) => OfferLike | undefined
}

export type BidVerdict<B extends MarketBid> =
  | { bid: B; qualified: true; reputationPpm: number; effectivePriceScaled: bigint }
  | { bid: B; qualified: false; reputationPpm: number; reasons: Exclusion[] }

/**
 * The hard filters for one bid, all of them, in a fixed order: signature, bid expiry, price,
 * offer (when known or required), resources, stake, jail, reputation. A bid qualifies only
 * when none fails. Duplicates are a property of the set, decided in `selectBestBids`.
 */
export function evaluateBid<B extends MarketBid>(
  bid: B,
  ctx: EvaluationContext,
  policy: SelectionPolicy,
): BidVerdict<B> {
  const key = bid.provider.toLowerCase()
  const reasons: Exclusion[] = []
  if (!bid.signatureValid) {
    reasons.push({
      reason: MarketReason.SignatureInvalid,
      detail: 'signature does not recover to the provider',
    })
  }
  const validUntil = ctx.nowSeconds + policy.minValiditySeconds
  if (bid.expiry < validUntil) {
    reasons.push({
      reason: MarketReason.BidExpired,
      detail: `bid expires at ${bid.expiry}, must be valid until ${validUntil}`,
    })
  }
  if (bid.pricePerFuel > ctx.job.maxPricePerFuel) {
    reasons.push({
      reason: MarketReason.PriceAboveMax,
      detail: `bids ${bid.pricePerFuel} per fuel, job pays at most ${ctx.job.maxPricePerFuel}`,
    })
  }
  const found = ctx.offer?.(key)
  const offer = found !== undefined && found.expiry > ctx.nowSeconds ? found : undefined
  if (offer === undefined && policy.requireOffer) {
    reasons.push(
      found === undefined
        ? { reason: MarketReason.NoOffer, detail: 'provider has no offer in the book' }
        : { reason: MarketReason.OfferExpired, detail: `offer expired at ${found.expiry}` },
    )
  }
  // A required offer that expired is still the best description of the machine: check it too.
  const described = offer ?? (policy.requireOffer ? found : undefined)
  if (described !== undefined) reasons.push(...checkCapability(ctx.job, described))
  const standing = ctx.standing(key)
  const stake = standing?.stake ?? 0n
  if (stake < policy.minStake) {
    reasons.push({
      reason: MarketReason.StakeTooLow,
      detail: `stake ${stake} below minimum ${policy.minStake}`,
    })
  }
  if (standing?.jailed === true) reasons.push({ reason: MarketReason.Jailed, detail: 'provider is jailed' })
  const rep = reputationPpm(standing?.reputation, policy)
  if (rep < policy.minReputationPpm) {
    reasons.push({
      reason: MarketReason.ReputationTooLow,
      detail: `reputation ${rep} ppm below minimum ${policy.minReputationPpm}`,
    })
  }
  if (reasons.length > 0) return { bid, qualified: false, reputationPpm: rep, reasons }
  return {
    bid,
    qualified: true,
    reputationPpm: rep,
    effectivePriceScaled: effectivePriceScaled(bid.pricePerFuel, rep, policy.reputationWeightPpm),
  }
}
