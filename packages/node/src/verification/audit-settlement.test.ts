/**
 * The requester's audit settlement and the providers' referee duty against the real contracts
 * on the embedded chain. Re-execution is stubbed here (this tests the layer above the
 * executor); the end-to-end test with libp2p and WASM is packages/node/test/verification.e2e.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  type BazaarContracts,
  createBazaarContracts,
  createChainClients,
  createVerificationCourt,
  type Deployment,
  deployBazaar,
  type EmbeddedChain,
  resultCommitment,
  startEmbeddedChain,
  type VerificationCourt,
} from '@bazaar/chain'
import { hashJobDescriptor, type JobAnnouncement, type JobDescriptor } from '@bazaar/protocol'
import { type Hex, keccak256, parseEther, toHex } from 'viem'
import { openNodeStore } from '../store/node-store.ts'
import { AnnouncementCache } from './announcement-cache.ts'
import { type AuditEvent, openAudit, settleAudit } from './audit-settlement.ts'
import { RefereeDuty, type RefereeEvent } from './referee-duty.ts'

const RIGHT = keccak256(toHex('right'))
const WRONG = keccak256(toHex('wrong'))
const silent = { info() {}, warn() {} }

describe('audit settlement with referee duty', () => {
  let chain: EmbeddedChain
  let deployment: Deployment
  let facades: BazaarContracts[]
  let courts: VerificationCourt[]
  const duties: RefereeDuty[] = []

  const job: JobDescriptor = {
    name: 'audited',
    runtime: 'wasm',
    moduleCid: 'bafkreimodule',
    args: [],
    env: {},
    inputs: [],
    resources: { cores: 1, memoryMb: 16 },
    limits: { fuel: '1000', timeoutMs: 5000, outputBytes: 100 },
    maxPricePerFuel: '10',
    verification: { mode: 'none' },
  }

  before(async () => {
    chain = await startEmbeddedChain({ accounts: 7 })
    facades = []
    for (const [i, account] of chain.accounts.entries()) {
      const clients = await createChainClients({ provider: chain.provider, privateKey: account.privateKey })
      if (i === 0) {
        deployment = await deployBazaar(clients, {
          minStake: parseEther('10'),
          minCollateral: parseEther('1'),
          challengeWindow: 600,
        })
      }
      facades.push(createBazaarContracts({ clients, deployment }))
    }
    courts = facades.map((f) => createVerificationCourt(f, deployment.court))
    for (const user of facades.slice(1)) {
      await facades[0]!.mint(user.address, parseEther('1000'))
      await user.approve(deployment.market, parseEther('1000'))
      await user.approve(deployment.court, parseEther('1000'))
    }
    // Account 2 is the provider; 3..6 stake and join the pool.
    for (const user of facades.slice(2)) {
      await user.approve(deployment.registry, parseEther('20'))
      await user.stake(parseEther('20'))
    }
    for (const i of [3, 4, 5, 6]) await courts[i]!.joinPool()
  })
  after(async () => {
    for (const duty of duties) await duty.stop()
    await chain?.close()
  })

  async function revealedAuditedJob(result: Hex) {
    const [, requester, provider] = facades
    const now = await chain.latestTimestamp()
    const { jobId } = await requester!.createJob({
      specHash: hashJobDescriptor(job),
      maxPricePerFuel: 10n,
      maxFuel: 1_000n,
      bidDeadline: now + 30n,
      awardDeadline: now + 60n,
      commitWindow: 600n,
      revealWindow: 600n,
    })
    await requester!.award(await provider!.signBid({ jobId, pricePerFuel: 4n, expiry: now + 300n }))
    const events: AuditEvent[] = []
    const init = { court: courts[1]!, onEvent: (e: AuditEvent) => events.push(e), pollMs: 50 }
    const { caseId } = await openAudit(init, jobId, 1)
    const salt = keccak256(toHex('salt'))
    await provider!.commitResult(
      jobId,
      resultCommitment({ resultHash: result, fuelUsed: 300n, salt, provider: provider!.address }),
    )
    await provider!.revealResult({ jobId, resultHash: result, fuelUsed: 300n, salt })
    return { jobId, caseId, init, events }
  }

  function startDuties(answer: Hex, announcements: AnnouncementCache, log: RefereeEvent[]) {
    for (const i of [3, 4, 5, 6]) {
      const duty = new RefereeDuty({
        court: courts[i]!,
        me: facades[i]!.address,
        announcements,
        specHashOf: async (jobId) => (await facades[0]!.getJob(jobId)).specHash,
        reexecute: async () => ({ resultHash: answer, fuelUsed: 300n }),
        blockNumber: () => facades[0]!.clients.publicClient.getBlockNumber(),
        logger: silent,
        pollMs: 50,
        onEvent: (e) => log.push(e),
      })
      duties.push(duty)
    }
    return Promise.all(duties.slice(-4).map((d) => d.start()))
  }

  it('audits a wrong result: the auditor re-executes, referees confirm, the provider is slashed', async () => {
    const announcements = new AnnouncementCache()
    const refereeLog: RefereeEvent[] = []
    await startDuties(RIGHT, announcements, refereeLog)
    const { jobId, caseId, init, events } = await revealedAuditedJob(WRONG)
    announcements.remember({ jobId: jobId.toString(), job } as JobAnnouncement)
    const outcome = await settleAudit(init, jobId, caseId)
    assert.equal(outcome.verdict, 'provider-wrong')
    assert.equal(outcome.paid, 0n)
    assert.equal(outcome.refunded, 10n * 1_000n)
    // The audit's own check may resolve between two polls; the follow-up dispute is always seen.
    const steps = events.map((e) => e.type)
    assert.deepEqual(steps.slice(0, 2), ['audit-opened', 'audit-drawn'])
    assert.ok(steps.includes('referees-drawn'))
    assert.equal(steps.at(-1), 'dispute-resolved')
    assert.equal(await facades[2]!.stakeOf(facades[2]!.address), parseEther('19'))
    assert.ok(
      refereeLog.filter((e) => e.type === 'revealed').length >= 3,
      'the auditor and two referees revealed',
    )
    for (const duty of duties) await duty.stop()
    duties.length = 0
  })

  it('pays the provider when the auditor agrees, and skips a job whose announcement was never seen', async () => {
    const announcements = new AnnouncementCache()
    const refereeLog: RefereeEvent[] = []
    await startDuties(RIGHT, announcements, refereeLog)
    const first = await revealedAuditedJob(RIGHT)
    announcements.remember({ jobId: first.jobId.toString(), job } as JobAnnouncement)
    const ok = await settleAudit(first.init, first.jobId, first.caseId)
    assert.deepEqual([ok.verdict, ok.paid], ['verified', 300n * 4n])

    const unseen = await revealedAuditedJob(RIGHT)
    const settled = settleAudit(unseen.init, unseen.jobId, unseen.caseId)
    // Nobody can re-execute it: the auditor skips it, so after the windows the result stands.
    while (!refereeLog.some((e) => e.type === 'skipped')) await new Promise((r) => setTimeout(r, 50))
    await chain.increaseTime(1_000)
    const stood = await settled
    assert.deepEqual([stood.verdict, stood.paid], ['unaudited', 300n * 4n])
  })

  it('resumes a referee duty after a restart with the salt it saved before committing', async () => {
    const { jobId, caseId, init } = await revealedAuditedJob(RIGHT)
    await courts[1]!.drawAudit(caseId) // arms
    const { auditor } = await courts[1]!.drawAudit(caseId)
    assert.ok(auditor)
    const index = facades.findIndex((f) => f.address === auditor)
    const { disputeId } = await courts[1]!.getCase(caseId)
    // The first run saved its answer and salt, sent the commit, and died before revealing.
    const store = openNodeStore()
    const salt = keccak256(toHex('saved salt'))
    store.refereeDuties.save({
      disputeId,
      jobId,
      phase: 'committing',
      resultHash: RIGHT,
      fuelUsed: 300n,
      salt,
    })
    await courts[index]!.commitVerdict(
      disputeId,
      resultCommitment({ resultHash: RIGHT, fuelUsed: 300n, salt, provider: auditor }),
    )
    const restarted = new RefereeDuty({
      court: courts[index]!,
      me: auditor,
      announcements: new AnnouncementCache(),
      specHashOf: async (id) => (await facades[0]!.getJob(id)).specHash,
      reexecute: async () => assert.fail('a resumed duty must not re-execute: its answer was saved'),
      blockNumber: () => facades[0]!.clients.publicClient.getBlockNumber(),
      logger: silent,
      pollMs: 50,
      duties: store.refereeDuties,
    })
    duties.push(restarted)
    await restarted.start()
    const outcome = await settleAudit(init, jobId, caseId)
    assert.deepEqual([outcome.verdict, outcome.paid], ['verified', 300n * 4n])
    assert.equal(store.refereeDuties.get(disputeId)?.phase, 'done')
    store.close()
  })
})
