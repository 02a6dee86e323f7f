import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { selectBestBids } from '../src/best-bids.ts'
import type { EvaluationContext, MarketBid } from '../src/bid-evaluation.ts'
import type { JobRequirements } from '../src/requirements.ts'
import { resolvePolicy, type SelectionPolicy } from '../src/selection-policy.ts'
import { auctionArb, NOW, type World } from './arbitraries.ts'
import { naiveBidReasons, naiveEffective, naiveReputation } from './oracle.ts'

function contextOf(job: JobRequirements, world: World): EvaluationContext {
  return {
    job,
    nowSeconds: NOW,
    standing: (p) => world.standing[p],
    offer: (p) => world.offers[p],
  }
}

const project = (b: MarketBid) =>
  `${b.provider.toLowerCase()}|${b.pricePerFuel}|${b.expiry}|${b.signatureValid}`

/** Best total effective price over every feasible set of distinct-provider qualified bids. */
function bruteForceBest(bids: MarketBid[], job: JobRequirements, world: World, policy: SelectionPolicy) {
  const ok = bids.filter((b) => naiveBidReasons(b, job, world, policy, NOW).length === 0)
  const cost = (b: MarketBid) =>
    naiveEffective(b.pricePerFuel, naiveReputation(world.standing[b.provider.toLowerCase()], policy), policy)
  const providers = new Set(ok.map((b) => b.provider.toLowerCase()))
  const size = Math.min(policy.k, providers.size)
  let best: bigint | undefined
  for (let mask = 0; mask < 1 << ok.length; mask++) {
    const chosen = ok.filter((_, i) => mask & (1 << i))
    if (chosen.length !== size) continue
    if (new Set(chosen.map((b) => b.provider.toLowerCase())).size !== size) continue
    const total = chosen.reduce((s, b) => s + cost(b), 0n)
    if (best === undefined || total < best) best = total
  }
  return { size, best: best ?? 0n, cost }
}

const input = auctionArb

describe('selectBestBids (properties)', () => {
  it('is optimal under the policy: brute force finds no cheaper set of winners', () => {
    fc.assert(
      fc.property(input, ({ job, world, policy, bids }) => {
        const resolved = resolvePolicy(policy)
        const result = selectBestBids(bids, contextOf(job, world), policy)
        const oracle = bruteForceBest(bids, job, world, resolved)
        assert.equal(result.winners.length, oracle.size)
        assert.equal(
          result.winners.reduce((s, w) => s + oracle.cost(w.bid), 0n),
          oracle.best,
        )
        for (const w of result.winners) assert.equal(w.effectivePriceScaled, oracle.cost(w.bid))
      }),
      { numRuns: 400 },
    )
  })

  it('never returns a disqualified bid, and excludes each with exactly its reasons', () => {
    fc.assert(
      fc.property(input, ({ job, world, policy, bids }) => {
        const resolved = resolvePolicy(policy)
        const result = selectBestBids(bids, contextOf(job, world), policy)
        for (const w of [...result.winners, ...result.outbid]) {
          assert.deepEqual(naiveBidReasons(w.bid, job, world, resolved, NOW), [])
        }
        for (const x of result.excluded) {
          const expected = naiveBidReasons(x.bid, job, world, resolved, NOW)
          if (x.reason === 'duplicate') assert.deepEqual(expected, [])
          else assert.deepEqual(x.reasons.map((r) => r.reason).sort(), [...expected].sort())
          assert.equal(x.reason, x.reasons[0]?.reason)
        }
        // Every bid is accounted for exactly once, and winners are distinct providers.
        assert.equal(result.winners.length + result.outbid.length + result.excluded.length, bids.length)
        const all = [...result.winners, ...result.outbid].map((w) => w.bid.provider.toLowerCase())
        assert.equal(new Set(all).size, all.length)
        // Ranks are in order of effective price.
        const ranked = [...result.winners, ...result.outbid]
        for (let i = 1; i < ranked.length; i++) {
          assert.ok(ranked[i - 1]!.effectivePriceScaled <= ranked[i]!.effectivePriceScaled)
          assert.equal(ranked[i]!.rank, i)
        }
      }),
      { numRuns: 400 },
    )
  })

  it('is deterministic: the same bids in any order give the same result', () => {
    fc.assert(
      fc.property(input, ({ job, world, policy, bids, perm }) => {
        const a = selectBestBids(bids, contextOf(job, world), policy)
        const b = selectBestBids(
          perm.map((i) => bids[i]!),
          contextOf(job, world),
          policy,
        )
        const view = (r: typeof a) => ({
          winners: r.winners.map((w) => [project(w.bid), w.rank, w.effectivePriceScaled]),
          outbid: r.outbid.map((w) => [project(w.bid), w.rank]),
          excluded: r.excluded.map((x) => [project(x.bid), x.reasons.map((e) => e.reason)]),
        })
        assert.deepEqual(view(b), view(a))
      }),
      { numRuns: 400 },
    )
  })
})
