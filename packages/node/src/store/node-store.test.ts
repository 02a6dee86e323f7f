import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { decodeJson, encodeJson } from './json-codec.ts'
import { migrate, migrations } from './migrations.ts'
import { openNodeStore } from './node-store.ts'
import { StoreError } from './store-error.ts'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bazaar-store-'))
  dirs.push(dir)
  return dir
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

const HUGE = 2n ** 200n + 12_345n // far beyond a float's 53 bits

describe('node store', () => {
  it('migrates a new database to the latest version, and reopening changes nothing', async () => {
    const dir = await tempDir()
    const store = openNodeStore({ dataDir: dir })
    store.providerJobs.save({ jobId: 1n, phase: 'bid' })
    store.close()
    const db = new DatabaseSync(join(dir, 'node.db'))
    assert.equal(
      (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
      migrations.length,
    )
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal')
    assert.equal(migrate(db), migrations.length)
    db.close()
    const again = openNodeStore({ dataDir: dir })
    assert.equal(again.providerJobs.get(1n)?.phase, 'bid')
    again.close()
  })

  it('applies later migrations in order and refuses a database from newer software', () => {
    const db = new DatabaseSync(':memory:')
    migrate(db, ['CREATE TABLE a (x TEXT)'])
    assert.equal(migrate(db, ['CREATE TABLE a (x TEXT)', 'ALTER TABLE a ADD COLUMN y TEXT']), 2)
    db.prepare('INSERT INTO a (x, y) VALUES (?, ?)').run('1', '2')
    assert.throws(() => migrate(db, ['CREATE TABLE a (x TEXT)']), StoreError)
    // A failing migration leaves the previous version and no half-applied schema.
    assert.throws(() => migrate(db, ['x', 'y', 'CREATE TABLE b (z TEXT); NOT SQL']))
    assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 2)
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get(), undefined)
  })

  it('round-trips provider jobs with exact bigints, and an update never drops a saved salt', () => {
    const store = openNodeStore()
    const salt = `0x${'ab'.repeat(32)}` as const
    store.providerJobs.save({ jobId: HUGE, phase: 'running', pricePerFuel: HUGE, salt, receiptCid: 'bafy' })
    store.providerJobs.save({ jobId: HUGE, phase: 'committed', fuelUsed: HUGE - 1n })
    const job = store.providerJobs.get(HUGE)
    assert.deepEqual(job, {
      jobId: HUGE,
      phase: 'committed',
      pricePerFuel: HUGE,
      fuelUsed: HUGE - 1n,
      salt,
      receiptCid: 'bafy',
    })
    assert.deepEqual(
      store.providerJobs.inPhases(['committed', 'running']).map((j) => j.jobId),
      [HUGE],
    )
    store.close()
  })

  it('round-trips requester jobs, their outcome with bigints, and their event timeline in order', () => {
    const store = openNodeStore()
    const descriptor = { name: 'x', maxPricePerFuel: HUGE.toString() } as never
    store.requesterJobs.create({ jobId: 7n, name: 'x', descriptor, escrow: HUGE, submittedAt: 1 })
    store.requesterJobs.appendEvent(7n, { type: 'created', jobId: 7n, escrow: HUGE, at: 1 })
    store.requesterJobs.appendEvent(7n, { type: 'announced', jobId: 7n, attempt: 1, at: 2 })
    store.requesterJobs.update(7n, {
      step: 'ended',
      state: 'completed',
      gasUsed: HUGE,
      auditCaseId: 3n,
      outcome: { paid: HUGE, refunded: 0n, note: { $bigint: 'not-a-number' } },
    })
    const job = store.requesterJobs.get(7n)
    assert.equal(job?.escrow, HUGE)
    assert.equal(job?.gasUsed, HUGE)
    assert.equal(job?.auditCaseId, 3n)
    assert.equal(job?.step, 'ended')
    assert.deepEqual(job?.outcome, { paid: HUGE, refunded: 0n, note: { $bigint: 'not-a-number' } })
    assert.deepEqual(job?.descriptor, descriptor)
    assert.deepEqual(
      store.requesterJobs.events<{ type: string; escrow?: bigint }>(7n).map((e) => [e.type, e.escrow]),
      [
        ['created', HUGE],
        ['announced', undefined],
      ],
    )
    store.close()
  })

  it('keeps blobs and referee salts, and knows peers', () => {
    const store = openNodeStore()
    store.blobs.put('c1', new Uint8Array([1, 2, 3]))
    store.blobs.put('c1', new Uint8Array([1, 2, 3]))
    assert.equal(store.blobs.size, 1)
    assert.deepEqual([...(store.blobs.get('c1') ?? [])], [1, 2, 3])
    assert.equal(store.blobs.has('c2'), false)
    store.refereeDuties.save({ disputeId: 5n, jobId: 9n, phase: 'committing', salt: '0x01', fuelUsed: HUGE })
    store.refereeDuties.save({ disputeId: 5n, phase: 'committed' })
    assert.deepEqual(store.refereeDuties.open(), [
      { disputeId: 5n, jobId: 9n, phase: 'committed', salt: '0x01', fuelUsed: HUGE },
    ])
    store.refereeDuties.save({ disputeId: 5n, phase: 'done' })
    assert.deepEqual(store.refereeDuties.open(), [])
    store.peers.remember('peer', ['/ip4/127.0.0.1/tcp/1'])
    assert.deepEqual(store.peers.multiaddrsOf('peer'), ['/ip4/127.0.0.1/tcp/1'])
    assert.deepEqual(store.peers.multiaddrsOf('other'), [])
    store.close()
  })

  it('a failure between two writes of one transaction leaves neither', () => {
    const store = openNodeStore()
    assert.throws(() =>
      store.transaction(() => {
        store.providerJobs.save({ jobId: 1n, phase: 'committed', salt: '0x01' })
        throw new Error('crash between the two writes')
      }),
    )
    assert.equal(store.providerJobs.get(1n), undefined)
    store.transaction(() => {
      store.providerJobs.save({ jobId: 1n, phase: 'committed', salt: '0x01' })
      store.blobs.put('receipt', new Uint8Array([9]))
    })
    assert.equal(store.providerJobs.get(1n)?.salt, '0x01')
    assert.equal(store.blobs.has('receipt'), true)
    store.close()
  })

  it('a process killed with SIGKILL mid-transaction keeps the committed rows and none of the open one', async () => {
    const dir = await tempDir()
    const storeModule = fileURLToPath(new URL('./node-store.ts', import.meta.url))
    const script = `
      import { openNodeStore } from ${JSON.stringify(storeModule)}
      const store = openNodeStore({ dataDir: ${JSON.stringify(dir)} })
      store.providerJobs.save({ jobId: 1n, phase: 'running', salt: '0x01' })
      store.transaction(() => {
        store.providerJobs.save({ jobId: 1n, phase: 'committed' })
        store.providerJobs.save({ jobId: 2n, phase: 'committed' })
        process.kill(process.pid, 'SIGKILL')
      })
    `
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    assert.equal(run.signal, 'SIGKILL', run.stderr)
    const store = openNodeStore({ dataDir: dir })
    assert.deepEqual(store.providerJobs.get(1n), { jobId: 1n, phase: 'running', salt: '0x01' })
    assert.equal(store.providerJobs.get(2n), undefined)
    store.close()
  })

  it('upgrades a version-2 database in place: provider jobs kept, listed newest first, counted by phase', async () => {
    const dir = await tempDir()
    const raw = new DatabaseSync(join(dir, 'node.db'))
    migrate(raw, migrations.slice(0, 2))
    raw
      .prepare(
        "INSERT INTO provider_jobs (job_id, phase, salt, receipt_cid, updated_at) VALUES (?, ?, '0x01', ?, ?)",
      )
      .run('7', 'revealed', 'bafy-receipt', 1)
    raw.close()
    const store = openNodeStore({ dataDir: dir })
    assert.deepEqual(store.providerJobs.get(7n), {
      jobId: 7n,
      phase: 'revealed',
      salt: '0x01',
      receiptCid: 'bafy-receipt',
    })
    store.providerJobs.save({ jobId: 8n, phase: 'finalized', fuelUsed: HUGE }, 2)
    store.providerJobs.save({ jobId: 9n, phase: 'finalized' }, 3)
    assert.deepEqual(
      store.providerJobs.list({ limit: 10 }).map((j) => [j.jobId, j.phase, j.updatedAt]),
      [
        [9n, 'finalized', 3],
        [8n, 'finalized', 2],
        [7n, 'revealed', 1],
      ],
    )
    assert.deepEqual(store.providerJobs.list({ limit: 1, phase: 'finalized' })[0]?.jobId, 9n)
    assert.equal(store.providerJobs.list({ limit: 10, phase: 'finalized' })[1]?.fuelUsed, HUGE)
    assert.deepEqual(Object.fromEntries(store.providerJobs.countByPhase()), { finalized: 2, revealed: 1 })
    assert.deepEqual(store.providerJobs.receiptsToIndex(10), [{ jobId: 7n, receiptCid: 'bafy-receipt' }])
    store.close()
  })

  it('a blob put again refreshes its time at most every few minutes, and reports its size', () => {
    const store = openNodeStore()
    store.blobs.put('cid', new Uint8Array(5), 1_000)
    store.blobs.put('cid', new Uint8Array(5), 2_000)
    assert.deepEqual(store.blobs.info('cid'), { size: 5, storedAt: 1_000 }, 'no rewrite for a quick re-put')
    store.blobs.put('cid', new Uint8Array(5), 1_000 + 11 * 60_000)
    assert.deepEqual(store.blobs.info('cid'), { size: 5, storedAt: 1_000 + 11 * 60_000 })
    assert.equal(store.blobs.info('other'), undefined)
    store.close()
  })

  it('encodes bigints exactly in nested JSON', () => {
    const value = { a: [HUGE, -HUGE, 0n], b: { c: 1, d: 'x' } }
    assert.deepEqual(decodeJson(encodeJson(value)), value)
  })
})
