import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { selectBestBids } from './best-bids.ts'
import type { EvaluationContext, ProviderStanding } from './bid-evaluation.ts'
import { MarketConfigError } from './market-config-error.ts'

const job = { runtime: 'wasm', cores: 2, memoryMb: 1024, maxPricePerFuel: 100n }
const good: ProviderStanding = {
  stake: 10n,
  jailed: false,
  reputation: { completed: 20, failed: 0, slashed: 0 },
}
const standings: Record<string, ProviderStanding> = {
  '0xa': good,
  '0xb': good,
  '0xc': { stake: 10n, jailed: false, reputation: { completed: 2, failed: 8, slashed: 1 } },
  '0xjailed': { ...good, jailed: true },
  '0xpoor': { ...good, stake: 1n },
}
const ctx: EvaluationContext = {
  job,
  nowSeconds: 1_000n,
  standing: (p) => standings[p],
  offer: (p) =>
    p === '0xb'
      ? { runtimes: ['wasm'], cores: 1, memoryMb: 4096, gpus: [], region: '', attributes: [], expiry: 2_000n }
      : undefined,
}
const bid = (
  provider: string,
  pricePerFuel: bigint,
  more: { expiry?: bigint; signatureValid?: boolean } = {},
) => ({
  provider,
  pricePerFuel,
  expiry: more.expiry ?? 2_000n,
  signatureValid: more.signatureValid ?? true,
})

describe('selectBestBids', () => {
  it('excludes every disqualified bid with all its reasons', () => {
    const result = selectBestBids(
      [
        bid('0xa', 50n),
        bid('0xb', 10n), // offer says 1 core, job needs 2
        bid('0xjailed', 5n, { signatureValid: false }),
        bid('0xpoor', 5n),
        bid('0xa', 150n, { expiry: 1_010n }),
        bid('0xunknown', 1n),
      ],
      ctx,
      { minStake: 5n },
    )
    assert.deepEqual(
      result.winners.map((w) => w.bid.provider),
      ['0xa'],
    )
    assert.deepEqual(
      result.excluded.map((x) => [x.bid.provider, x.reasons.map((r) => r.reason)]),
      [
        ['0xa', ['bid-expired', 'price-above-max']],
        ['0xb', ['cores']],
        ['0xjailed', ['signature-invalid', 'jailed']],
        ['0xpoor', ['stake-too-low']],
        ['0xunknown', ['stake-too-low']],
      ],
    )
  })

  it('weighs price by reputation: a poor record needs a lower price to win', () => {
    const k2 = { k: 2 }
    // 0xc: rep = (2+3)/(2+8+5+3+1) = 5/19 = 263_157 ppm; w = 0.5 → divisor 0.631579 → 60 → 95.0
    const close = selectBestBids([bid('0xa', 90n), bid('0xc', 60n)], ctx, k2)
    assert.deepEqual(
      close.winners.map((w) => w.bid.provider),
      ['0xa', '0xc'],
    )
    const cheap = selectBestBids([bid('0xa', 90n), bid('0xc', 50n)], ctx, k2)
    assert.deepEqual(
      cheap.winners.map((w) => w.bid.provider),
      ['0xc', '0xa'],
    )
    // With reputation weight 0 only price counts.
    const flat = selectBestBids([bid('0xa', 90n), bid('0xc', 60n)], ctx, { k: 2, reputationWeightPpm: 0 })
    assert.deepEqual(
      flat.winners.map((w) => w.bid.provider),
      ['0xc', '0xa'],
    )
  })

  it('keeps one bid per provider (its cheapest) and ranks the rest as outbid', () => {
    const result = selectBestBids([bid('0xA', 40n), bid('0xa', 30n), bid('0xb', 35n)], ctx, { k: 1 })
    assert.deepEqual(
      result.winners.map((w) => [w.bid.provider, w.bid.pricePerFuel]),
      [['0xa', 30n]],
    )
    assert.deepEqual(
      result.outbid.map((w) => [w.bid.provider, w.rank]),
      [],
    )
    assert.deepEqual(
      result.excluded.map((x) => [x.bid.provider, x.reason]),
      [
        ['0xA', 'duplicate'],
        ['0xb', 'cores'],
      ],
    )
  })

  it('breaks exact ties by address and enforces minimum reputation', () => {
    const noOffers = { ...ctx, offer: undefined }
    const bids = [bid('0xb2', 20n), bid('0xb', 20n), bid('0xa', 20n)]
    // 0xb2 has no record: the prior alone, 3/4 = 750_000 ppm, so it ranks behind the others.
    const tie = selectBestBids(bids, noOffers, { k: 3 })
    assert.deepEqual(
      tie.winners.map((w) => [w.bid.provider, w.reputationPpm]),
      [
        ['0xa', 958_333],
        ['0xb', 958_333],
        ['0xb2', 750_000],
      ],
    )
    const strict = selectBestBids(bids, noOffers, { k: 3, minReputationPpm: 800_000 })
    assert.deepEqual(
      strict.winners.map((w) => w.bid.provider),
      ['0xa', '0xb'],
    )
    assert.deepEqual(
      strict.excluded.map((x) => [x.bid.provider, x.reason]),
      [['0xb2', 'reputation-too-low']],
    )
  })

  it('requires a live offer when the policy says so', () => {
    const result = selectBestBids([bid('0xa', 20n)], ctx, { requireOffer: true })
    assert.deepEqual(
      result.excluded[0]?.reasons.map((r) => r.reason),
      ['no-offer'],
    )
    const expired = selectBestBids([bid('0xb', 20n)], { ...ctx, nowSeconds: 2_000n }, { requireOffer: true })
    assert.deepEqual(
      expired.excluded[0]?.reasons.map((r) => r.reason),
      ['bid-expired', 'offer-expired', 'cores'],
    )
  })

  it('rejects an invalid policy', () => {
    assert.throws(() => selectBestBids([], ctx, { reputationWeightPpm: 1_000_000 }), MarketConfigError)
    assert.throws(() => selectBestBids([], ctx, { k: 0 }), { name: 'MarketConfigError' })
  })
})
