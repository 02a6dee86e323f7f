/**
 * The voucher path as the requester's API and /metrics show it (docs/vouchers.md): the payment
 * kind of a job id, the voucher view of a stored job in each phase, the repository queries the
 * views and metrics read, and the metric series with their values.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { voucherJobId } from '@bazaar/protocol'
import { Registry } from 'prom-client'
import type { Address, Hex } from 'viem'
import { openNodeStore } from '../store/node-store.ts'
import type { VoucherJobRecord } from '../store/voucher-repo.ts'
import { paymentOf, settleVoucherJobView, voucherJobView } from './voucher-job-view.ts'
import { registerVoucherMetrics, tokensOf } from './voucher-metrics.ts'
import type { VoucherProviderStats } from './voucher-provider.ts'

const requester = '0x1111111111111111111111111111111111111111' as Address
const provider = '0x2222222222222222222222222222222222222222' as Address
const vault = '0x3333333333333333333333333333333333333333' as Address
const HUGE = 2n ** 200n + 7n // beyond a float: amounts must stay exact

function record(sequence: bigint, phase: VoucherJobRecord['phase'], extra: Partial<VoucherJobRecord> = {}) {
  const jobId = voucherJobId(requester, `0x${sequence.toString(16).padStart(64, '0')}` as Hex)
  return {
    role: 'requester',
    jobId: jobId.toString(),
    phase,
    award: {
      jobId,
      requester,
      provider,
      sequence,
      pricePerFuel: 3n,
      maxFuel: 1_000n,
      specHash: `0x${'aa'.repeat(32)}` as Hex,
      resultDeadline: 100n,
      claimDeadline: 200n,
    },
    awardSignature: '0x' as Hex,
    ...extra,
  } satisfies VoucherJobRecord
}

describe('voucher jobs in the API', () => {
  it('tells the payment kind from the job id', () => {
    assert.equal(paymentOf(voucherJobId(requester, `0x${'01'.repeat(32)}`)), 'voucher')
    assert.equal(paymentOf(voucherJobId(requester, `0x${'01'.repeat(32)}`).toString()), 'voucher')
    assert.equal(paymentOf('7'), 'job-market')
    assert.equal(paymentOf(2n ** 255n - 1n), 'job-market')
    assert.equal(paymentOf('not a number'), 'job-market')
  })

  it('shows what is owed and vouchered in each phase, exactly', () => {
    const awarded = voucherJobView(record(1n, 'awarded'), vault)
    assert.equal(awarded.owed, undefined, 'nothing owed before the result verified')
    assert.equal(awarded.vouchered, 0n)
    assert.equal(awarded.maxCost, 3_000n)
    assert.equal(awarded.sequence, 1n)
    const verified = voucherJobView(record(2n, 'verified', { amount: HUGE, fuelUsed: 5n }), vault)
    assert.deepEqual([verified.owed, verified.vouchered], [HUGE, 0n])
    const vouchered = voucherJobView(
      record(3n, 'vouchered', {
        amount: HUGE,
        voucheredBy: { paidThroughSequence: 3n, cumulativeAmount: HUGE * 2n },
        voucheredAt: 42,
      }),
      vault,
    )
    assert.deepEqual([vouchered.owed, vouchered.vouchered], [HUGE, HUGE])
    assert.deepEqual(vouchered.voucher, {
      paidThroughSequence: 3n,
      cumulativeAmount: HUGE * 2n,
      signedAt: 42,
    })
    const rejected = voucherJobView(record(4n, 'rejected', { amount: 9n, reason: 'wrong receipt' }), vault)
    assert.deepEqual([rejected.owed, rejected.vouchered, rejected.reason], [undefined, 0n, 'wrong receipt'])
  })

  it('tells where the payment of a voucher job stands from the vault counters of its pair', () => {
    const vouchered = voucherJobView(
      record(2n, 'vouchered', { amount: 7n, voucheredBy: { paidThroughSequence: 2n, cumulativeAmount: 9n } }),
      vault,
    )
    const settle = (view: typeof vouchered, collected: bigint, paidThrough: bigint) => {
      const s = settleVoucherJobView(view, { collected, paidThrough })
      return [s.settlement, s.redeemed]
    }
    assert.deepEqual(settle(vouchered, 9n, 2n), ['redeemed', 7n])
    assert.deepEqual(settle(vouchered, 9n, 1n), ['vouchered', 0n], 'no redeemed voucher reached sequence 2')
    assert.deepEqual(settle(vouchered, 8n, 2n), ['vouchered', 0n], 'redeemed in part only')
    assert.deepEqual(
      [
        settleVoucherJobView(vouchered, undefined).settlement,
        settleVoucherJobView(vouchered, undefined).redeemed,
      ],
      ['vouchered', undefined],
      'vault unread: unknown',
    )
    const claim = { claimId: `0x${'cc'.repeat(32)}` as Hex, amount: 7n, seenAt: 1, disputed: false }
    const pending = voucherJobView(record(3n, 'verified', { amount: 7n, claim }), vault)
    assert.deepEqual(settle(pending, 0n, 0n), ['claim-pending', 0n])
    const paid = voucherJobView(
      record(3n, 'verified', { amount: 7n, claim: { ...claim, status: 'Paid' } }),
      vault,
    )
    assert.deepEqual(settle(paid, 7n, 0n), ['claimed', 7n])
    assert.deepEqual(settle(voucherJobView(record(4n, 'verified', { amount: 7n }), vault), 0n, 0n), [
      'owed',
      0n,
    ])
    assert.deepEqual(settle(voucherJobView(record(5n, 'awarded'), vault), 0n, 0n), ['awarded', 0n])
    assert.deepEqual(settle(voucherJobView(record(6n, 'rejected', { reason: 'x' }), vault), 0n, 0n), [
      'rejected',
      0n,
    ])
  })

  it('finds jobs with a claim not seen ended, and counts jobs by phase', () => {
    const store = openNodeStore()
    const claim = { claimId: `0x${'cc'.repeat(32)}` as Hex, amount: HUGE, seenAt: 1, disputed: false }
    store.vouchers.saveJob(record(1n, 'vouchered', { claim }))
    store.vouchers.saveJob(record(2n, 'vouchered', { claim: { ...claim, status: 'Paid', endedAt: 2 } }))
    store.vouchers.saveJob(record(3n, 'verified'))
    store.vouchers.saveJob({ ...record(4n, 'accepted'), role: 'provider' })
    const open = store.vouchers.jobsWithOpenClaims('requester')
    assert.deepEqual(
      open.map((j) => [j.award.sequence, j.claim?.amount]),
      [[1n, HUGE]],
    )
    assert.deepEqual(
      [...store.vouchers.phaseCounts('requester')],
      [
        ['verified', 1],
        ['vouchered', 2],
      ],
    )
    assert.deepEqual([...store.vouchers.phaseCounts('provider')], [['accepted', 1]])
    store.close()
  })
})

describe('voucher metrics', () => {
  const value = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
    assert.ok(metric, `${name} registered`)
    const found = metric.values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l),
    )
    return found?.value
  }

  it("puts the requester's vouchers, tokens, jobs and claims on /metrics, read at scrape time", async () => {
    const registry = new Registry()
    const stats = {
      vouchersSigned: 3,
      voucheredAmount: 1_234_567_000_000_000n,
      jobs: new Map([
        ['vouchered', 4],
        ['rejected', 1],
      ]),
      claimsSeen: 2,
      claimsDisputed: 1,
      claimsPaid: 1,
      gasUsed: 70_000n,
    }
    registerVoucherMetrics(registry, { requester: { stats: () => stats } })
    assert.equal(await value(registry, 'bazaar_voucher_requester_vouchers_signed_total'), 3)
    assert.equal(await value(registry, 'bazaar_voucher_requester_vouchered_tokens_total'), 0.001234567)
    assert.equal(await value(registry, 'bazaar_voucher_requester_jobs', { phase: 'vouchered' }), 4)
    assert.equal(await value(registry, 'bazaar_voucher_requester_claims_total', { outcome: 'disputed' }), 1)
    assert.equal(await value(registry, 'bazaar_voucher_requester_gas_total'), 70_000)
    // Counters follow the source: a later scrape shows the new value, not a sum of scrapes.
    stats.vouchersSigned = 5
    assert.equal(await value(registry, 'bazaar_voucher_requester_vouchers_signed_total'), 5)
    assert.equal(await value(registry, 'bazaar_voucher_requester_vouchers_signed_total'), 5)
    assert.match(await registry.metrics(), /# TYPE bazaar_voucher_requester_vouchers_signed_total counter/)
  })

  it("puts the provider's messages, refusals by reason, redemptions, claims and exposure on /metrics", async () => {
    const registry = new Registry()
    const stats: VoucherProviderStats = {
      vouchersHeld: 1,
      unredeemedValue: 0n,
      redemptions: 2,
      redeemedValue: 5n * 10n ** 17n,
      redeemGas: 124_000n,
      claims: 1,
      claimsPaid: 1,
      claimedValue: 1n,
      refused: new Map([['voucher-mismatch', 2]]),
      received: new Map([['voucher', 5]]),
      accepted: new Map([['voucher', 3]]),
      redeemedVouchers: 2,
      redeemedJobs: 150,
    }
    registerVoucherMetrics(registry, {
      provider: {
        stats,
        exposures: () => [{ requester, unvouchered: 25n * 10n ** 16n, unredeemed: 10n ** 18n }],
      },
    })
    const v = (name: string, labels?: Record<string, string>) => value(registry, name, labels)
    assert.equal(await v('bazaar_voucher_provider_messages_received_total', { type: 'voucher' }), 5)
    assert.equal(await v('bazaar_voucher_provider_messages_accepted_total', { type: 'voucher' }), 3)
    assert.equal(await v('bazaar_voucher_provider_refused_total', { reason: 'voucher-mismatch' }), 2)
    assert.equal(await v('bazaar_voucher_provider_redemptions_total'), 2)
    assert.equal(await v('bazaar_voucher_provider_redeemed_jobs_total'), 150)
    assert.equal(await v('bazaar_voucher_provider_redeemed_tokens_total'), 0.5)
    assert.equal(await v('bazaar_voucher_provider_redeem_gas_total'), 124_000)
    assert.equal(await v('bazaar_voucher_provider_claims_total', { outcome: 'filed' }), 1)
    assert.equal(await v('bazaar_voucher_provider_unvouchered_tokens', { requester }), 0.25)
    assert.equal(await v('bazaar_voucher_provider_unredeemed_tokens', { requester }), 1)
    assert.equal(tokensOf(1n), 1e-18)
  })
})
