import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openNodeStore } from '../store/node-store.ts'
import { ProviderJobRecords } from './provider-job-records.ts'
import type { ProviderJobRecord } from './provider-service.ts'

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

/** Records written as ProviderService.record writes them: to the database, then memory. */
function recorder(
  db: ReturnType<typeof openNodeStore> | undefined,
  records: ProviderJobRecords,
  now: () => number,
) {
  return (record: ProviderJobRecord & { salt?: `0x${string}` }, persisted = true) => {
    const { salt, ...shown } = record
    if (db && persisted) db.providerJobs.save({ ...shown, ...(salt ? { salt } : {}) }, now())
    records.set(record.jobId.toString(), shown, db !== undefined && persisted)
  }
}

describe('provider job records', () => {
  it('ended jobs leave memory after the linger and are still read, listed and counted from the database', () => {
    const db = openNodeStore()
    const t = clock()
    const records = new ProviderJobRecords({ repo: db.providerJobs, lingerMs: 60_000, now: t.now })
    const record = recorder(db, records, t.now)
    record({ jobId: 1n, phase: 'finalized', pricePerFuel: 5n, fuelUsed: 7n, salt: `0x${'ab'.repeat(32)}` })
    t.advance(1)
    record({ jobId: 2n, phase: 'failed', reason: 'commit reverted' })
    t.advance(1)
    record({ jobId: 3n, phase: 'revealed', fuelUsed: 9n })
    t.advance(1)
    record({ jobId: 4n, phase: 'running' })
    t.advance(1)
    record({ jobId: 5n, phase: 'declined', reason: 'busy: no free core' }, false) // never written
    assert.equal(records.size, 5)

    t.advance(61_000)
    record({ jobId: 6n, phase: 'bid', pricePerFuel: 3n }) // any change prunes
    assert.deepEqual(
      [...records.values()].map((r) => r.jobId),
      [3n, 4n, 6n],
      'only jobs in play stay in memory',
    )
    // Still readable (a late award notice), without the salt.
    assert.deepEqual(records.get('1'), { jobId: 1n, phase: 'finalized', pricePerFuel: 5n, fuelUsed: 7n })
    assert.equal(records.get('5'), undefined, 'a decline never written is forgotten with memory')

    const listed = records.list({ limit: 100 })
    assert.deepEqual(
      listed.map((r) => r.jobId),
      [6n, 4n, 3n, 2n, 1n],
      'newest first, from the database',
    )
    assert.ok(listed.every((r) => !('salt' in r) && typeof r.updatedAt === 'number'))
    assert.deepEqual(
      records.list({ limit: 100, phase: 'finalized' }).map((r) => r.jobId),
      [1n],
    )
    assert.deepEqual(
      records.list({ limit: 2 }).map((r) => r.jobId),
      [6n, 4n],
    )
    assert.deepEqual(
      Object.fromEntries(records.countByPhase()),
      { bid: 1, declined: 1, failed: 1, finalized: 1, revealed: 1, running: 1 },
      'every job counted, the unwritten decline too',
    )
    db.close()
  })

  it("memory's fresher view wins over an older row, and a phase filter sees the current phase", () => {
    const db = openNodeStore()
    const t = clock()
    const records = new ProviderJobRecords({ repo: db.providerJobs, now: t.now })
    // The row says `running`; memory moved on to `committed` and holds the price quote.
    db.providerJobs.save({ jobId: 1n, phase: 'running' }, t.now())
    t.advance(1)
    records.set('1', { jobId: 1n, phase: 'committed', fuelUsed: 4n, reason: 'memory' }, false)
    assert.deepEqual(records.list({ limit: 10, phase: 'running' }), [])
    assert.deepEqual(
      records.list({ limit: 10, phase: 'committed' }).map((r) => r.reason),
      ['memory'],
    )
    db.close()
  })

  it('without a database keeps every job in play and a bounded ring of ended ones', () => {
    const t = clock()
    const records = new ProviderJobRecords({ maxTerminal: 3, lingerMs: 1, now: t.now })
    for (let i = 1n; i <= 10n; i++) {
      records.set(i.toString(), { jobId: i, phase: i % 2n === 0n ? 'awarded' : 'finalized' }, false)
      t.advance(10)
    }
    // Time alone never evicts here: the ring is the only record of ended jobs.
    assert.deepEqual(
      records.list({ limit: 100 }).map((r) => `${r.jobId}:${r.phase}`),
      [
        '10:awarded',
        '9:finalized',
        '8:awarded',
        '7:finalized',
        '6:awarded',
        '5:finalized',
        '4:awarded',
        '2:awarded',
      ],
    )
    assert.deepEqual(Object.fromEntries(records.countByPhase()), { awarded: 5, finalized: 3 })
    // A job that ends moves into the ring, pushing out the oldest ended one.
    records.set('2', { jobId: 2n, phase: 'lost' }, false)
    assert.equal(records.get('5'), undefined)
    assert.equal(records.get('2')?.phase, 'lost')
    assert.equal(records.size, 7)
  })

  it('a voucher job ends at revealed; a per-job revealed job stays (its payment is still collected)', () => {
    const t = clock()
    const records = new ProviderJobRecords({ maxTerminal: 0, now: t.now })
    const voucherId = BigInt(`0x${'ff'.repeat(32)}`)
    records.set('7', { jobId: 7n, phase: 'revealed' }, false)
    records.set(voucherId.toString(), { jobId: voucherId, phase: 'revealed' }, false)
    assert.deepEqual(
      [...records.values()].map((r) => r.jobId),
      [7n],
    )
  })
})
