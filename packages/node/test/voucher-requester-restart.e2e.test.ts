/**
 * The requester's side of voucher claims survives a restart (docs/vouchers.md, issue #9), on real
 * parts: embedded EVM, libp2p on 127.0.0.1, SQLite in a data dir, WASM. A requester node pays a
 * job by voucher and stops; while it is down the provider files a WRONG claim for the job (more
 * fuel, a receipt hash that is not the job's). Restarted on the same data dir, the node reads the
 * blocks it missed (from its stored cursor, a few blocks per query), disputes the claim, sends
 * the job to the referee pool and drives the case: three referees re-execute it, the claim pays
 * nothing and the provider's stake is slashed by it. Then a node stopped right after its dispute
 * transaction (before sending the job or drawing referees) takes the case up again after a
 * restart and drives it to the same verdict. Token balances are checked exactly.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createVerificationCourt, createVoucherVault, type VerificationCourt } from '@bazaar/chain'
import { parseTokens } from '@bazaar/protocol'
import pino from 'pino'
import type { Address, Hex } from 'viem'
import { type BazaarNode, createBazaarNode } from '../src/bazaar-node.ts'
import { loadOrCreatePeerKey } from '../src/daemon/peer-key.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { VoucherJobRecord } from '../src/store/voucher-repo.ts'
import type { RefereeEvent } from '../src/verification/referee-duty.ts'
import { contractsOf, eventually, GWEI, settledClaimCase, wordcountJob } from './voucher-fixture.ts'

const logger = pino({ level: 'silent' })

/** A free TCP port on 127.0.0.1, so the restarted node listens where it did. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('voucher requester: claims and disputes across a restart', () => {
  let market: LocalMarket
  let dir: string
  let port: number
  let node: BazaarNode | undefined
  let court: VerificationCourt
  let requesterAddress: Address
  const refereeEvents: { provider: string; event: RefereeEvent }[] = []

  /** The requester under test: the deployer's account, paying by voucher, with a data dir and a court. */
  const startRequester = async (options: { stopAfterDispute?: boolean } = {}): Promise<BazaarNode> => {
    const started = await createBazaarNode({
      name: 'restarting-requester',
      contracts: await contractsOf(market, 0),
      logger,
      peerKey: await loadOrCreatePeerKey(dir),
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      bootstrap: market.providers[0]!.network.multiaddrs(),
      requester: {},
      dataDir: dir,
      court: { address: market.deployment.court },
      vouchers: {
        vault: market.deployment.vault,
        payment: 'voucher',
        requester: {
          depositAmount: parseTokens('5'),
          pollMs: 200,
          // A few blocks per log query, so catching up after the outage takes several.
          scanChunkBlocks: 3n,
          ...(options.stopAfterDispute ? { testStopAfterDispute: true } : {}),
        },
      },
    })
    node = started
    return started
  }
  const stopRequester = async () => {
    await node?.stop()
    node = undefined
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-voucher-restart-'))
    await mkdir(dir, { recursive: true })
    port = await freePort()
    market = await startLocalMarket({
      providers: [
        // p0 is the cheapest, so it wins the jobs; p1..p3 are the referees.
        { name: 'p0', cores: 2, memoryMb: 512, pricing: { floorPerFuel: GWEI, utilizationMarkupPercent: 0 } },
        ...['p1', 'p2', 'p3'].map((name) => ({
          name,
          cores: 1,
          memoryMb: 256,
          pricing: { floorPerFuel: 2n * GWEI, utilizationMarkupPercent: 0 },
        })),
      ],
      logger,
      verification: {
        pollMs: 200,
        watchProbability: 0,
        onRefereeEvent: (provider, event) => refereeEvents.push({ provider, event }),
      },
      vouchers: {
        // The providers never claim or redeem on their own here: the test files the claims.
        provider: { redeemThreshold: 10n ** 30n, claimAfterMs: 3_600_000, pollMs: 200 },
        vault: { claimWindow: 600 },
      },
    })
    requesterAddress = (await contractsOf(market, 0)).address
    // Escrow deposits and the dispute bonds come from here.
    await market.admin.mint(requesterAddress, parseTokens('100'))
    court = createVerificationCourt(market.admin, market.deployment.court)
  })

  after(async () => {
    await stopRequester()
    await market?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** Runs a job through the requester node; the winner's record of it, once delivered. */
  async function deliveredJob(name: string, text: string) {
    const requester = node!
    await eventually(
      async () => ((requester.requester?.offers.size ?? 0) >= 4 ? true : undefined),
      "the providers' offers",
    )
    const outcome = await requester.requester!.run(await wordcountJob(name, text))
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const index = market.providers.findIndex(
      (p) => p.chain.address.toLowerCase() === outcome.provider?.toLowerCase(),
    )
    assert.ok(index >= 0, 'a market provider ran it')
    const record = await eventually(async () => {
      const r = market.providers[index]!.db.vouchers.jobById('provider', outcome.jobId.toString())
      return r?.resultHash && r.fuelUsed !== undefined ? r : undefined
    }, 'the provider to record the delivery')
    return { index, record, jobId: outcome.jobId.toString() }
  }

  /** The provider's wrong claim for `record`: 12 345 more fuel, under a hash that is not the result. */
  async function wrongClaim(index: number, record: VoucherJobRecord) {
    const vault = createVoucherVault(await contractsOf(market, 2 + index), market.deployment.vault)
    const fuelUsed = record.fuelUsed! + 12_345n
    const { claimId } = await vault.claim({
      award: record.award,
      signature: record.awardSignature,
      fuelUsed,
      resultHash: `0x${'ab'.repeat(32)}`,
    })
    return { claimId, amount: fuelUsed * record.award.pricePerFuel, vault }
  }

  /** Mines `n` empty blocks (the chain moves on while the requester is down). */
  async function mine(n: number) {
    for (let i = 0; i < n; i++) await market.chain!.provider.request({ method: 'evm_mine', params: [] })
  }

  /** Balances the verdict moves, read exactly. */
  async function balances(providerAddress: Address) {
    return {
      stake: await market.admin.stakeOf(providerAddress),
      provider: await market.admin.balanceOf(providerAddress),
      requester: await market.admin.balanceOf(requesterAddress),
      escrow: (
        await createVoucherVault(market.admin, market.deployment.vault).channelOf(
          requesterAddress,
          providerAddress,
        )
      ).balance,
    }
  }

  /** After a wrong claim is judged: it paid nothing, the provider lost its claim from its stake. */
  async function assertJudgedWrong(
    claimId: Hex,
    amount: bigint,
    providerIndex: number,
    before: Awaited<ReturnType<typeof balances>>,
    expectedCaseId: bigint,
  ) {
    const providerAddress = market.providers[providerIndex]!.chain.address
    const { caseId, case: judged, dispute } = await settledClaimCase(court, claimId)
    assert.equal(caseId, expectedCaseId, 'the case the requester recorded')
    assert.equal(judged.kind, 'VoucherClaim')
    assert.equal(judged.requester.toLowerCase(), requesterAddress.toLowerCase())
    const referees = market.providers
      .filter((_, i) => i !== providerIndex)
      .map((p) => p.chain.address.toLowerCase())
    assert.deepEqual(dispute.referees.map((r) => r.toLowerCase()).sort(), referees.sort())
    const commits = refereeEvents.filter(
      (e) => e.event.type === 'committed' && e.event.disputeId === judged.disputeId,
    )
    assert.equal(commits.length, 3, 'three referees re-executed the job')
    const vault = createVoucherVault(market.admin, market.deployment.vault)
    assert.equal((await vault.claimOf(claimId)).status, 'Rejected', 'the claim pays nothing')
    const now = await balances(providerAddress)
    assert.equal(now.escrow, before.escrow, 'the escrow is whole')
    assert.equal(now.provider, before.provider, 'the provider got nothing')
    assert.equal(now.stake, before.stake - amount, 'the provider is slashed by its claim')
    // The bond came back; the slash (less than three referee fees) went to the referees pro rata.
    assert.equal(
      now.requester,
      before.requester + (amount - 3n * (amount / 3n)),
      'bond back, plus the slash rest',
    )
  }

  it('judges a wrong claim filed while it was down: disputed after the restart, nothing paid, provider slashed', async () => {
    await startRequester()
    const { index, record, jobId } = await deliveredJob('claimed-while-down', 'one two three '.repeat(5))
    await stopRequester()
    const providerAddress = market.providers[index]!.chain.address
    const before = await balances(providerAddress)
    // Down: the provider files a wrong claim, and the chain moves on.
    await mine(4)
    const { claimId, amount } = await wrongClaim(index, record)
    await mine(7)
    const restarted = await startRequester()
    const disputed = await eventually(async () => {
      const claim = restarted.db.vouchers.jobById('requester', jobId)?.claim
      return claim?.claimId === claimId && claim.caseId !== undefined ? claim : undefined
    }, 'the restarted requester to dispute the claim')
    assert.equal(disputed.disputed, true)
    assert.equal(restarted.vouchers.requester!.claims.disputed, 1)
    await assertJudgedWrong(claimId, amount, index, before, disputed.caseId!)
    // The node follows the claim to its end on the job's record.
    await eventually(
      async () =>
        restarted.db.vouchers.jobById('requester', jobId)?.claim?.status === 'Rejected' ? true : undefined,
      'the claim end on the job record',
    )
  })

  it('resumes driving a case it opened just before it stopped', async () => {
    await stopRequester()
    // This run disputes and records the case, then sends nothing and draws nothing, as a node
    // killed right after its dispute transaction.
    const dying = await startRequester({ stopAfterDispute: true })
    const { index, record, jobId } = await deliveredJob('disputed-then-down', 'four five six '.repeat(4))
    const providerAddress = market.providers[index]!.chain.address
    const before = await balances(providerAddress)
    const { claimId, amount } = await wrongClaim(index, record)
    const disputed = await eventually(async () => {
      const claim = dying.db.vouchers.jobById('requester', jobId)?.claim
      return claim?.claimId === claimId && claim.caseId !== undefined ? claim : undefined
    }, 'the requester to dispute the claim')
    await stopRequester()
    // Nobody drew referees: the case waits for its requester.
    const open = await court.getCase(disputed.caseId!)
    assert.notEqual(open.status, 'Settled')
    assert.equal((await court.getDispute(disputed.disputeId!)).referees.length, 0, 'no referees drawn yet')
    await mine(2)
    const restarted = await startRequester()
    await assertJudgedWrong(claimId, amount, index, before, disputed.caseId!)
    await eventually(
      async () =>
        restarted.db.vouchers.jobById('requester', jobId)?.claim?.status === 'Rejected' ? true : undefined,
      'the claim end on the job record',
    )
  })
})
