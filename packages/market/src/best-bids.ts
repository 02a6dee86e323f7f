import { type BidVerdict, type EvaluationContext, evaluateBid, type MarketBid } from './bid-evaluation.ts'
import { cmpBig } from './bigint-math.ts'
import { type Exclusion, MarketReason } from './reasons.ts'
import { resolvePolicy, type SelectionPolicy } from './selection-policy.ts'

export interface RankedBid<B extends MarketBid> {
  bid: B
  /** 0 = best. */
  rank: number
  reputationPpm: number
  /** Base units per fuel × 1e6, after reputation; see docs/market.md. */
  effectivePriceScaled: bigint
}

export interface ExcludedBid<B extends MarketBid> {
  bid: B
  /** The first failed check; `reasons` lists every one. */
  reason: MarketReason
  reasons: Exclusion[]
}

export interface BestBidsResult<B extends MarketBid> {
  /** At most `policy.k`, best first, distinct providers. */
  winners: RankedBid<B>[]
  /** Qualified but ranked below the top k, in rank order. */
  outbid: RankedBid<B>[]
  /** Every bid that failed a hard filter (or was a provider's worse duplicate). */
  excluded: ExcludedBid<B>[]
}

interface Qualified<B extends MarketBid> {
  bid: B
  key: string
  reputationPpm: number
  effectivePriceScaled: bigint
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Rank order: effective price, then raw price (cheaper for the requester), then address. */
function byRank<B extends MarketBid>(a: Qualified<B>, b: Qualified<B>): number {
  return (
    cmpBig(a.effectivePriceScaled, b.effectivePriceScaled) ||
    cmpBig(a.bid.pricePerFuel, b.bid.pricePerFuel) ||
    cmpStr(a.key, b.key)
  )
}

/** Which of one provider's qualified bids stands: the cheapest, then the longest-lived. */
function betterOwnBid<B extends MarketBid>(a: Qualified<B>, b: Qualified<B>): boolean {
  const byPrice = cmpBig(a.bid.pricePerFuel, b.bid.pricePerFuel)
  return byPrice < 0 || (byPrice === 0 && a.bid.expiry > b.bid.expiry)
}

function byBid(a: ExcludedBid<MarketBid>, b: ExcludedBid<MarketBid>): number {
  return (
    cmpStr(a.bid.provider.toLowerCase(), b.bid.provider.toLowerCase()) ||
    cmpBig(a.bid.pricePerFuel, b.bid.pricePerFuel) ||
    cmpBig(a.bid.expiry, b.bid.expiry) ||
    cmpStr(a.reason, b.reason)
  )
}

/**
 * The requester's choice: hard filters on every bid, one bid per provider, then the best
 * `k` by effective price. The result depends only on the set of bids, not their order
 * (ties break on raw price, then address), so every node recomputes the same winners.
 */
export function selectBestBids<B extends MarketBid>(
  bids: readonly B[],
  ctx: EvaluationContext,
  policy: Partial<SelectionPolicy> = {},
): BestBidsResult<B> {
  const resolved = resolvePolicy(policy)
  const excluded: ExcludedBid<B>[] = []
  const best = new Map<string, Qualified<B>>()
  for (const bid of bids) {
    const verdict: BidVerdict<B> = evaluateBid(bid, ctx, resolved)
    if (!verdict.qualified) {
      excluded.push({ bid, reason: verdict.reasons[0]!.reason, reasons: verdict.reasons })
      continue
    }
    const q: Qualified<B> = {
      bid,
      key: bid.provider.toLowerCase(),
      reputationPpm: verdict.reputationPpm,
      effectivePriceScaled: verdict.effectivePriceScaled,
    }
    const held = best.get(q.key)
    if (held === undefined) {
      best.set(q.key, q)
      continue
    }
    const [keep, drop] = betterOwnBid(q, held) ? [q, held] : [held, q]
    best.set(q.key, keep)
    excluded.push({
      bid: drop.bid,
      reason: MarketReason.Duplicate,
      reasons: [{ reason: MarketReason.Duplicate, detail: 'provider has a better bid in this auction' }],
    })
  }
  const ranked = [...best.values()].sort(byRank).map((q, rank) => ({
    bid: q.bid,
    rank,
    reputationPpm: q.reputationPpm,
    effectivePriceScaled: q.effectivePriceScaled,
  }))
  excluded.sort(byBid)
  return { winners: ranked.slice(0, resolved.k), outbid: ranked.slice(resolved.k), excluded }
}
