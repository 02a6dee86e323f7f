/**
 * The voucher path's fallbacks on real parts (docs/vouchers.md): a requester that never sends
 * its vouchers has its jobs claimed on-chain with the signed awards and paid after the claim
 * window, exactly once even when the voucher turns up later; a requester that starts a thaw gets
 * no more work from the provider, which redeems what it holds at once.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ChainError, createVoucherVault, type VoucherVault } from '@bazaar/chain'
import {
  awardToWire,
  BaseError,
  PROTOCOL_VOUCHER,
  parseTokens,
  voucherJobId,
  voucherReplySchema,
  voucherToWire,
} from '@bazaar/protocol'
import pino from 'pino'
import type { Address } from 'viem'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { JobOutcome } from '../src/requester/requester-service.ts'
import { contractsOf, eventually, GWEI, jobMarketJobCount, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })
const CLAIM_WINDOW = 600

describe('voucher path: silent requester and thaw', () => {
  let market: LocalMarket
  let requesterVault: VoucherVault
  let providerVault: VoucherVault
  let requesterAddress: Address
  let providerAddress: Address
  const silent: JobOutcome[] = []

  before(async () => {
    market = await startLocalMarket({
      providers: [
        { name: 'p0', cores: 2, memoryMb: 512, pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 } },
      ],
      logger,
      payment: 'voucher',
      vouchers: {
        provider: { redeemThreshold: 10n ** 30n, claimAfterMs: 2_000, pollMs: 200 },
        requester: { depositAmount: parseTokens('5'), testWithholdVouchers: true, pollMs: 200 },
        vault: { claimWindow: CLAIM_WINDOW },
      },
    })
    requesterAddress = market.requester.chain.address
    providerAddress = market.providers[0]!.chain.address
    requesterVault = createVoucherVault(await contractsOf(market, 1), market.deployment.vault)
    providerVault = createVoucherVault(await contractsOf(market, 2), market.deployment.vault)
  })

  after(async () => {
    await market?.stop()
  })

  it('claims the jobs of a silent requester and is paid once, even when the voucher comes later', async () => {
    const vp = market.providers[0]!.vouchers.provider!
    for (let i = 0; i < 2; i++) {
      silent.push(
        await market.requester.requester!.run(await wordcountJob(`silent-${i}`, `quiet ${i} `.repeat(4 + i))),
      )
    }
    const due = silent.reduce((sum, o) => sum + o.paid, 0n)
    for (const o of silent) assert.equal(o.status, 'completed', JSON.stringify(o.error))
    assert.equal(vp.latestVoucher(requesterAddress), undefined, 'no voucher reached the provider')
    const providerDb = market.providers[0]!.db.vouchers
    await eventually(
      async () => (providerDb.jobsInPhases('provider', ['claimed']).length === 2 ? true : undefined),
      'both jobs claimed on-chain',
    )
    const locked = await providerVault.channelOf(requesterAddress, providerAddress)
    assert.equal(locked.balance, parseTokens('5') - due, 'the claims lock exactly what was delivered')
    assert.equal(locked.collected, 0n)
    // The requester's time to dispute passes; the provider finalizes both claims.
    await market.chain!.increaseTime(CLAIM_WINDOW + 1)
    await eventually(async () => (vp.stats.claimsPaid === 2 ? true : undefined), 'both claims paid')
    assert.equal(vp.stats.claims, 2)
    // The requester saw both claims, for the results it had verified, and let them stand.
    const vr = market.requester.vouchers.requester!
    await eventually(
      async () => (vr.claims.seen === 2 ? true : undefined),
      'the requester to see both claims',
    )
    assert.equal(vr.claims.disputed, 0)
    assert.equal(vp.stats.claimedValue, due)
    // What the requester's user sees (GET /v1/jobs/:id): each job's timeline has the claim and,
    // once the requester saw it paid, its end; the job's voucher view says the same, exactly.
    for (const o of silent) {
      const events = await eventually(async () => {
        const timeline = market.requester.db.requesterJobs.events<{
          type: string
          amount?: bigint
          status?: string
          disputed?: boolean
        }>(o.jobId)
        return timeline.some((e) => e.type === 'claim-finalized') ? timeline : undefined
      }, 'the claim end on the timeline')
      const filed = events.find((e) => e.type === 'claim-filed')!
      assert.deepEqual([filed.amount, filed.disputed], [o.paid, false])
      const ended = events.find((e) => e.type === 'claim-finalized')!
      assert.deepEqual([ended.status, ended.amount], ['Paid', o.paid])
      const view = vr.describe(o.jobId.toString())!
      assert.deepEqual([view.owed, view.claim?.amount, view.claim?.status], [o.paid, o.paid, 'Paid'])
    }
    assert.deepEqual([vr.stats().claimsSeen, vr.stats().claimsDisputed, vr.stats().claimsPaid], [2, 0, 2])
    const wallet = await market.admin.balanceOf(providerAddress)
    assert.equal(wallet, due, 'the provider (which staked all it was minted) holds exactly what it earned')
    const paid = await providerVault.channelOf(requesterAddress, providerAddress)
    assert.equal(paid.collected, due)
    assert.equal(paid.balance, parseTokens('5') - due)

    // The withheld voucher turns up: accepted (it equals what was delivered) but pays nothing more.
    const stored = market.requester.db.vouchers.channel('requester', requesterAddress, providerAddress)!
      .latest!
    assert.equal(stored.voucher.cumulativeAmount, due)
    const reply = await market.requester.network.request(
      market.providers[0]!.network.peerId,
      PROTOCOL_VOUCHER,
      { type: 'voucher', voucher: voucherToWire(stored.voucher), signature: stored.signature },
      voucherReplySchema,
    )
    assert.equal(reply.accepted, true, reply.reason)
    assert.deepEqual(await vp.redeem('late voucher'), { paid: 0n, gasUsed: 0n, vouchers: 0 })
    await assert.rejects(
      providerVault.redeem([{ voucher: stored.voucher, signature: stored.signature }]),
      (err) => {
        assert.ok(err instanceof ChainError)
        assert.equal(err.errorName, 'Vault__NothingToRedeem')
        return true
      },
    )
    assert.equal(await market.admin.balanceOf(providerAddress), wallet)
    assert.equal(await jobMarketJobCount(market), 0n)
  })

  it('stops taking work from a thawing requester and redeems what it holds at once', async () => {
    const vr = market.requester.vouchers.requester!
    const vp = market.providers[0]!.vouchers.provider!
    vr.testWithholdVouchers = false
    const third = await market.requester.requester!.run(await wordcountJob('before-thaw', 'three more words'))
    assert.equal(third.status, 'completed', JSON.stringify(third.error))
    const held = await eventually(async () => {
      const v = vp.latestVoucher(requesterAddress)
      return v?.voucher.paidThroughSequence === 3n ? v : undefined
    }, 'the voucher through job 3')
    const before = await providerVault.channelOf(requesterAddress, providerAddress)
    assert.equal(
      held.voucher.cumulativeAmount - before.collected,
      third.paid,
      'held, not redeemed (threshold)',
    )
    const wallet = await market.admin.balanceOf(providerAddress)

    await requesterVault.startThaw(providerAddress, before.balance)
    await eventually(
      async () =>
        (await providerVault.channelOf(requesterAddress, providerAddress)).collected ===
        held.voucher.cumulativeAmount
          ? true
          : undefined,
      'the provider to redeem on the thaw',
    )
    assert.equal(await market.admin.balanceOf(providerAddress), wallet + third.paid)
    assert.equal(vp.stats.redemptions, 1)

    // The requester node sees its own thaw and awards nothing (and deposits nothing).
    const walletBefore = await market.admin.balanceOf(requesterAddress)
    await assert.rejects(
      market.requester.requester!.run(await wordcountJob('after-thaw', 'no more work')),
      (err: unknown) => {
        assert.ok(err instanceof BaseError)
        assert.equal(err.details.refusal, 'thawing')
        return true
      },
    )
    assert.equal(
      await market.admin.balanceOf(requesterAddress),
      walletBefore,
      'no deposit into a thawing escrow',
    )
    // An award signed anyway (another tool with the same key) is refused by the provider.
    const job = await wordcountJob('after-thaw-2', 'still no work')
    const jobId = voucherJobId(requesterAddress, `0x${'dd'.repeat(32)}`)
    const send = (message: object) =>
      market.requester.network.request(
        market.providers[0]!.network.peerId,
        PROTOCOL_VOUCHER,
        message,
        voucherReplySchema,
      )
    const auction = await market.requester.requester!.runAuction(job, jobId, {
      emit: () => undefined,
      publish: async (announcement) => {
        await send({
          type: 'voucher-job',
          payment: { kind: 'voucher', vault: market.deployment.vault },
          announcement,
        })
      },
    })
    assert.ok(auction.winner, 'the provider still bids')
    const now = await requesterVault.nowSeconds()
    const award = {
      jobId,
      requester: requesterAddress,
      provider: providerAddress,
      sequence: 4n,
      pricePerFuel: BigInt(auction.winner.pricePerFuel),
      maxFuel: BigInt(job.descriptor.limits.fuel),
      specHash: job.specHash,
      resultDeadline: now + 60n,
      claimDeadline: now + 3_600n,
    }
    const reply = await send({
      type: 'voucher-award',
      award: awardToWire(award),
      signature: await requesterVault.signAward(award),
    })
    assert.deepEqual([reply.accepted, reply.code], [false, 'thawing'])
    assert.equal(vp.stats.refused.get('thawing'), 1)
    assert.equal(await market.admin.balanceOf(providerAddress), wallet + third.paid, 'nothing more paid')
  })

  it('disputes a claim whose award it does not know and whose result it cannot check', async () => {
    const vr = market.requester.vouchers.requester!
    const now = await requesterVault.nowSeconds()
    // Signed with the requester's key (say, by an earlier install) but unknown to this node.
    const award = {
      jobId: 2n ** 255n + 9n,
      requester: requesterAddress,
      provider: providerAddress,
      sequence: 9n,
      pricePerFuel: GWEI,
      maxFuel: 1_000n,
      specHash: `0x${'12'.repeat(32)}` as const,
      resultDeadline: now + 60n,
      claimDeadline: now + 3_600n,
    }
    const claim = await providerVault.claim({
      award,
      signature: await requesterVault.signAward(award),
      fuelUsed: 500n,
      resultHash: `0x${'77'.repeat(32)}`,
    })
    // Disputed through the court; with no referee pool here (verification off) nobody can judge
    // it, so the requester's node resolves it at once without a majority: back to escrow.
    await eventually(
      async () =>
        ['Disputed', 'Rejected'].includes((await providerVault.claimOf(claim.claimId)).status) &&
        vr.claims.disputed === 1
          ? true
          : undefined,
      'the requester to dispute the claim',
    )
    const wallet = await market.admin.balanceOf(providerAddress)
    await market.chain!.increaseTime(CLAIM_WINDOW + 1)
    await assert.rejects(providerVault.finalizeClaim(claim.claimId), /Vault__InvalidClaimStatus/)
    assert.equal(await market.admin.balanceOf(providerAddress), wallet, 'a disputed claim pays nothing')
  })
})
