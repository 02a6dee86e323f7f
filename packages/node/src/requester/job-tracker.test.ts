import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cidOf, type JobDescriptor } from '@bazaar/protocol'
import { createPersistentContentStore } from '../content-store.ts'
import { openNodeStore } from '../store/node-store.ts'
import type { JobEvent } from './job-events.ts'
import { JobTracker } from './job-tracker.ts'
import type { PreparedJob } from './prepare-job.ts'
import type { JobOutcome, RequesterService } from './requester-service.ts'

/**
 * A requester that writes what the real one writes (job row, events, the ended outcome
 * without output bytes, the output blob) and ends each job as told.
 */
function fakeRequester(db: ReturnType<typeof openNodeStore>) {
  const store = createPersistentContentStore(db.blobs)
  let next = 1n
  const requester = {
    async run(prepared: PreparedJob, opts: { onEvent: (e: JobEvent & { at: number }) => void }) {
      // As on-chain: the job exists only after an await (createJob mined).
      await new Promise((resolve) => setImmediate(resolve))
      const jobId = next++
      const name = prepared.descriptor.name
      db.requesterJobs.create({
        jobId,
        name,
        descriptor: prepared.descriptor,
        escrow: 100n,
        submittedAt: Number(jobId),
      })
      const created = { type: 'created', jobId, escrow: 100n, at: Number(jobId) } as unknown as JobEvent & {
        at: number
      }
      db.requesterJobs.appendEvent(jobId, created)
      opts.onEvent(created)
      await new Promise((resolve) => setImmediate(resolve))
      if (name === 'crash') throw new Error('stopped by a shutdown') // nothing written: resumed later
      const output = new TextEncoder().encode(`output of ${jobId}`)
      const outputCid = await store.put(output)
      const receipt = {
        version: 1 as const,
        jobId: jobId.toString(),
        status: 'ok' as const,
        exitCode: 0,
        outputCid,
        outputBytes: output.length,
        fuelUsed: '5',
      }
      const outcome: JobOutcome = {
        jobId,
        status: 'completed',
        fuelUsed: 5n,
        escrow: 100n,
        paid: 10n,
        refunded: 90n,
        receipt,
        gasUsed: 1n,
        bidsReceived: 1,
      }
      db.requesterJobs.update(jobId, { step: 'ended', state: 'completed', outcome })
      return { ...outcome, output }
    },
    // Steps outside a run (voucher claims) never come in these tests.
    onJobEvent: () => {},
  }
  return { requester: requester as unknown as RequesterService, store }
}

const prepared = (name: string) => ({ descriptor: { name } as JobDescriptor }) as PreparedJob

async function submitAndEnd(tracker: JobTracker, name: string): Promise<string> {
  const job = await tracker.submit(prepared(name))
  await tracker.drain()
  return job.id
}

describe('job tracker with a database', () => {
  it('ended jobs leave memory and are read back with their events, outcome and output', async () => {
    const db = openNodeStore()
    const { requester, store } = fakeRequester(db)
    const tracker = new JobTracker(requester, { db: db.requesterJobs, store, maxEndedInMemory: 1 })
    const ids = []
    for (const name of ['a', 'b', 'c']) ids.push(await submitAndEnd(tracker, name))
    const inMemory = (Reflect.get(tracker, 'jobs') as Map<string, unknown>).size
    const ended = (Reflect.get(tracker, 'ended') as Map<string, unknown>).size
    assert.deepEqual([inMemory, ended], [0, 1], 'only the most recent ended job stays in memory')

    const first = tracker.get(ids[0]!)
    assert.equal(first?.state, 'completed')
    assert.equal(first?.outcome?.paid, 10n)
    assert.deepEqual(
      first?.events.map((e) => e.type),
      ['created'],
    )
    const output = await tracker.outputOf(first!)
    assert.equal(new TextDecoder().decode(output), 'output of 1')
    assert.equal((await cidOf(output!)).length > 0, true)

    assert.deepEqual(
      tracker.list().map((j) => [j.id, j.state]),
      [
        ['3', 'completed'],
        ['2', 'completed'],
        ['1', 'completed'],
      ],
    )
    assert.deepEqual(Object.fromEntries(tracker.countByState()), { completed: 3 })
    assert.equal(tracker.get('99'), undefined)
    assert.equal(tracker.get('not-a-number'), undefined)

    // A restarted node resumes nothing here and reads every ended job from the database.
    const again = new JobTracker(requester, { db: db.requesterJobs, store })
    assert.deepEqual(await again.restore(), [])
    assert.equal((Reflect.get(again, 'jobs') as Map<string, unknown>).size, 0)
    assert.equal(again.get(ids[1]!)?.outcome?.receipt?.status, 'ok')
    db.close()
  })

  it('a job whose run stopped without an ended row stays in memory (it is resumed at the next start)', async () => {
    const db = openNodeStore()
    const { requester, store } = fakeRequester(db)
    const tracker = new JobTracker(requester, { db: db.requesterJobs, store, maxEndedInMemory: 0 })
    const id = await submitAndEnd(tracker, 'crash')
    assert.equal(tracker.get(id)?.state, 'error')
    assert.equal((Reflect.get(tracker, 'jobs') as Map<string, unknown>).size, 1)
    assert.deepEqual(
      Object.fromEntries(tracker.countByState()),
      { running: 1 },
      'the database still says running',
    )
    db.close()
  })
})
