/**
 * The job tracker with voucher jobs (docs/vouchers.md), over a stand-in requester: a voucher job
 * is tracked from its `created` event, cancelled in its auction without any chain call, refused
 * once awarded, and steps that come after its run (voucher signed, claims) reach its timeline and
 * its watchers.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BaseError, ErrorCode, voucherJobId } from '@bazaar/protocol'
import type { Address } from 'viem'
import type { MarketChain } from '../market-chain.ts'
import { openNodeStore } from '../store/node-store.ts'
import type { JobEvent } from './job-events.ts'
import { JobNotCancellableError, JobTracker } from './job-tracker.ts'
import type { PreparedJob } from './prepare-job.ts'
import type { JobOutcome, RequesterService } from './requester-service.ts'

const provider = '0x2222222222222222222222222222222222222222' as Address
const job = { descriptor: { name: 'vj' } } as unknown as PreparedJob

/** A requester whose voucher job stays in its auction (or is awarded) until aborted. */
function standIn(options: { award?: boolean } = {}) {
  const listeners = new Set<(event: JobEvent & { at: number }) => void>()
  let nonce = 0
  const fake = {
    onJobEvent(listener: (event: JobEvent & { at: number }) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    recordJobEvent(event: JobEvent) {
      for (const listener of listeners) listener({ ...event, at: Date.now() })
    },
    run(_job: PreparedJob, o: { onEvent?: (e: JobEvent & { at: number }) => void; signal?: AbortSignal }) {
      nonce++
      const jobId = voucherJobId(provider, `0x${nonce.toString(16).padStart(64, '0')}`)
      o.onEvent?.({ type: 'created', jobId, escrow: 0n, at: Date.now() })
      if (options.award) {
        o.onEvent?.({
          type: 'awarded',
          jobId,
          provider,
          pricePerFuel: 1n,
          bids: 1,
          sequence: 1n,
          at: Date.now(),
        })
      }
      return new Promise<JobOutcome>((_resolve, reject) =>
        o.signal?.addEventListener('abort', () => reject(o.signal?.reason)),
      )
    },
  }
  return fake
}

/** A chain that fails the test if the tracker touches it. */
const noChain = {
  getJob: () => assert.fail('a voucher job has no JobMarket job to read'),
  cancelJob: () => assert.fail('a voucher job has no JobMarket job to cancel'),
} as unknown as Pick<MarketChain, 'getJob' | 'cancelJob'>

describe('job tracker: voucher jobs', () => {
  it('cancels a voucher job in its auction without touching the chain, and stores it ended', async () => {
    const store = openNodeStore()
    const fake = standIn()
    const tracker = new JobTracker(fake as unknown as RequesterService, { db: store.requesterJobs })
    const tracked = await tracker.submit(job)
    assert.ok(BigInt(tracked.id) >= 2n ** 255n)
    assert.equal(tracked.state, 'running')
    store.requesterJobs.create({
      jobId: BigInt(tracked.id),
      name: 'vj',
      descriptor: job.descriptor,
      escrow: 0n,
      submittedAt: 1,
    })
    const cancelled = await tracker.cancel(tracked.id, noChain)
    assert.equal(cancelled.state, 'refunded')
    assert.deepEqual(
      [cancelled.outcome?.escrow, cancelled.outcome?.refunded, cancelled.outcome?.paid],
      [0n, 0n, 0n],
    )
    assert.equal(cancelled.events.at(-1)?.type, 'refunded')
    const stored = store.requesterJobs.get(BigInt(tracked.id))!
    assert.deepEqual([stored.step, stored.state], ['ended', 'refunded'])
    await assert.rejects(tracker.cancel(tracked.id, noChain), JobNotCancellableError)
    store.close()
  })

  it('refuses to cancel an awarded voucher job', async () => {
    const tracker = new JobTracker(standIn({ award: true }) as unknown as RequesterService)
    const tracked = await tracker.submit(job)
    await assert.rejects(tracker.cancel(tracked.id, noChain), (err: unknown) => {
      assert.ok(err instanceof JobNotCancellableError)
      assert.match(err.message, /already awarded/)
      return true
    })
  })

  it('adds steps after the run (voucher signed, claim) to the job and its watchers', async () => {
    const fake = standIn()
    const tracker = new JobTracker(fake as unknown as RequesterService)
    const tracked = await tracker.submit(job)
    const seen: string[] = []
    const stop = tracker.follow(tracked.id, (event) => seen.push(event.type))
    const jobId = BigInt(tracked.id)
    fake.recordJobEvent({
      type: 'voucher-signed',
      jobId,
      sequence: 1n,
      amount: 5n,
      paidThroughSequence: 1n,
      cumulativeAmount: 5n,
    })
    fake.recordJobEvent({
      type: 'claim-filed',
      jobId,
      claimId: `0x${'cc'.repeat(32)}`,
      amount: 5n,
      disputed: false,
    })
    // Another node's job (or one this tracker never saw) is ignored.
    fake.recordJobEvent({
      type: 'claim-filed',
      jobId: 7n,
      claimId: `0x${'dd'.repeat(32)}`,
      amount: 1n,
      disputed: true,
    })
    stop()
    assert.deepEqual(seen, ['created', 'voucher-signed', 'claim-filed'])
    assert.deepEqual(
      tracker.get(tracked.id)!.events.map((e) => e.type),
      ['created', 'voucher-signed', 'claim-filed'],
    )
    await tracker.cancel(tracked.id, noChain).catch((err: unknown) => assert.ok(err instanceof BaseError))
  })

  it('answers an unknown voucher job id with the typed not-found error', async () => {
    const tracker = new JobTracker(standIn() as unknown as RequesterService)
    const unknown = voucherJobId(provider, `0x${'ab'.repeat(32)}`).toString()
    assert.equal(tracker.get(unknown), undefined)
    await assert.rejects(tracker.cancel(unknown, noChain), (err: unknown) => {
      assert.ok(err instanceof BaseError)
      assert.equal(err.code, ErrorCode.NotFound)
      return true
    })
  })
})
