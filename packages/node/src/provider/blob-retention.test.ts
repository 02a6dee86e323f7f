import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cidOf, cidToBytes32, encodeReceipt, type JobDescriptor } from '@bazaar/protocol'
import { pino } from 'pino'
import { type NodeStore, openNodeStore } from '../store/node-store.ts'
import { startBlobRetention, sweepBlobs } from './blob-retention.ts'

const HOUR = 3_600_000
const logger = pino({ level: 'silent' })
/** Every row and blob below is written at T0; sweeps run at T0 + 2 h unless said otherwise. */
const T0 = 1_700_000_000_000
const LATER = T0 + 2 * HOUR

/** A job that ran: its output and receipt stored (at `storedAt`), its row in `phase` (at `at`). */
async function ranJob(
  db: NodeStore,
  jobId: bigint,
  phase: string,
  output: string,
  options: { at?: number; storedAt?: number } = {},
): Promise<{ receiptCid: string; outputCid: string; bytes: number }> {
  const outputBytes = new TextEncoder().encode(output)
  const outputCid = await cidOf(outputBytes)
  const receipt = encodeReceipt({
    version: 1,
    jobId: jobId.toString(),
    status: 'ok',
    exitCode: 0,
    outputCid,
    outputBytes: outputBytes.length,
    fuelUsed: '10',
  })
  const receiptCid = await cidOf(receipt)
  db.blobs.put(outputCid, outputBytes, options.storedAt ?? T0)
  db.blobs.put(receiptCid, receipt, options.storedAt ?? T0)
  db.providerJobs.save({ jobId, phase, receiptCid, fuelUsed: 10n }, options.at ?? T0)
  return { receiptCid, outputCid, bytes: receipt.length + outputBytes.length }
}

const sweep = (db: NodeStore, extra: Partial<Parameters<typeof sweepBlobs>[0]> = {}) =>
  sweepBlobs({ db, retentionMs: HOUR, logger, now: () => LATER, ...extra })

describe('blob retention sweep', () => {
  it('deletes the output and receipt of a job settled longer than the retention, and nothing else', async () => {
    const db = openNodeStore()
    const old = await ranJob(db, 1n, 'finalized', 'one')
    const closed = await ranJob(db, 2n, 'closed', 'two')
    const recent = await ranJob(db, 3n, 'finalized', 'three', { at: LATER - HOUR / 2 })
    const module = new TextEncoder().encode('a requester module')
    const moduleCid = await cidOf(module)
    db.blobs.put(moduleCid, module, T0)

    const result = await sweep(db)
    assert.deepEqual(result, { jobs: 2, blobs: 4, bytes: old.bytes + closed.bytes })
    for (const cid of [old.receiptCid, old.outputCid, closed.receiptCid, closed.outputCid]) {
      assert.equal(db.blobs.has(cid), false, cid)
    }
    assert.ok(db.blobs.has(recent.receiptCid) && db.blobs.has(recent.outputCid), 'settled too recently')
    assert.ok(db.blobs.has(moduleCid), 'a blob no provider job names is never touched')
    // The rows stay (the API lists them); a second sweep finds nothing more to do.
    assert.equal(db.providerJobs.get(1n)?.phase, 'finalized')
    assert.deepEqual(await sweep(db), { jobs: 0, blobs: 0, bytes: 0 })
    db.close()
  })

  it('keeps a blob shared with a job that still needs it, and lets it go once that job is settled too', async () => {
    const db = openNodeStore()
    const settled = await ranJob(db, 1n, 'finalized', 'same words')
    const revealed = await ranJob(db, 2n, 'revealed', 'same words') // same output bytes, same CID
    assert.equal(settled.outputCid, revealed.outputCid)
    const unfinished = ['bid', 'awarded', 'running', 'committed', 'revealed']
    for (const [i, phase] of unfinished.entries()) {
      await ranJob(db, 10n + BigInt(i), phase, `own output ${i}`)
    }

    await sweep(db)
    assert.equal(db.blobs.has(settled.receiptCid), false, 'its own receipt goes')
    assert.ok(db.blobs.has(settled.outputCid), 'the shared output stays: job 2 is only revealed')
    for (const i of unfinished.keys()) {
      const job = db.providerJobs.get(10n + BigInt(i))!
      assert.ok(db.blobs.has(job.receiptCid!), `a ${job.phase} job keeps its receipt`)
    }

    db.providerJobs.save({ jobId: 2n, phase: 'finalized' }, T0 + 1.5 * HOUR)
    assert.deepEqual(await sweep(db, { now: () => LATER }), { jobs: 0, blobs: 0, bytes: 0 }, 'not yet')
    const after = await sweep(db, { now: () => T0 + 3 * HOUR })
    assert.equal(after.jobs, 1)
    assert.equal(db.blobs.has(revealed.outputCid), false, 'gone once no job needs it')
    assert.equal(db.blobs.has(revealed.receiptCid), false)
    db.close()
  })

  it('never deletes what a requester, voucher or referee record names, or a blob put again recently', async () => {
    const db = openNodeStore()
    // On a node playing both roles, the requester fetched this output: it is the user's result.
    const mine = await ranJob(db, 1n, 'finalized', 'my own result')
    db.requesterJobs.create({
      jobId: 1n,
      name: 'self',
      descriptor: { module: 'bafy-module' } as unknown as JobDescriptor,
      escrow: 1n,
      submittedAt: T0,
    })
    db.requesterJobs.update(1n, { step: 'ended', outcome: { receipt: { outputCid: mine.outputCid } } })
    // A referee committed to this receipt (a replicated job's receipt is the same for all).
    const refereed = await ranJob(db, 2n, 'finalized', 'refereed')
    db.refereeDuties.save({
      disputeId: 7n,
      phase: 'committed',
      resultHash: cidToBytes32(refereed.receiptCid),
    })
    // Another job is producing these bytes right now, its receipt not recorded yet.
    const busy = await ranJob(db, 3n, 'finalized', 'being produced again')
    db.blobs.put(busy.outputCid, new TextEncoder().encode('being produced again'), LATER - 60_000)

    await sweep(db)
    assert.ok(db.blobs.has(mine.outputCid), "the requester's output is never deleted")
    assert.equal(db.blobs.has(mine.receiptCid), false)
    assert.ok(db.blobs.has(refereed.receiptCid), 'the referee duty names it')
    assert.equal(db.blobs.has(refereed.outputCid), false)
    assert.ok(db.blobs.has(busy.outputCid), 'put again within the retention')
    assert.equal(db.blobs.has(busy.receiptCid), false)
    db.close()
  })

  it('lets a failed or lost job go only once the chain shows it final', async () => {
    const db = openNodeStore()
    const revealedOnChain = await ranJob(db, 1n, 'failed', 'maybe revealed after all')
    const expired = await ranJob(db, 2n, 'lost', 'reclaimed')
    const statuses = new Map([
      [1n, 'Revealed'],
      [2n, 'Expired'],
    ])
    assert.deepEqual(await sweep(db), { jobs: 0, blobs: 0, bytes: 0 }, 'without the chain: kept')
    const result = await sweep(db, { chainStatus: async (id) => statuses.get(id)! })
    assert.deepEqual(result, { jobs: 1, blobs: 2, bytes: expired.bytes })
    assert.ok(db.blobs.has(revealedOnChain.receiptCid) && db.blobs.has(revealedOnChain.outputCid))
    assert.equal(db.blobs.has(expired.receiptCid), false)
    // A chain read that fails keeps the blobs too.
    statuses.set(1n, 'Finalized')
    const failing = await sweep(db, {
      chainStatus: async () => {
        throw new Error('rpc down')
      },
    })
    assert.equal(failing.blobs, 0)
    assert.equal((await sweep(db, { chainStatus: async (id) => statuses.get(id)! })).blobs, 2)
    db.close()
  })

  it('counts what it deleted across sweeps', async () => {
    const db = openNodeStore()
    const a = await ranJob(db, 1n, 'finalized', 'a')
    const retention = startBlobRetention({
      db,
      retentionMs: HOUR,
      logger,
      now: () => LATER,
      intervalMs: HOUR,
    })
    try {
      await retention.sweep()
      const b = await ranJob(db, 2n, 'closed', 'bb')
      await retention.sweep()
      assert.deepEqual(retention.deleted, { blobs: 4, bytes: a.bytes + b.bytes })
    } finally {
      retention.stop()
      db.close()
    }
  })
})
