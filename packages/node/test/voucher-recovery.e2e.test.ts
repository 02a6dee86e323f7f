/**
 * The voucher path recovers from one lost award and one bad job (issue #9, docs/vouchers.md
 * "Lost awards" and "Closed jobs"), on real parts (embedded EVM, libp2p on 127.0.0.1, SQLite,
 * WASM): a lost award reply or request does not stop the (requester, provider) pair, an award
 * lost for good closes at its claim deadline, and a job whose result did not verify no longer
 * keeps every later job out of the vouchers. Balances exact, nothing paid twice.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVoucherVault, type VoucherVault } from '@bazaar/chain'
import { parseTokens } from '@bazaar/protocol'
import pino from 'pino'
import type { Address } from 'viem'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { WasmRunner } from '../src/provider/provider-service.ts'
import type { JobOutcome } from '../src/requester/requester-service.ts'
import { contractsOf, eventually, GWEI, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })
/** The requester's claim margin after the result deadline (the provider wants at least 60 s). */
const CLAIM_MARGIN = 120n
/** Past every award's claim deadline: execution window (60 s) + margin + slack. */
const PAST_CLAIM_DEADLINES = 60 + Number(CLAIM_MARGIN) + 30

/** Counts the provider's runs (a job re-awarded must not run twice). */
function counting(runs: { n: number }) {
  return (runner: WasmRunner): WasmRunner => ({
    run(job, opts) {
      runs.n++
      return runner.run(job, opts)
    },
  })
}

async function startMarket(wrapRunner: (runner: WasmRunner) => WasmRunner): Promise<LocalMarket> {
  return startLocalMarket({
    providers: [
      {
        name: 'p0',
        cores: 2,
        memoryMb: 512,
        pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 },
        wrapRunner,
      },
    ],
    logger,
    payment: 'voucher',
    vouchers: {
      // Redeemed when the test says so; nothing claimed on-chain during the test.
      provider: { redeemThreshold: 10n ** 30n, claimAfterMs: 3_600_000, pollMs: 200 },
      requester: { depositAmount: parseTokens('5'), claimMarginSeconds: CLAIM_MARGIN, pollMs: 200 },
    },
  })
}

describe('voucher path: lost awards do not stop the pair', () => {
  let market: LocalMarket
  let vault: VoucherVault
  let requesterAddress: Address
  let providerAddress: Address
  const runs = { n: 0 }

  before(async () => {
    market = await startMarket(counting(runs))
    requesterAddress = market.requester.chain.address
    providerAddress = market.providers[0]!.chain.address
    vault = createVoucherVault(await contractsOf(market, 1), market.deployment.vault)
  })

  after(async () => {
    await market?.stop()
  })

  it('a lost reply, a lost request and an award lost for good: every later job vouchered and redeemed, exact', async () => {
    const requester = market.requester.requester!
    const vp = market.providers[0]!.vouchers.provider!
    const run = async (i: number) =>
      requester.run(await wordcountJob(`lost-${i}`, `lost ${i} `.repeat(4 + i)))
    const outcomes: JobOutcome[] = []
    outcomes.push(await run(1))
    // Award 2 is taken but its reply is lost: the requester sends it again, the provider answers
    // as before and does not run it twice.
    vp.testLoseAwards = ['reply']
    outcomes.push(await run(2))
    outcomes.push(await run(3))
    // Award 4 is lost on the way: the copy sent again reaches the provider.
    vp.testLoseAwards = ['request']
    outcomes.push(await run(4))
    for (const o of outcomes) assert.equal(o.status, 'completed', JSON.stringify(o.error))
    assert.equal(vp.testLoseAwards.length, 0, 'both losses happened')
    assert.equal(runs.n, 4, 'each job ran once')
    // Award 5 never arrives (the first send, its 3 re-sends, and the re-send before award 6).
    vp.testLoseAwards = ['request', 'request', 'request', 'request', 'request']
    const lost = await run(5).then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.ok(lost instanceof Error, 'job 5 could not be awarded')
    const sixth = await run(6)
    assert.equal(sixth.status, 'completed', JSON.stringify(sixth.error))
    assert.equal(vp.testLoseAwards.length, 0)
    assert.equal(runs.n, 5, 'job 5 never ran')
    const providerDb = market.providers[0]!.db.vouchers
    assert.deepEqual(
      providerDb.jobsOf('provider', requesterAddress, providerAddress).map((j) => j.award.sequence),
      [1n, 2n, 3n, 4n, 6n],
      'the provider took award 6 over the gap at 5',
    )
    // The vouchers stop before 5 until it is closed: its claim deadline passes with no claim.
    const held = await eventually(async () => {
      const latest = vp.latestVoucher(requesterAddress)
      return latest?.voucher.paidThroughSequence === 4n ? latest : undefined
    }, 'the voucher through job 4')
    const dueBefore = outcomes.reduce((sum, o) => sum + o.paid, 0n)
    assert.equal(held.voucher.cumulativeAmount, dueBefore)
    await market.chain!.increaseTime(PAST_CLAIM_DEADLINES)
    const all = [...outcomes, sixth]
    const due = all.reduce((sum, o) => sum + o.paid, 0n)
    const through6 = await eventually(async () => {
      const latest = vp.latestVoucher(requesterAddress)
      return latest?.voucher.paidThroughSequence === 6n ? latest : undefined
    }, 'the voucher through job 6, over the lost award 5')
    assert.equal(through6.voucher.cumulativeAmount, due, 'job 5 counts 0')
    const fifth = market.requester.db.vouchers.job('requester', requesterAddress, providerAddress, 5n)!
    assert.deepEqual([fifth.phase, fifth.reason], ['rejected', 'closed: claim-deadline'])
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const escrowBefore = (await vault.channelOf(requesterAddress, providerAddress)).balance
    const redeemed = await vp.redeem('test')
    assert.equal(redeemed.paid, due)
    assert.equal(await market.admin.balanceOf(providerAddress), walletBefore + due)
    const channel = await vault.channelOf(requesterAddress, providerAddress)
    assert.equal(channel.balance, escrowBefore - due)
    assert.deepEqual([channel.collected, channel.paidThrough], [due, 6n])
    assert.equal(channel.balance + channel.collected, parseTokens('5'), 'one deposit, nothing else moved')
    // The pair keeps working after the gap: job 7 is vouchered at once.
    const seventh = await run(7)
    assert.equal(seventh.status, 'completed', JSON.stringify(seventh.error))
    await eventually(async () => {
      const latest = vp.latestVoucher(requesterAddress)
      return latest?.voucher.paidThroughSequence === 7n &&
        latest.voucher.cumulativeAmount === due + seventh.paid
        ? true
        : undefined
    }, 'the voucher through job 7')
    assert.equal((await vp.redeem('again')).paid, seventh.paid)
  })
})

describe('voucher path: one bad job does not keep later jobs out of the vouchers', () => {
  let market: LocalMarket
  let vault: VoucherVault
  let requesterAddress: Address
  let providerAddress: Address
  const runs = { n: 0 }

  before(async () => {
    // The second job's result bills more fuel than the award allows: it does not verify.
    market = await startMarket((runner) =>
      counting(runs)({
        async run(job, opts) {
          const result = await runner.run(job, opts)
          return runs.n === 2 ? { ...result, fuelUsed: job.limits.fuel + 1n } : result
        },
      }),
    )
    requesterAddress = market.requester.chain.address
    providerAddress = market.providers[0]!.chain.address
    vault = createVoucherVault(await contractsOf(market, 1), market.deployment.vault)
  })

  after(async () => {
    await market?.stop()
  })

  it('vouchers jobs after a rejected one once it is closed (claim deadline passed, no claim), exact', async () => {
    const requester = market.requester.requester!
    const vp = market.providers[0]!.vouchers.provider!
    const outcomes: JobOutcome[] = []
    for (let i = 1; i <= 4; i++) {
      outcomes.push(await requester.run(await wordcountJob(`bad-${i}`, `bad ${i} `.repeat(3 + i))))
    }
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['completed', 'unverified', 'completed', 'completed'],
    )
    const good = outcomes.filter((o) => o.status === 'completed')
    const due = good.reduce((sum, o) => sum + o.paid, 0n)
    assert.ok(due > 0n)
    // Jobs 3 and 4 are verified, but the run stops at the rejected job 2 while it is open.
    await eventually(
      async () => (vp.latestVoucher(requesterAddress)?.voucher.paidThroughSequence === 1n ? true : undefined),
      'the voucher through job 1',
    )
    const jobs = market.requester.db.vouchers.jobsOf('requester', requesterAddress, providerAddress)
    assert.deepEqual(
      jobs.map((j) => j.phase),
      ['vouchered', 'rejected', 'verified', 'verified'],
    )
    // Job 2 closes once its claim deadline passes with no claim: the next voucher covers 2..4.
    await market.chain!.increaseTime(PAST_CLAIM_DEADLINES)
    const held = await eventually(async () => {
      const latest = vp.latestVoucher(requesterAddress)
      return latest?.voucher.paidThroughSequence === 4n ? latest : undefined
    }, 'the voucher through job 4')
    assert.equal(held.voucher.cumulativeAmount, due, 'job 2 counts 0, the others exactly')
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const redeemed = await vp.redeem('test')
    assert.equal(redeemed.paid, due)
    assert.equal(await market.admin.balanceOf(providerAddress), walletBefore + due)
    const channel = await vault.channelOf(requesterAddress, providerAddress)
    assert.deepEqual([channel.collected, channel.paidThrough], [due, 4n])
    assert.equal(channel.balance, parseTokens('5') - due)
    // Redeeming again pays nothing; no job was paid twice.
    assert.equal((await vp.redeem('again')).paid, 0n)
    assert.equal(vp.stats.refused.get('voucher-mismatch') ?? 0, 0, 'both sides read the closed job alike')
  })
})
