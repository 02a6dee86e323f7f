import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { selectBids } from './bid-selection.ts'

const ctx = {
  maxPricePerFuel: 100n,
  nowSeconds: 1_000n,
  minValiditySeconds: 10n,
  isEligible: (provider: string) => provider !== '0xjailed',
}

describe('selectBids', () => {
  it('picks the cheapest qualifying bids and says why the others lost', () => {
    const bids = [
      { provider: '0xb', pricePerFuel: 50n, expiry: 2_000n },
      { provider: '0xa', pricePerFuel: 40n, expiry: 2_000n },
      { provider: '0xc', pricePerFuel: 101n, expiry: 2_000n },
      { provider: '0xd', pricePerFuel: 10n, expiry: 1_005n },
      { provider: '0xjailed', pricePerFuel: 1n, expiry: 2_000n },
      { provider: '0xA', pricePerFuel: 1n, expiry: 2_000n },
    ]
    const result = selectBids(bids, 1, ctx)
    assert.deepEqual(
      result.winners.map((w) => w.bid.provider),
      ['0xa'],
    )
    assert.deepEqual(
      result.rejected.map((r) => [r.bid.provider, r.reason]),
      [
        ['0xc', 'price-above-max'],
        ['0xd', 'expired'],
        ['0xjailed', 'ineligible'],
        ['0xA', 'duplicate'],
      ],
    )
  })

  it('weighs price by reputation and breaks ties by address', () => {
    const bids = [
      { provider: '0xb', pricePerFuel: 60n, expiry: 2_000n },
      { provider: '0xa', pricePerFuel: 50n, expiry: 2_000n },
      { provider: '0xc', pricePerFuel: 50n, expiry: 2_000n },
    ]
    const reputationPpm = (p: string) => (p === '0xb' ? 1_500_000n : 1_000_000n)
    const result = selectBids(bids, 3, { ...ctx, reputationPpm })
    assert.deepEqual(
      result.winners.map((w) => w.bid.provider),
      ['0xb', '0xa', '0xc'],
    )
  })

  it('returns no winner when nothing qualifies', () => {
    const result = selectBids([{ provider: '0xa', pricePerFuel: 500n, expiry: 2_000n }], 1, ctx)
    assert.equal(result.winners.length, 0)
    assert.equal(result.rejected[0]?.reason, 'price-above-max')
  })
})
