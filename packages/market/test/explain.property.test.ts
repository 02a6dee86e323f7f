import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OfferMessage } from '@bazaar/protocol'
import fc from 'fast-check'
import { selectBestBids } from '../src/best-bids.ts'
import { explainJob } from '../src/explain.ts'
import { resolvePolicy } from '../src/selection-policy.ts'
import { jobArb, NOW, PROVIDERS, policyArb, worldArb } from './arbitraries.ts'
import { naiveCapabilityReasons, naiveReputation } from './oracle.ts'

const input = fc.record({
  job: jobArb,
  world: worldArb,
  policy: policyArb,
  markup: fc.integer({ min: 0, max: 300 }),
  median: fc.option(fc.bigInt({ min: 1n, max: 40n }), { nil: undefined }),
})

describe('explainJob (properties)', () => {
  it('accounts for every offer: a candidate, or excluded with exactly every failed check', () => {
    fc.assert(
      fc.property(input, ({ job, world, policy, markup }) => {
        const resolved = resolvePolicy(policy)
        const offers = Object.values(world.offers) as OfferMessage[]
        const result = explainJob(job, offers, {
          nowSeconds: NOW,
          standing: (p) => world.standing[p],
          policy,
          assumedMarkupPercent: markup,
        })
        assert.equal(result.candidates.length + result.excluded.length, offers.length)
        for (const offer of offers) {
          const s = world.standing[offer.provider.toLowerCase()]
          const expected: string[] = []
          if (offer.expiry <= NOW) expected.push('offer-expired')
          expected.push(...naiveCapabilityReasons(job, offer))
          if (offer.floorPricePerFuel > job.maxPricePerFuel) expected.push('price-floor-above-max')
          if ((s?.stake ?? offer.stake) < resolved.minStake) expected.push('stake-too-low')
          if (s?.jailed) expected.push('jailed')
          if (naiveReputation(s, resolved) < BigInt(resolved.minReputationPpm))
            expected.push('reputation-too-low')
          const excluded = result.excluded.find((x) => x.provider === offer.provider)
          const candidate = result.candidates.find((c) => c.provider === offer.provider)
          if (expected.length === 0) {
            assert.equal(excluded, undefined)
            assert.ok(candidate)
            assert.equal(candidate.expectedPrice.low, offer.floorPricePerFuel)
            assert.ok(candidate.expectedPrice.low <= candidate.expectedPrice.high)
            assert.ok(candidate.expectedPrice.high <= job.maxPricePerFuel)
          } else {
            assert.equal(candidate, undefined)
            assert.ok(excluded)
            assert.deepEqual(excluded.reasons.map((r) => r.reason).sort(), expected.sort())
            assert.equal(excluded.reason, excluded.reasons[0]!.reason)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('speaks the same language as bid evaluation: a bid at the floor fails for the same reasons', () => {
    fc.assert(
      fc.property(input, ({ job, world, policy }) => {
        // Standing known for every provider, offers required: both sides then see the same facts.
        const standing = (p: string) => world.standing[p] ?? { stake: 0n, jailed: false }
        const offers = Object.values(world.offers) as OfferMessage[]
        const strict = { ...policy, requireOffer: true }
        const explained = explainJob(job, offers, { nowSeconds: NOW, standing, policy: strict })
        const bids = offers.map((o) => ({
          provider: o.provider,
          pricePerFuel: o.floorPricePerFuel,
          expiry: NOW + 1_000n,
          signatureValid: true,
        }))
        const selected = selectBestBids(
          bids,
          { job, nowSeconds: NOW, standing, offer: (p) => world.offers[p] },
          { ...strict, k: PROVIDERS.length },
        )
        const fromBids = new Map<string, string[]>(
          selected.excluded.map((x) => [
            x.bid.provider,
            x.reasons
              .map((r) => (r.reason === 'price-above-max' ? 'price-floor-above-max' : r.reason))
              .sort(),
          ]),
        )
        for (const x of explained.excluded)
          assert.deepEqual(fromBids.get(x.provider), x.reasons.map((r) => r.reason).sort())
        assert.deepEqual(
          selected.winners.map((w) => w.bid.provider).sort(),
          explained.candidates.map((c) => c.provider).sort(),
        )
      }),
      { numRuns: 300 },
    )
  })
})
