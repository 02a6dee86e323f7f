import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { BaseError, JobDescriptor } from '@bazaar/protocol'
import pino from 'pino'
import type { JobEvent } from './job-events.ts'
import { type ReplicatedHost, resumeReplicated } from './replicated-job.ts'

/**
 * The resume of a replicated job interrupted before its case held the replicas, against a fake
 * chain (the resume once the case exists runs end to end in
 * packages/cli/test/replicated-resume.e2e.test.ts).
 */
function fakeHost(statuses: Record<string, string>, events: JobEvent[]) {
  const cancelled: bigint[] = []
  const host = {
    chain: {
      getJob: async (jobId: bigint) => ({ status: statuses[jobId.toString()]! }),
      cancelJob: async (jobId: bigint) => {
        cancelled.push(jobId)
        statuses[jobId.toString()] = 'Cancelled'
        return { gasUsed: 10n }
      },
    },
    db: { requesterJobs: { events: () => events } },
    logger: pino({ level: 'silent' }),
  } as unknown as ReplicatedHost
  return { host, cancelled }
}

const stored = {
  jobId: 7n,
  step: 'awarding' as const,
  descriptor: { verification: { mode: 'replicated', k: 2 } } as unknown as JobDescriptor,
  escrow: 200n,
  gasUsed: 5n,
  bidsReceived: 3,
}
const created = (jobId: bigint): JobEvent => ({ type: 'created', jobId, escrow: 100n })

describe('resumeReplicated before the case', () => {
  it('cancels every replica still open and reports a full refund', async () => {
    const { host, cancelled } = fakeHost({ '7': 'Open', '8': 'Open' }, [created(7n), created(8n)])
    const emitted: JobEvent[] = []
    const outcome = await resumeReplicated(host, stored, (e) => emitted.push(e), undefined)
    assert.deepEqual(cancelled, [7n, 8n])
    assert.equal(outcome.status, 'refunded')
    assert.equal(outcome.refunded, 200n)
    assert.equal(outcome.paid, 0n)
    assert.equal(outcome.gasUsed, 25n)
    assert.equal(outcome.error?.code, 'E_ABORTED')
    assert.deepEqual(
      emitted.map((e) => e.type),
      ['refunded', 'refunded'],
    )
  })

  it('refunds the open replicas and names the ones awarded outside a case', async () => {
    const { host, cancelled } = fakeHost({ '7': 'Awarded', '8': 'Open' }, [created(7n), created(8n)])
    await assert.rejects(
      resumeReplicated(host, stored, () => {}, undefined),
      (err: BaseError) =>
        err.code === 'E_ABORTED' &&
        JSON.stringify(err.details?.stranded) === '["7"]' &&
        (err.hint ?? '').includes('reclaimExpired'),
    )
    assert.deepEqual(cancelled, [8n])
  })
})
