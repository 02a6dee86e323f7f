/**
 * The requester's side of voucher claims across restarts (docs/vouchers.md, issue #9), over a
 * stand-in vault, court and network and a real node database: the claim scan resumes from its
 * stored cursor (a claim filed while the node was down is judged), reads a long gap in bounded
 * chunks, and a fresh node starts at the head; a dispute opened before a restart is taken up
 * again (job re-sent, case driven, its end recorded); a job that ended unverified and whose
 * claimed result then verifies shows `completed` in the stored job table.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ClaimFiledEvent, VaultClaim, VaultClaimStatus } from '@bazaar/chain'
import {
  cidOf,
  cidToBytes32,
  encodeReceipt,
  type JobAnnouncement,
  type ResultReceipt,
  voucherJobId,
} from '@bazaar/protocol'
import pino from 'pino'
import { type Address, type Hex, zeroHash } from 'viem'
import { createHttpApp } from '../api/http-api.ts'
import { createPersistentContentStore } from '../content-store.ts'
import { testAnnouncement } from '../net/announcement-fixture.ts'
import type { JobEvent } from '../requester/job-events.ts'
import { JobTracker } from '../requester/job-tracker.ts'
import type { PreparedJob } from '../requester/prepare-job.ts'
import type { JobOutcome } from '../requester/requester-service.ts'
import { type NodeStore, openNodeStore } from '../store/node-store.ts'
import type { VoucherJobRecord } from '../store/voucher-repo.ts'
import { zeroLeaf } from './job-closure.ts'
import { extendJobsRoot } from './jobs-root.ts'
import { checkVoucher } from './voucher-acceptance.ts'
import { VoucherRequester, type VoucherRequesterComponents } from './voucher-requester.ts'

const logger = pino({ level: 'silent' })
const requester = '0x1111111111111111111111111111111111111111' as Address
const provider = '0x2222222222222222222222222222222222222222' as Address
const vaultAddress = '0x3333333333333333333333333333333333333333' as Address
const PRICE = 3n

function announcement(jobId: string): JobAnnouncement {
  return testAnnouncement('requester-peer', jobId, {
    requester,
    specHash: `0x${'aa'.repeat(32)}`,
    job: { name: 'vj', limits: { fuel: '1000', timeoutMs: 5_000, outputBytes: 1024 } },
  })
}

function jobRecord(sequence: bigint, phase: VoucherJobRecord['phase']): VoucherJobRecord {
  const jobId = voucherJobId(requester, `0x${sequence.toString(16).padStart(64, '0')}` as Hex).toString()
  return {
    role: 'requester',
    jobId,
    phase,
    award: {
      jobId: BigInt(jobId),
      requester,
      provider,
      sequence,
      pricePerFuel: PRICE,
      maxFuel: 1_000n,
      specHash: `0x${'aa'.repeat(32)}` as Hex,
      resultDeadline: 100n,
      claimDeadline: 200n,
    },
    awardSignature: '0x' as Hex,
    announcement: announcement(jobId),
    peerId: 'provider-peer',
  }
}

/** The chain as the claim watch reads it: a head, ClaimFiled events by block, claims by id. */
class StandInChain {
  head = 100n
  /** Chain time: before every claim deadline (200) unless a test moves it. */
  time = 1n
  readonly events: ClaimFiledEvent[] = []
  readonly claims = new Map<Hex, VaultClaim>()
  /** Every block range a log query asked for. */
  readonly ranges: [bigint, bigint][] = []
  readonly cases = new Map<bigint, { status: 'Open' | 'Settled' }>()
  readonly disputed: Hex[] = []
  readonly getCaseCalls: bigint[] = []

  file(claimId: Hex, block: bigint, sequence: bigint, fuelUsed: bigint, resultHash: Hex): void {
    const amount = fuelUsed * PRICE
    this.events.push({
      claimId,
      requester,
      provider,
      sequence,
      amount,
      specHash: `0x${'aa'.repeat(32)}`,
      resultHash,
      blockNumber: block,
    } as ClaimFiledEvent)
    this.claims.set(claimId, {
      claimId,
      requester,
      provider,
      sequence,
      amount,
      status: 'Pending',
      deadline: 10_000n,
      specHash: `0x${'aa'.repeat(32)}`,
      resultHash,
      fuelUsed,
      maxFuel: 1_000n,
    } as VaultClaim)
  }

  setStatus(claimId: Hex, status: VaultClaimStatus): void {
    this.claims.set(claimId, { ...this.claims.get(claimId)!, status })
  }

  vault() {
    return {
      address: vaultAddress,
      account: requester,
      blockNumber: async () => this.head,
      nowSeconds: async () => this.time,
      claimsFiledSince: async (from: bigint, to: bigint, who?: Address) => {
        assert.equal(who, requester)
        this.ranges.push([from, to])
        return this.events.filter((e) => e.blockNumber >= from && e.blockNumber <= to)
      },
      claimOf: async (claimId: Hex) => this.claims.get(claimId) ?? ({ status: 'None' } as VaultClaim),
      signVoucher: async () => '0x' as Hex,
    }
  }

  court() {
    return {
      disputeVoucherClaim: async (claimId: Hex) => {
        this.disputed.push(claimId)
        this.setStatus(claimId, 'Disputed')
        const caseId = BigInt(40 + this.disputed.length)
        this.cases.set(caseId, { status: 'Open' })
        return { caseId, disputeId: caseId + 100n, gasUsed: 1n, hash: '0x' as Hex }
      },
      getCase: async (caseId: bigint) => {
        this.getCaseCalls.push(caseId)
        return { status: this.cases.get(caseId)?.status ?? 'Open', disputeId: 0n }
      },
      getDispute: async () => ({ resolved: false, commitDeadline: 0n }),
      drawReferees: async () => ({ referees: [], gasUsed: 0n }),
      resolveDispute: async () => ({ gasUsed: 0n }),
    }
  }
}

/** What the node sent: voucher-protocol requests and gossiped dispute jobs. */
interface Sent {
  requests: { peer: string; message: { type: string; claimId?: Hex } }[]
  gossiped: { claimId: Hex }[]
}

function requesterOn(
  chain: StandInChain,
  db: NodeStore,
  options: {
    init?: Partial<ConstructorParameters<typeof VoucherRequester>[0]>
    serve?: Map<string, Uint8Array>
    events?: JobEvent[]
    onEvent?: (event: JobEvent & { at: number }) => void
  } = {},
) {
  const sent: Sent = { requests: [], gossiped: [] }
  const components = {
    requester: {
      offers: { active: () => [{ peerId: 'referee-peer' }] },
      recordJobEvent: (event: JobEvent) => {
        options.events?.push(event)
        options.onEvent?.({ ...event, at: Date.now() })
      },
    },
    vault: chain.vault(),
    court: chain.court(),
    network: {
      peerId: 'requester-peer',
      request: async (peer: string, _protocol: string, message: { type: string; claimId?: Hex }) => {
        sent.requests.push({ peer, message })
        return { type: 'voucher-reply', accepted: true }
      },
      fetch: async (_peer: string, cid: string) => {
        const bytes = options.serve?.get(cid)
        if (!bytes) throw new Error(`not served: ${cid}`)
        return bytes
      },
      publishVoucherDispute: async (message: { claimId: Hex }) => {
        sent.gossiped.push(message)
      },
    },
    store: createPersistentContentStore(db.blobs),
    vouchers: db.vouchers,
    jobs: db.requesterJobs,
    transaction: <T>(fn: () => T) => db.transaction(fn),
    logger,
  } as unknown as VoucherRequesterComponents
  const node = new VoucherRequester(
    { depositAmount: 1n, pollMs: 60_000, scanChunkBlocks: 10n, ...options.init },
    components,
  )
  return { node, sent }
}

const claimId = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex
const CURSOR = `voucher-claims:${vaultAddress}:${requester}`

describe('voucher requester: claims across restarts', () => {
  it('judges a claim filed while it was down, from its stored cursor, reading the gap in chunks', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const job = jobRecord(1n, 'rejected')
    db.vouchers.saveJob(job)
    const first = requesterOn(chain, db)
    await first.node.start()
    await first.node.watchClaims()
    assert.equal(db.vouchers.scanCursor(CURSOR), 100n, 'a fresh node starts at the head')
    chain.head = 105n
    await first.node.watchClaims()
    assert.equal(db.vouchers.scanCursor(CURSOR), 105n)
    await first.node.stop()

    // Down: the provider files a wrong claim (a result the node never verified), blocks go by.
    chain.file(claimId(1), 131n, 1n, 500n, `0x${'ee'.repeat(32)}`)
    chain.head = 157n
    chain.ranges.length = 0

    const second = requesterOn(chain, db)
    await second.node.start()
    await second.node.watchClaims()
    assert.deepEqual(chain.disputed, [claimId(1)], 'the claim filed while down is disputed')
    // Every block from the cursor on was read once, at most 10 per query.
    assert.deepEqual(chain.ranges[0], [106n, 115n])
    for (const [from, to] of chain.ranges) assert.ok(to - from + 1n <= 10n, `${from}..${to} within a chunk`)
    for (let i = 1; i < chain.ranges.length; i++) {
      assert.equal(chain.ranges[i]![0], chain.ranges[i - 1]![1] + 1n, 'contiguous')
    }
    assert.equal(chain.ranges.at(-1)![1], 157n)
    assert.equal(db.vouchers.scanCursor(CURSOR), 157n)
    const recorded = db.vouchers.jobById('requester', job.jobId)!.claim!
    assert.equal(recorded.claimId, claimId(1))
    assert.equal(recorded.disputed, true)
    assert.equal(recorded.caseId, 41n, 'the case is on the record')
    assert.equal(recorded.disputeId, 141n)
    assert.equal(second.node.claims.seen, 1)
    await second.node.stop()

    // A third run reads nothing twice and does not dispute the claim again.
    const third = requesterOn(chain, db)
    chain.ranges.length = 0
    await third.node.start()
    await third.node.watchClaims()
    assert.deepEqual(chain.ranges, [])
    assert.deepEqual(chain.disputed, [claimId(1)])
    await third.node.stop()
  })

  it('a node with no cursor starts at the head; a cursor past the head (a new chain) starts there too', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    chain.file(claimId(2), 90n, 1n, 5n, `0x${'ee'.repeat(32)}`)
    const fresh = requesterOn(chain, db)
    await fresh.node.start()
    await fresh.node.watchClaims()
    assert.deepEqual(chain.ranges, [], 'nothing before the first start is read')
    assert.equal(db.vouchers.scanCursor(CURSOR), 100n)
    await fresh.node.stop()
    db.vouchers.saveScanCursor(CURSOR, 5_000n)
    const again = requesterOn(chain, db)
    await again.node.start()
    await again.node.watchClaims()
    assert.equal(db.vouchers.scanCursor(CURSOR), 100n)
    chain.head = 103n
    await again.node.watchClaims()
    assert.deepEqual(chain.ranges, [[101n, 103n]])
    await again.node.stop()
  })

  it('takes up a dispute it opened before a restart: job re-sent to the referees, case driven, end recorded', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const job = jobRecord(1n, 'rejected')
    db.vouchers.saveJob(job)
    // The first run disputes, records the case, and dies before sending or driving anything.
    const first = requesterOn(chain, db, { init: { testStopAfterDispute: true } })
    await first.node.start()
    await first.node.watchClaims()
    chain.file(claimId(3), 101n, 1n, 500n, `0x${'ee'.repeat(32)}`)
    chain.head = 101n
    await first.node.watchClaims()
    assert.deepEqual(chain.disputed, [claimId(3)])
    assert.equal(first.sent.requests.length + first.sent.gossiped.length, 0)
    assert.deepEqual(chain.getCaseCalls, [])
    await first.node.stop()

    const events: JobEvent[] = []
    const second = requesterOn(chain, db, { init: { pollMs: 20 }, events })
    await second.node.start()
    await waitFor(() => chain.getCaseCalls.includes(41n), 'the case to be driven')
    await waitFor(() => second.sent.gossiped.length >= 1, 'the job on the dispute topic')
    assert.ok(
      second.sent.requests.some((r) => r.peer === 'referee-peer' && r.message.type === 'voucher-dispute'),
      'the job sent directly to a provider with an offer',
    )
    assert.equal(second.sent.gossiped[0]!.claimId, claimId(3))
    // Sent again (gossip), but pushed directly only once to a provider that took it.
    await waitFor(() => second.sent.gossiped.length >= 3, 'more rounds on the dispute topic')
    assert.equal(
      second.sent.requests.filter((r) => r.peer === 'referee-peer' && r.message.type === 'voucher-dispute')
        .length,
      1,
    )
    assert.deepEqual(chain.disputed, [claimId(3)], 'not disputed twice')
    // The referees judge it wrong: the case settles, the claim is returned to the escrow.
    chain.cases.set(41n, { status: 'Settled' })
    chain.setStatus(claimId(3), 'Rejected')
    chain.head = 102n
    await waitFor(
      () => db.vouchers.jobById('requester', job.jobId)?.claim?.status === 'Rejected',
      'the end of the claim on its record',
    )
    assert.ok(events.some((e) => e.type === 'claim-finalized' && e.status === 'Rejected'))
    await second.node.stop()
  })

  it('shows a job that ended unverified as completed once its claimed result verifies', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const job = jobRecord(1n, 'rejected')
    db.vouchers.saveJob({ ...job, reason: 'no result before the deadline' })
    const output = new TextEncoder().encode('3 words\n')
    const outputCid = await cidOf(output)
    const receipt: ResultReceipt = {
      version: 1,
      jobId: job.jobId,
      status: 'ok',
      exitCode: 0,
      outputCid,
      outputBytes: output.length,
      fuelUsed: '400',
    }
    const receiptBytes = encodeReceipt(receipt)
    const receiptCid = await cidOf(receiptBytes)
    // The job's run ended unverified, as RequesterService stores it.
    const id = BigInt(job.jobId)
    db.requesterJobs.create({
      jobId: id,
      name: 'vj',
      descriptor: job.announcement!.job,
      escrow: 0n,
      submittedAt: 1,
    })
    const unverified: JobOutcome = {
      jobId: id,
      status: 'unverified',
      provider,
      pricePerFuel: PRICE,
      fuelUsed: 0n,
      escrow: 0n,
      paid: 0n,
      refunded: 0n,
      gasUsed: 0n,
      bidsReceived: 2,
      error: { code: 'E_TIMEOUT', message: 'not delivered' },
    }
    db.requesterJobs.update(id, {
      step: 'ended',
      state: 'unverified',
      outcome: unverified,
      error: unverified.error!,
    })
    // The job tracker holds the ended job in memory, as after a run in this process.
    const tracker = trackerWithEndedJob(db, id, unverified)
    const before = await tracker.submitted
    assert.equal(tracker.tracker.get(before.id)?.state, 'unverified')

    const { node } = requesterOn(chain, db, {
      serve: new Map([
        [receiptCid, receiptBytes],
        [outputCid, output],
      ]),
      onEvent: tracker.emit,
    })
    await node.start()
    await node.watchClaims()
    chain.file(claimId(4), 101n, 1n, 400n, cidToBytes32(receiptCid))
    chain.head = 101n
    await node.watchClaims()
    assert.deepEqual(chain.disputed, [], 'a claimed result that verifies is not disputed')
    const stored = db.requesterJobs.get(id)!
    assert.equal(stored.state, 'completed')
    assert.equal(stored.error, undefined, 'the old error is gone')
    const outcome = stored.outcome as JobOutcome
    assert.equal(outcome.paid, 400n * PRICE)
    assert.equal(BigInt(outcome.fuelUsed), 400n)
    assert.equal(db.vouchers.jobById('requester', job.jobId)?.phase, 'vouchered')
    // The tracker's copy in memory took it up (what GET /v1/jobs and /v1/jobs/:id show).
    const shown = tracker.tracker.get(before.id)!
    assert.equal(shown.state, 'completed')
    assert.equal(shown.outcome?.paid, 400n * PRICE)
    assert.equal(shown.error, undefined)
    assert.deepEqual(await tracker.tracker.outputOf(shown), output)
    assert.equal(tracker.tracker.list().find((j) => j.id === before.id)?.state, 'completed')
    // What the HTTP API answers for it: the job list and the job itself.
    const app = createHttpApp({
      tracker: tracker.tracker,
      requester: {} as never,
      store: createPersistentContentStore(db.blobs),
      chain: { address: requester } as never,
      network: { peerId: 'requester-peer', misbehaviour: () => ({}) } as never,
      logger,
      balance: async () => 0n,
      stakeOf: async () => 0n,
      vouchers: { requester: node },
    })
    type Body = { id: string; state: string; paid?: string; error?: unknown; voucher?: { phase: string } }
    const list = (await (await app.request('/v1/jobs')).json()) as { jobs: Body[] }
    const listed = list.jobs.find((j) => j.id === before.id)!
    assert.equal(listed.state, 'completed')
    assert.equal(listed.paid, (400n * PRICE).toString())
    assert.equal(listed.voucher?.phase, 'vouchered')
    const one = (await (await app.request(`/v1/jobs/${before.id}`)).json()) as Body
    assert.equal(one.state, 'completed')
    assert.equal(one.error, undefined)
    await node.stop()
  })
})

describe('voucher requester: a claim paid without the result verified here', () => {
  it('shows the job paid (its claim amount and fuel) while it stays unverified', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const job = jobRecord(1n, 'rejected')
    db.vouchers.saveJob({ ...job, reason: 'no result before the deadline' })
    const id = BigInt(job.jobId)
    db.requesterJobs.create({
      jobId: id,
      name: 'vj',
      descriptor: job.announcement!.job,
      escrow: 0n,
      submittedAt: 1,
    })
    const error = { code: 'E_TIMEOUT', message: 'not delivered' }
    db.requesterJobs.update(id, {
      step: 'ended',
      state: 'unverified',
      outcome: {
        jobId: id,
        status: 'unverified',
        fuelUsed: 0n,
        escrow: 0n,
        paid: 0n,
        refunded: 0n,
        gasUsed: 0n,
        bidsReceived: 1,
        error,
      },
      error,
    })
    const events: JobEvent[] = []
    // The provider serves nothing: the node cannot check the claimed result, so it disputes.
    const { node } = requesterOn(chain, db, { events })
    await node.start()
    await node.watchClaims()
    chain.file(claimId(5), 101n, 1n, 250n, `0x${'cd'.repeat(32)}`)
    chain.head = 101n
    await node.watchClaims()
    assert.deepEqual(chain.disputed, [claimId(5)])
    assert.equal(db.requesterJobs.get(id)!.state, 'unverified')
    // The referees uphold the claim: it is paid.
    chain.cases.set(41n, { status: 'Settled' })
    chain.setStatus(claimId(5), 'Paid')
    chain.head = 102n
    await node.watchClaims()
    const stored = db.requesterJobs.get(id)!
    assert.equal(stored.state, 'unverified', 'no result here to call it completed')
    const outcome = stored.outcome as JobOutcome
    assert.equal(outcome.paid, 250n * PRICE)
    assert.equal(outcome.fuelUsed, 250n)
    assert.match(stored.error!.message, /paid by the provider's claim/)
    assert.equal(node.describe(job.jobId)?.paidByClaim, 250n * PRICE)
    assert.ok(events.some((e) => e.type === 'finalized' && e.paid === 250n * PRICE))
    await node.stop()
  })
})

/** A job tracker over a stand-in requester whose one job ends `unverified` (row already stored). */
function trackerWithEndedJob(db: NodeStore, jobId: bigint, outcome: JobOutcome) {
  const listeners = new Set<(event: JobEvent & { at: number }) => void>()
  const fake = {
    onJobEvent(listener: (event: JobEvent & { at: number }) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async run(_job: PreparedJob, o: { onEvent?: (e: JobEvent & { at: number }) => void }) {
      o.onEvent?.({ type: 'created', jobId, escrow: 0n, at: Date.now() })
      return outcome
    },
  }
  const tracker = new JobTracker(fake as never, {
    db: db.requesterJobs,
    store: createPersistentContentStore(db.blobs),
  })
  const submitted = tracker
    .submit({ descriptor: { name: 'vj' } } as unknown as PreparedJob)
    .then(async (job) => {
      await tracker.drain()
      return job
    })
  return {
    tracker,
    submitted,
    emit: (event: JobEvent & { at: number }) => {
      for (const listener of listeners) listener(event)
    },
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('voucher requester: the voucher run passes over closed jobs (job-closure.ts)', () => {
  const result = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex
  const verified = (sequence: bigint, fuelUsed: bigint): VoucherJobRecord => ({
    ...jobRecord(sequence, 'verified'),
    fuelUsed,
    amount: fuelUsed * PRICE,
    resultHash: result(Number(sequence)),
  })
  const leafOf = (job: VoucherJobRecord) => ({
    sequence: job.award.sequence,
    specHash: job.award.specHash,
    resultHash: job.resultHash!,
    fuelUsed: job.fuelUsed!,
    pricePerFuel: PRICE,
  })

  it('stops at a rejected job until its claim deadline passed with no claim, then covers it at 0; a paid claim counts its amount', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const rejected = { ...jobRecord(1n, 'rejected'), reason: 'fuel above the award' }
    const second = verified(2n, 10n)
    db.vouchers.saveJob(rejected)
    db.vouchers.saveJob(second)
    db.vouchers.saveChannel({
      role: 'requester',
      requester,
      provider,
      lastSequence: 2n,
      peerId: 'provider-peer',
    })
    const { node, sent } = requesterOn(chain, db)
    await node.start()
    await node.watchClaims()
    chain.time = 200n // at the deadline a claim is still allowed: open
    chain.head = 101n
    await node.watchClaims()
    assert.equal(
      db.vouchers.channel('requester', requester, provider)!.latest,
      undefined,
      'the run stops at job 1',
    )
    chain.time = 201n
    chain.head = 102n
    await node.watchClaims()
    const latest = db.vouchers.channel('requester', requester, provider)!.latest!.voucher
    const root2 = extendJobsRoot(zeroHash, [zeroLeaf(1n), leafOf(second)])
    assert.deepEqual([latest.paidThroughSequence, latest.cumulativeAmount, latest.jobsRoot], [2n, 30n, root2])
    assert.equal(sent.requests.filter((r) => r.message.type === 'voucher').length, 1, 'sent to the provider')
    assert.equal(db.vouchers.jobById('requester', rejected.jobId)!.phase, 'rejected')
    assert.equal(db.vouchers.jobById('requester', second.jobId)!.phase, 'vouchered')
    // The provider, which delivered a (wrong) result for job 1 and never claimed it, accepts it.
    const held = (job: VoucherJobRecord, delivered: { resultHash: Hex; fuelUsed: bigint }) => ({
      sequence: job.award.sequence,
      award: job.award,
      delivered: { ...delivered, amount: delivered.fuelUsed * PRICE },
    })
    const providerView = checkVoucher({
      from: 0n,
      previousAmount: 0n,
      previousRoot: zeroHash,
      through: 2n,
      cumulativeAmount: latest.cumulativeAmount,
      jobsRoot: latest.jobsRoot,
      jobs: new Map([
        [1n, held(rejected, { resultHash: result(99), fuelUsed: 1_001n })],
        [2n, held(second, { resultHash: second.resultHash!, fuelUsed: 10n })],
      ]),
      now: 201n,
    })
    assert.deepEqual(providerView, { ok: true })

    // Job 3 did not verify, its claim was paid (the referees upheld it); job 4 verified.
    const third = { ...jobRecord(3n, 'rejected'), reason: 'no result before the deadline' }
    const fourth = verified(4n, 7n)
    db.vouchers.saveJob(third)
    db.vouchers.saveJob(fourth)
    db.vouchers.saveChannel({ ...db.vouchers.channel('requester', requester, provider)!, lastSequence: 4n })
    chain.file(claimId(9), 103n, 3n, 20n, `0x${'dd'.repeat(32)}`)
    chain.setStatus(claimId(9), 'Paid')
    chain.head = 103n
    await node.watchClaims()
    const next = db.vouchers.channel('requester', requester, provider)!.latest!.voucher
    const paidLeaf = {
      sequence: 3n,
      specHash: third.award.specHash,
      resultHash: `0x${'dd'.repeat(32)}` as Hex,
      fuelUsed: 20n,
      pricePerFuel: PRICE,
    }
    assert.equal(next.paidThroughSequence, 4n)
    assert.equal(next.cumulativeAmount, 30n + 60n + 21n, 'the paid claim counts: collected holds it')
    assert.equal(next.jobsRoot, extendJobsRoot(root2, [paidLeaf, leafOf(fourth)]))
    assert.deepEqual(chain.disputed, [], 'an ended claim is not disputed')
    await node.stop()
  })

  it('passes over an award lost for good once closed, and it ends rejected', async () => {
    const chain = new StandInChain()
    const db = openNodeStore()
    const lost = { ...jobRecord(1n, 'awarded'), unacknowledged: true }
    const second = verified(2n, 10n)
    db.vouchers.saveJob(lost)
    db.vouchers.saveJob(second)
    db.vouchers.saveChannel({
      role: 'requester',
      requester,
      provider,
      lastSequence: 2n,
      peerId: 'provider-peer',
    })
    const { node } = requesterOn(chain, db)
    await node.start()
    await node.watchClaims()
    chain.time = 500n
    chain.head = 101n
    await node.watchClaims()
    const latest = db.vouchers.channel('requester', requester, provider)!.latest!.voucher
    assert.deepEqual([latest.paidThroughSequence, latest.cumulativeAmount], [2n, 30n])
    const closed = db.vouchers.jobById('requester', lost.jobId)!
    assert.deepEqual(
      [closed.phase, closed.reason, closed.unacknowledged],
      ['rejected', 'closed: claim-deadline', false],
    )
    await node.stop()
  })
})
