import type { OfferMessage } from '@bazaar/protocol'
import { askPrice, validatePricing } from './ask-price.ts'
import type { ProviderStanding } from './bid-evaluation.ts'
import { cmpBig, maxBig, minBig } from './bigint-math.ts'
import type { PriceIndexSnapshot, PriceStats } from './price-index.ts'
import { countReasons, type Exclusion, MarketReason } from './reasons.ts'
import { effectivePriceScaled, reputationPpm } from './reputation.ts'
import { checkCapability, type JobRequirements } from './requirements.ts'
import { type ResourceClass, resourceClass } from './resource-class.ts'
import { resolvePolicy, type SelectionPolicy } from './selection-policy.ts'

export interface ExplainContext {
  nowSeconds: bigint
  /** On-chain standing by lowercase address; without it the offer's claimed stake is used. */
  standing?: (provider: string) => ProviderStanding | undefined
  /** The requester's selection policy (minStake, minReputationPpm, reputation weights). */
  policy?: Partial<SelectionPolicy>
  /** The price index; a class median above a floor raises that provider's expected high. */
  prices?: PriceIndexSnapshot
  /** Utilization markup assumed for every provider, percent. Default 100 (the node's default). */
  assumedMarkupPercent?: number
}

export interface PriceRange {
  low: bigint
  high: bigint
}

export interface ExplainCandidate {
  provider: string
  peerId: string
  floorPricePerFuel: bigint
  /** low = the floor (an idle provider); high = a fully busy one's ask, capped at the job max. */
  expectedPrice: PriceRange
  reputationPpm: number
  /** Effective price at `expectedPrice.low`, ×1e6: the order in which they would likely win. */
  effectivePriceScaled: bigint
}

export interface ExplainExclusion {
  provider: string
  peerId: string
  /** The first failed check; `reasons` lists every one. */
  reason: MarketReason
  reasons: Exclusion[]
}

export interface Explanation {
  resourceClass: ResourceClass
  atSeconds: bigint
  offers: number
  /** Providers that could bid, likeliest winner first. */
  candidates: ExplainCandidate[]
  /** Providers that could not, by address, each with every reason. */
  excluded: ExplainExclusion[]
  /** Spread of the candidates' expected prices; absent when there is no candidate. */
  expectedPrice?: PriceRange
  /** How many excluded providers had each reason first. */
  reasonCounts: Partial<Record<MarketReason, number>>
  /** Recent clearing prices of this class, when the index has some. */
  market?: PriceStats
}

/**
 * Every check of one offer against a job, in a fixed order: offer expiry, resources
 * (runtime, cores, memory, gpu, region, attribute), price floor, stake, jail, reputation.
 * The same vocabulary the bid evaluation uses, so a job that gets no bids can be explained.
 */
export function offerExclusions(
  job: JobRequirements,
  offer: OfferMessage,
  standing: ProviderStanding | undefined,
  policy: SelectionPolicy,
  nowSeconds: bigint,
): Exclusion[] {
  const out: Exclusion[] = []
  if (offer.expiry <= nowSeconds) {
    out.push({
      reason: MarketReason.OfferExpired,
      detail: `offer expired at ${offer.expiry}, now ${nowSeconds}`,
    })
  }
  out.push(...checkCapability(job, offer))
  if (offer.floorPricePerFuel > job.maxPricePerFuel) {
    out.push({
      reason: MarketReason.PriceFloorAboveMax,
      detail: `floor ${offer.floorPricePerFuel} per fuel, job pays at most ${job.maxPricePerFuel}`,
    })
  }
  const stake = standing?.stake ?? offer.stake
  if (stake < policy.minStake) {
    out.push({ reason: MarketReason.StakeTooLow, detail: `stake ${stake} below minimum ${policy.minStake}` })
  }
  if (standing?.jailed === true) out.push({ reason: MarketReason.Jailed, detail: 'provider is jailed' })
  const rep = reputationPpm(standing?.reputation, policy)
  if (rep < policy.minReputationPpm) {
    out.push({
      reason: MarketReason.ReputationTooLow,
      detail: `reputation ${rep} ppm below minimum ${policy.minReputationPpm}`,
    })
  }
  return out
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * A dry run of an auction against the offer book: who could bid, at what expected price,
 * and for everyone else exactly why not. Pure; give it `book.offers()` (expired ones
 * included, so they are reported as such).
 */
export function explainJob(
  job: JobRequirements,
  offers: Iterable<OfferMessage>,
  ctx: ExplainContext,
): Explanation {
  const policy = resolvePolicy(ctx.policy)
  const markup = ctx.assumedMarkupPercent ?? 100
  validatePricing({ floorPerFuel: 0n, utilizationMarkupPercent: markup })
  const cls = resourceClass(job)
  const market = ctx.prices?.[cls]
  const candidates: ExplainCandidate[] = []
  const excluded: ExplainExclusion[] = []
  let count = 0
  for (const offer of offers) {
    count++
    const key = offer.provider.toLowerCase()
    const standing = ctx.standing?.(key)
    const reasons = offerExclusions(job, offer, standing, policy, ctx.nowSeconds)
    if (reasons.length > 0) {
      excluded.push({ provider: offer.provider, peerId: offer.peerId, reason: reasons[0]!.reason, reasons })
      continue
    }
    const rep = reputationPpm(standing?.reputation, policy)
    // A spot-pricing provider anchors on the class median; the busiest ask is capped by the job max.
    const busy = askPrice(offer.floorPricePerFuel, markup, 1_000_000n, market?.median ?? 0n)
    const low = offer.floorPricePerFuel
    candidates.push({
      provider: offer.provider,
      peerId: offer.peerId,
      floorPricePerFuel: low,
      expectedPrice: { low, high: minBig(busy, job.maxPricePerFuel) },
      reputationPpm: rep,
      effectivePriceScaled: effectivePriceScaled(low, rep, policy.reputationWeightPpm),
    })
  }
  candidates.sort(
    (a, b) =>
      cmpBig(a.effectivePriceScaled, b.effectivePriceScaled) ||
      cmpBig(a.floorPricePerFuel, b.floorPricePerFuel) ||
      cmpStr(a.provider.toLowerCase(), b.provider.toLowerCase()),
  )
  excluded.sort((a, b) => cmpStr(a.provider.toLowerCase(), b.provider.toLowerCase()))
  const explanation: Explanation = {
    resourceClass: cls,
    atSeconds: ctx.nowSeconds,
    offers: count,
    candidates,
    excluded,
    reasonCounts: countReasons(excluded),
  }
  if (candidates.length > 0) {
    explanation.expectedPrice = {
      low: candidates.map((c) => c.expectedPrice.low).reduce(minBig),
      high: candidates.map((c) => c.expectedPrice.high).reduce(maxBig),
    }
  }
  if (market !== undefined) explanation.market = market
  return explanation
}
