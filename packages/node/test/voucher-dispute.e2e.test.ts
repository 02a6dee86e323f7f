/**
 * Disputed voucher claims judged by the VerificationCourt on real parts (embedded EVM, libp2p on
 * 127.0.0.1, SQLite, WASM; docs/vouchers.md): a provider paid by vouchers whose requester stays
 * silent claims a wrong result on-chain; the requester node disputes it through the court, sends
 * the job to the referee pool, and three other providers, drawn as referees, re-execute it and
 * vote: the claim pays nothing and the provider's stake is slashed. An honest claim the requester
 * disputes anyway is paid, and the requester loses its bond. A copy of the job naming peers that
 * serve nothing, pushed to the referees first, does not stop them from judging.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  createVerificationCourt,
  createVoucherVault,
  type VerificationCourt,
  VoucherVault,
} from '@bazaar/chain'
import { PROTOCOL_VOUCHER, parseTokens, voucherReplySchema } from '@bazaar/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import pino from 'pino'
import type { Address, Hex } from 'viem'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { VoucherJobRecord } from '../src/store/voucher-repo.ts'
import type { RefereeEvent } from '../src/verification/referee-duty.ts'
import { contractsOf, eventually, GWEI, settledClaimCase, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })
/** deployBazaar's court defaults for local markets (minCollateral 1 BZR): bond and referee fee. */
const BOND = parseTokens('1')
const FEE = parseTokens('1') / 10n
const REFEREES = ['p1', 'p2', 'p3']

describe('voucher path: claims disputed in the court', () => {
  let market: LocalMarket
  let providerVault: VoucherVault
  let court: VerificationCourt
  let requesterAddress: Address
  let providerAddress: Address
  const refereeEvents: { provider: string; event: RefereeEvent }[] = []

  before(async () => {
    market = await startLocalMarket({
      providers: [
        // p0 is the cheapest, so it wins every job; p1..p3 are the referees.
        { name: 'p0', cores: 2, memoryMb: 512, pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 } },
        ...REFEREES.map((name) => ({
          name,
          cores: 1,
          memoryMb: 256,
          pricing: { floorPerFuel: 2n * GWEI, utilizationMarkupPercent: 0 },
        })),
      ],
      logger,
      payment: 'voucher',
      verification: {
        pollMs: 200,
        watchProbability: 0,
        onRefereeEvent: (provider, event) => refereeEvents.push({ provider, event }),
      },
      vouchers: {
        // The provider never claims on its own here: the test files its claims, right or wrong.
        provider: { redeemThreshold: 10n ** 30n, claimAfterMs: 3_600_000, pollMs: 200 },
        requester: { depositAmount: parseTokens('5'), testWithholdVouchers: true, pollMs: 200 },
        vault: { claimWindow: 600 },
      },
    })
    requesterAddress = market.requester.chain.address
    providerAddress = market.providers[0]!.chain.address
    providerVault = createVoucherVault(await contractsOf(market, 2), market.deployment.vault)
    court = createVerificationCourt(market.admin, market.deployment.court)
  })

  after(async () => {
    await market?.stop()
  })

  /** Runs a job the requester verifies but never vouchers (silent); p0's record of it. */
  async function silentJob(name: string, text: string): Promise<VoucherJobRecord> {
    const outcome = await market.requester.requester!.run(await wordcountJob(name, text))
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    assert.equal(outcome.provider?.toLowerCase(), providerAddress.toLowerCase(), 'p0 ran it')
    return eventually(async () => {
      const record = market.providers[0]!.db.vouchers.jobById('provider', outcome.jobId.toString())
      return record?.phase === 'delivered' ? record : undefined
    }, 'p0 to record the delivery')
  }

  async function claim(job: VoucherJobRecord, fuelUsed: bigint, resultHash: Hex): Promise<Hex> {
    return (
      await providerVault.claim({ award: job.award, signature: job.awardSignature, fuelUsed, resultHash })
    ).claimId
  }

  it('a wrong claim of a silent requester pays nothing and the provider is slashed', async () => {
    const job = await silentJob('wrong-claim', 'one two three '.repeat(5))
    const vr = market.requester.vouchers.requester!
    const stakeBefore = await market.admin.stakeOf(providerAddress)
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const requesterBefore = await market.admin.balanceOf(requesterAddress)
    const escrowBefore = (await providerVault.channelOf(requesterAddress, providerAddress)).balance
    // Before the claim (its id is known in advance), each referee gets a copy of the job that
    // names a requester peer that does not exist and no provider: the same job (it matches the
    // claim's hashes), but nothing can be fetched through it. A referee must not give up on it.
    const ghost = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const claimIdAhead = VoucherVault.claimIdOf(requesterAddress, providerAddress, job.award.sequence)
    for (const referee of market.providers.slice(1)) {
      const reply = await market.requester.network.request(
        referee.network.peerId,
        PROTOCOL_VOUCHER,
        {
          type: 'voucher-dispute',
          claimId: claimIdAhead,
          announcement: { ...job.announcement!, requesterPeerId: ghost, requesterAddrs: [] },
        },
        voucherReplySchema,
      )
      assert.equal(reply.accepted, true)
    }
    // p0 claims more fuel than the job used, under a receipt hash that is not the job's result.
    const fuel = job.fuelUsed! + 12_345n
    const claimId = await claim(job, fuel, `0x${'ab'.repeat(32)}`)
    assert.equal(claimId, claimIdAhead)
    const amount = fuel * job.award.pricePerFuel
    const { case: judged, dispute } = await settledClaimCase(court, claimId, 120_000)
    assert.equal(judged.kind, 'VoucherClaim')
    assert.equal(judged.requester.toLowerCase(), requesterAddress.toLowerCase())
    assert.equal(vr.claims.disputed, 1, 'the requester disputed the claim it could not verify')
    // Three referees, none of them a party, re-executed the job and found the delivered result.
    assert.deepEqual(
      dispute.referees.map((r) => r.toLowerCase()).sort(),
      market.providers
        .slice(1)
        .map((p) => p.chain.address.toLowerCase())
        .sort(),
    )
    const commits = refereeEvents.filter(
      (e) => e.event.type === 'committed' && e.event.disputeId === judged.disputeId,
    )
    assert.equal(commits.length, 3)
    for (const { event } of commits) {
      assert.ok(event.type === 'committed')
      assert.equal(event.resultHash, job.resultHash, 'the referee computed the delivered receipt')
      assert.equal(event.fuelUsed, job.fuelUsed)
    }
    const vaultClaim = await providerVault.claimOf(claimId)
    assert.equal(vaultClaim.status, 'Rejected', 'the claim pays nothing')
    assert.equal(
      (await providerVault.channelOf(requesterAddress, providerAddress)).balance,
      escrowBefore,
      'the escrow is whole again',
    )
    assert.equal(await market.admin.balanceOf(providerAddress), walletBefore, 'p0 got nothing')
    assert.equal(await market.admin.stakeOf(providerAddress), stakeBefore - amount, 'p0 slashed by its claim')
    // The bond came back; the slash (less than three fees) went to the referees pro rata.
    const perReferee = amount / 3n
    assert.equal(
      await market.admin.balanceOf(requesterAddress),
      requesterBefore + (amount - 3n * perReferee),
      'the requester got its bond back (and the slash rest)',
    )
  })

  it('an honest claim disputed anyway is paid and the requester loses its bond', async () => {
    const job = await silentJob('honest-claim', 'four five '.repeat(7))
    const vr = market.requester.vouchers.requester!
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const requesterBefore = await market.admin.balanceOf(requesterAddress)
    const claimId = await claim(job, job.fuelUsed!, job.resultHash!)
    const amount = job.fuelUsed! * job.award.pricePerFuel
    // The requester's node lets it stand (it verified that very result)...
    await eventually(async () => (vr.claims.seen >= 2 ? true : undefined), 'the requester to see the claim')
    assert.equal((await providerVault.claimOf(claimId)).status, 'Pending')
    // ...but its operator disputes it anyway.
    const gasBefore = vr.gasUsed
    await vr.disputeClaim(claimId)
    const { case: judged } = await settledClaimCase(court, claimId, 120_000)
    assert.equal(judged.kind, 'VoucherClaim')
    assert.ok(vr.gasUsed > gasBefore)
    assert.equal((await providerVault.claimOf(claimId)).status, 'Paid', 'the honest claim is paid')
    assert.equal(
      await market.admin.balanceOf(providerAddress),
      walletBefore + amount + BOND - 3n * FEE,
      'p0 is paid its claim and the bond less the referees fees',
    )
    assert.equal(await market.admin.balanceOf(requesterAddress), requesterBefore - BOND, 'the bond is lost')
  })
})

describe('voucher path: a requester disputes an honest claim and goes silent', () => {
  let market: LocalMarket
  const refereeEvents: RefereeEvent[] = []

  before(async () => {
    market = await startLocalMarket({
      providers: [
        { name: 'p0', cores: 2, memoryMb: 512, pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 } },
        ...REFEREES.map((name) => ({
          name,
          cores: 1,
          memoryMb: 256,
          pricing: { floorPerFuel: 2n * GWEI, utilizationMarkupPercent: 0 },
        })),
      ],
      logger,
      payment: 'voucher',
      verification: {
        pollMs: 200,
        watchProbability: 0,
        onRefereeEvent: (_p, event) => refereeEvents.push(event),
      },
      vouchers: {
        // p0 claims on its own this time, soon after delivery.
        provider: { redeemThreshold: 10n ** 30n, claimAfterMs: 1_000, pollMs: 200 },
        requester: { depositAmount: parseTokens('5'), testWithholdVouchers: true, pollMs: 200 },
        vault: { claimWindow: 600 },
      },
    })
  })

  after(async () => {
    await market?.stop()
  })

  it('the provider sends the job to the referees and drives the case: the claim is paid', async () => {
    const providerAddress = market.providers[0]!.chain.address
    const requesterKey = await contractsOf(market, 1)
    const requesterAddress = requesterKey.address
    const providerVault = createVoucherVault(requesterKey, market.deployment.vault)
    const outcome = await market.requester.requester!.run(
      await wordcountJob('defended', 'six seven '.repeat(6)),
    )
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const claimed = await eventually(async () => {
      const record = market.providers[0]!.db.vouchers.jobById('provider', outcome.jobId.toString())
      return record?.phase === 'claimed' && record.claimId ? record : undefined
    }, 'p0 to claim the silent requester job')
    const claimId = claimed.claimId!
    const amount = claimed.fuelUsed! * claimed.award.pricePerFuel
    const walletBefore = await market.admin.balanceOf(providerAddress)
    const requesterBefore = await market.admin.balanceOf(requesterAddress)
    // The requester disputes with its own key, outside its node: it sends no job, draws nothing.
    await createVerificationCourt(requesterKey, market.deployment.court).disputeVoucherClaim(claimId)
    await eventually(
      async () => ((await providerVault.claimOf(claimId)).status === 'Paid' ? true : undefined),
      'the court to uphold the claim',
      120_000,
    )
    const commits = refereeEvents.filter((e) => e.type === 'committed')
    assert.equal(commits.length, 3, 'three referees re-executed the job p0 sent')
    for (const e of commits) assert.ok(e.type === 'committed' && e.resultHash === claimed.resultHash)
    assert.equal(
      await market.admin.balanceOf(providerAddress),
      walletBefore + amount + BOND - 3n * FEE,
      'p0 paid its claim and the bond less the referees fees',
    )
    assert.equal(await market.admin.balanceOf(requesterAddress), requesterBefore - BOND, 'the bond is lost')
  })
})
