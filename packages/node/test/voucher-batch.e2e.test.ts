/**
 * The voucher path end to end on real parts (docs/vouchers.md): a requester pays jobs by
 * cumulative vouchers of the VoucherVault, the provider redeems them in one batch, and nothing
 * creates a JobMarket job. Then what the provider refuses (typed, nothing paid twice), a provider
 * restart with unredeemed vouchers, and a thaw.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createVoucherVault, type VoucherVault } from '@bazaar/chain'
import { createExecutor } from '@bazaar/executor'
import {
  awardReplySchema,
  awardToWire,
  PROTOCOL_AWARD,
  PROTOCOL_VOUCHER,
  parseTokens,
  voucherJobId,
  voucherReplySchema,
  voucherToWire,
} from '@bazaar/protocol'
import pino from 'pino'
import { type Address, zeroHash } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { type BazaarNode, createBazaarNode } from '../src/bazaar-node.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { JobOutcome } from '../src/requester/requester-service.ts'
import { contractsOf, eventually, GWEI, jobMarketJobCount, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })

describe('voucher path: batch redemption, refusals, restart, thaw', () => {
  let market: LocalMarket
  let dir: string
  let provider: BazaarNode
  let requesterVault: VoucherVault
  let providerVault: VoucherVault
  let requesterAddress: Address
  let providerAddress: Address
  const outcomes: JobOutcome[] = []
  /** Job 7 (its voucher withheld, then delivered by hand). */
  const later: JobOutcome[] = []
  let restarted: BazaarNode | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-vouchers-'))
    market = await startLocalMarket({
      providers: [
        {
          name: 'p0',
          cores: 2,
          memoryMb: 512,
          pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 },
          dataDir: join(dir, 'p0'),
        },
      ],
      logger,
      payment: 'voucher',
      vouchers: {
        // Redeemed only when the test (or a thaw, or a revocation) says so.
        provider: { redeemThreshold: 10n ** 30n, redeemIntervalMs: 3_600_000, pollMs: 200 },
        requester: { depositAmount: parseTokens('5') },
      },
    })
    provider = market.providers[0]!
    requesterAddress = market.requester.chain.address
    providerAddress = provider.chain.address
    requesterVault = createVoucherVault(await contractsOf(market, 1), market.deployment.vault)
    providerVault = createVoucherVault(await contractsOf(market, 2), market.deployment.vault)
  })

  after(async () => {
    await restarted?.stop().catch(() => undefined)
    await market?.stop().catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  })

  it('runs 6 jobs by voucher, redeems them in one batch, and pays exactly sum(fuelUsed x price)', async () => {
    const requester = market.requester.requester!
    for (let i = 0; i < 6; i++) {
      outcomes.push(await requester.run(await wordcountJob(`vj-${i}`, `word ${i} `.repeat(5 + i))))
    }
    const due = outcomes.reduce((sum, o) => sum + o.fuelUsed * o.pricePerFuel!, 0n)
    for (const o of outcomes) {
      assert.equal(o.status, 'completed', JSON.stringify(o.error))
      assert.ok(o.fuelUsed > 0n)
      assert.equal(o.paid, o.fuelUsed * o.pricePerFuel!)
      assert.equal(o.provider?.toLowerCase(), providerAddress.toLowerCase())
      assert.equal(new TextDecoder().decode(o.output).trim().length > 0, true)
    }
    assert.equal(await jobMarketJobCount(market), 0n, 'no JobMarket job was created')
    const vp = provider.vouchers.provider!
    const held = await eventually(async () => {
      const latest = vp.latestVoucher(requesterAddress)
      return latest?.voucher.paidThroughSequence === 6n ? latest : undefined
    }, 'the voucher through job 6')
    assert.equal(held.voucher.cumulativeAmount, due)
    assert.equal(vp.stats.unredeemedValue, due)
    assert.equal(vp.stats.redemptions, 0)
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const escrowBefore = (await requesterVault.channelOf(requesterAddress, providerAddress)).balance
    const redeemed = await vp.redeem('test')
    assert.equal(redeemed.vouchers, 1)
    assert.equal(redeemed.paid, due)
    assert.equal(vp.stats.redemptions, 1)
    assert.equal(vp.stats.unredeemedValue, 0n)
    assert.equal(await market.admin.balanceOf(providerAddress), walletBefore + due)
    const channel = await requesterVault.channelOf(requesterAddress, providerAddress)
    assert.equal(channel.balance, escrowBefore - due)
    assert.equal(channel.collected, due)
    assert.equal(channel.paidThrough, 6n)
    // The requester deposited once (5 BZR covers six jobs at most 0.15 BZR each) and paid nothing else.
    assert.equal(await market.admin.balanceOf(requesterAddress), parseTokens('1000') - parseTokens('5'))
    assert.equal(channel.balance + channel.collected, parseTokens('5'))
    // Redeeming again pays nothing and sends nothing.
    assert.deepEqual(await vp.redeem('again'), { paid: 0n, gasUsed: 0n, vouchers: 0 })
  })

  it('refuses a short, forged or replayed voucher, a wrong sequence, a revoked signer and garbage, with typed codes', async () => {
    const vr = market.requester.vouchers.requester!
    const vp = provider.vouchers.provider!
    const send = (message: object) =>
      market.requester.network.request(provider.network.peerId, PROTOCOL_VOUCHER, message, voucherReplySchema)
    // Job 7 is delivered but its voucher withheld: the provider is owed its amount.
    vr.testWithholdVouchers = true
    const seventh = await market.requester.requester!.run(
      await wordcountJob('vj-7', 'seven words '.repeat(7)),
    )
    vr.testWithholdVouchers = false
    assert.equal(seventh.status, 'completed')
    later.push(seventh)
    const stored = market.requester.db.vouchers.channel('requester', requesterAddress, providerAddress)!
      .latest!
    assert.equal(stored.voucher.paidThroughSequence, 7n)
    assert.equal(vp.latestVoucher(requesterAddress)?.voucher.paidThroughSequence, 6n)

    const short = { ...stored.voucher, cumulativeAmount: stored.voucher.cumulativeAmount - 1n }
    const shortReply = await send({
      type: 'voucher',
      voucher: voucherToWire(short),
      signature: await requesterVault.signVoucher(short),
    })
    assert.deepEqual([shortReply.accepted, shortReply.code], [false, 'voucher-mismatch'])
    const over = { ...stored.voucher, cumulativeAmount: stored.voucher.cumulativeAmount + 1n }
    const overReply = await send({
      type: 'voucher',
      voucher: voucherToWire(over),
      signature: await requesterVault.signVoucher(over),
    })
    assert.deepEqual([overReply.accepted, overReply.code], [false, 'voucher-mismatch'])
    const wrongRoot = { ...stored.voucher, jobsRoot: zeroHash }
    const rootReply = await send({
      type: 'voucher',
      voucher: voucherToWire(wrongRoot),
      signature: await requesterVault.signVoucher(wrongRoot),
    })
    assert.deepEqual([rootReply.accepted, rootReply.code], [false, 'voucher-mismatch'])
    const forger = privateKeyToAccount(generatePrivateKey())
    const forged = await send({
      type: 'voucher',
      voucher: voucherToWire(stored.voucher),
      signature: await requesterVault.signVoucher(stored.voucher, forger),
    })
    assert.deepEqual([forged.accepted, forged.code], [false, 'bad-signature'])
    // The real one is accepted once; the same again is a replay.
    const good = await send({
      type: 'voucher',
      voucher: voucherToWire(stored.voucher),
      signature: stored.signature,
    })
    assert.equal(good.accepted, true, good.reason)
    const replay = await send({
      type: 'voucher',
      voucher: voucherToWire(stored.voucher),
      signature: stored.signature,
    })
    assert.deepEqual([replay.accepted, replay.code], [false, 'voucher-stale'])

    // Awards: open a real auction (the provider bids), then present awards the provider must refuse.
    const job = await wordcountJob('vj-crafted', 'crafted award')
    const jobId = voucherJobId(requesterAddress, `0x${'ee'.repeat(32)}`)
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
    assert.ok(auction.winner, 'the provider bid')
    const now = await requesterVault.nowSeconds()
    const award = {
      jobId,
      requester: requesterAddress,
      provider: providerAddress,
      sequence: 7n, // the pair is at 7: 7 is used (a gap above 7 would be accepted)
      pricePerFuel: BigInt(auction.winner.pricePerFuel),
      maxFuel: BigInt(job.descriptor.limits.fuel),
      specHash: job.specHash,
      resultDeadline: now + 60n,
      claimDeadline: now + 3_600n,
    }
    const awardMessage = async (terms: typeof award, signer?: ReturnType<typeof privateKeyToAccount>) => {
      // Deadlines from block time now (the test moves the clock).
      const at = await requesterVault.nowSeconds()
      const a = { ...terms, resultDeadline: at + 60n, claimDeadline: at + 3_600n }
      return {
        type: 'voucher-award',
        award: awardToWire(a),
        signature: await requesterVault.signAward(a, signer),
      }
    }
    const wrongSequence = await send(await awardMessage(award))
    assert.deepEqual([wrongSequence.accepted, wrongSequence.code], [false, 'wrong-sequence'])
    const stranger = await send(await awardMessage({ ...award, sequence: 8n }, forger))
    assert.deepEqual([stranger.accepted, stranger.code], [false, 'bad-signature'])
    const cheaper = await send(await awardMessage({ ...award, sequence: 8n, pricePerFuel: 1n }))
    assert.deepEqual([cheaper.accepted, cheaper.code], [false, 'terms-mismatch'])
    // The job id is signed in the award: an award for another job is not the one this bid is for.
    const otherJob = await send(await awardMessage({ ...award, sequence: 8n, jobId: jobId + 1n }))
    assert.deepEqual([otherJob.accepted, otherJob.code], [false, 'no-open-bid'])
    // A delegated key is accepted while live; once revoked (and the provider saw the event) it is refused.
    const delegate = privateKeyToAccount(generatePrivateKey())
    await requesterVault.authorizeSigner(delegate.address)
    await requesterVault.revokeSigner(delegate.address)
    await market.chain!.increaseTime(24 * 3600 + 1)
    await eventually(
      async () =>
        market.providers[0]!.db.vouchers.channel('provider', requesterAddress, providerAddress)
          ?.revokedSigners?.length
          ? true
          : undefined,
      'the provider to see the revocation',
    )
    const revoked = await send(await awardMessage({ ...award, sequence: 8n }, delegate))
    assert.deepEqual([revoked.accepted, revoked.code], [false, 'signer-revoked'])
    // Garbage on the protocol is refused before any handler runs.
    await assert.rejects(send({ type: 'voucher-award', award: { jobId: 'x' }, signature: 'nope' }))
    // Nothing was accepted: the pair is still at job 7, and nothing was paid twice.
    assert.equal(
      market.providers[0]!.db.vouchers.channel('provider', requesterAddress, providerAddress)!.lastSequence,
      7n,
    )
    assert.equal(vp.stats.refused.get('wrong-sequence'), 1)
    const channel = await providerVault.channelOf(requesterAddress, providerAddress)
    assert.equal(
      channel.collected,
      outcomes.reduce((sum, o) => sum + o.paid, 0n),
    )
    // Release the bid's capacity.
    await market.requester.network
      .request(
        provider.network.peerId,
        PROTOCOL_AWARD,
        { type: 'bid-declined', jobId: jobId.toString() },
        awardReplySchema,
      )
      .catch(() => undefined)
  })

  it('redeems unredeemed vouchers after a provider restart', async () => {
    const vp = provider.vouchers.provider!
    const eighth = await market.requester.requester!.run(await wordcountJob('vj-8', 'eight '.repeat(8)))
    assert.equal(eighth.status, 'completed', JSON.stringify(eighth.error))
    const latest = await eventually(async () => {
      const v = vp.latestVoucher(requesterAddress)
      return v?.voucher.paidThroughSequence === 8n ? v : undefined
    }, 'the voucher through job 8')
    const collected = (await providerVault.channelOf(requesterAddress, providerAddress)).collected
    const unredeemed = latest.voucher.cumulativeAmount - collected
    assert.equal(
      collected,
      outcomes.reduce((sum, o) => sum + o.paid, 0n),
    )
    assert.equal(unredeemed, later[0]!.paid + eighth.paid)
    assert.ok(unredeemed > 0n)
    const wallet = await market.admin.balanceOf(providerAddress)
    await provider.stop()
    const executor = createExecutor({ workers: 1 })
    restarted = await createBazaarNode({
      name: 'p0-restarted',
      contracts: await contractsOf(market, 2),
      logger,
      provider: {
        capacity: { cores: 1, memoryMb: 512, runtimes: ['wasm'] },
        pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 },
        runner: executor,
      },
      dataDir: join(dir, 'p0'),
      vouchers: { vault: market.deployment.vault, provider: { redeemThreshold: 1n, pollMs: 200 } },
    })
    const restartedVp = restarted.vouchers.provider!
    await eventually(
      async () =>
        (await providerVault.channelOf(requesterAddress, providerAddress)).collected > collected
          ? true
          : undefined,
      'the restarted provider to redeem',
    )
    const after = await providerVault.channelOf(requesterAddress, providerAddress)
    assert.equal(after.collected, latest.voucher.cumulativeAmount)
    assert.equal(after.paidThrough, 8n)
    assert.equal(await market.admin.balanceOf(providerAddress), wallet + unredeemed)
    assert.equal(restartedVp.stats.redemptions, 1)
    await restarted.stop()
    restarted = undefined
    await executor.close()
  })
})
