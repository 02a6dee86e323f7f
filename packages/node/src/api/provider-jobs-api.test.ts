import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import { ProviderJobRecords } from '../provider/provider-job-records.ts'
import type { ProviderJobRecord, ProviderService } from '../provider/provider-service.ts'
import { openNodeStore } from '../store/node-store.ts'
import { createHttpApp, type HttpApiComponents } from './http-api.ts'

/** A provider node's API over real job records in a real (in-memory) SQLite database. */
function providerApi() {
  const db = openNodeStore()
  let now = 1_700_000_000_000
  const jobs = new ProviderJobRecords({ repo: db.providerJobs, lingerMs: 1_000, now: () => now })
  const deleted = { blobs: 3, bytes: 1_234 }
  const provider = { jobs, blobsDeleted: deleted } as unknown as ProviderService
  /** Written as the provider writes: row first, then memory; then time passes. */
  const record = (jobId: bigint, phase: ProviderJobRecord['phase'], persisted = true) => {
    if (persisted) db.providerJobs.save({ jobId, phase, salt: '0x5a17' }, now)
    jobs.set(jobId.toString(), { jobId, phase }, persisted)
    now += 10
  }
  const app = createHttpApp({
    provider,
    store: {} as HttpApiComponents['store'],
    chain: { address: '0x0000000000000000000000000000000000000001' } as unknown as HttpApiComponents['chain'],
    network: {
      peerId: 'peer',
      misbehaviour: () => ({ reports: {}, bans: 0, banned: 0 }),
    } as unknown as HttpApiComponents['network'],
    logger: pino({ level: 'silent' }),
    balance: async () => 0n,
    stakeOf: async () => 0n,
  })
  const get = async (path: string) => {
    const res = await app.request(path)
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  return {
    db,
    jobs,
    record,
    get,
    app,
    later: (ms: number) => {
      now += ms
    },
  }
}

describe('GET /v1/provider/jobs and provider metrics', () => {
  it('lists settled jobs from the database after they left memory, newest first, filtered and limited', async () => {
    const api = providerApi()
    for (let i = 1n; i <= 150n; i++)
      api.record(i, i % 3n === 0n ? 'finalized' : i % 3n === 1n ? 'lost' : 'closed')
    api.record(151n, 'running')
    api.record(152n, 'declined', false)
    api.later(5_000)
    api.record(153n, 'revealed')
    assert.deepEqual(
      [...api.jobs.values()].map((j) => j.jobId),
      [151n, 153n],
      'only jobs in play are in memory',
    )

    const all = await api.get('/v1/provider/jobs')
    assert.equal(all.status, 200)
    const listed = all.body.jobs as { jobId: string; phase: string; salt?: string }[]
    assert.equal(listed.length, 100, 'default limit')
    assert.deepEqual(
      listed.slice(0, 3).map((j) => j.jobId),
      ['153', '151', '150'],
    )
    assert.ok(
      listed.every((j) => j.salt === undefined),
      'never the salt',
    )

    const finalized = await api.get('/v1/provider/jobs?phase=finalized&limit=1000')
    const ids = (finalized.body.jobs as { jobId: string; phase: string }[]).map((j) => Number(j.jobId))
    assert.equal(ids.length, 50)
    assert.deepEqual(ids.slice(0, 2), [150, 147])
    assert.equal(((await api.get('/v1/provider/jobs?limit=2')).body.jobs as unknown[]).length, 2)

    const metrics = await (await api.app.request('/metrics')).text()
    assert.match(metrics, /bazaar_provider_jobs\{phase="finalized"\} 50\n/)
    assert.match(metrics, /bazaar_provider_jobs\{phase="lost"\} 50\n/)
    assert.match(metrics, /bazaar_provider_jobs\{phase="declined"\} 1\n/)
    assert.match(metrics, /bazaar_provider_jobs\{phase="revealed"\} 1\n/)
    assert.match(metrics, /bazaar_provider_blobs_deleted_total 3\n/)
    assert.match(metrics, /bazaar_provider_blob_bytes_deleted_total 1234\n/)
    api.db.close()
  })

  it('refuses a bad limit or phase with a typed 400', async () => {
    const api = providerApi()
    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=abc',
      'limit=1.5',
      'limit=-1',
      'limit=',
      'phase=done',
      'phase=',
    ]) {
      const res = await api.get(`/v1/provider/jobs?${query}`)
      assert.equal(res.status, 400, query)
      const error = res.body.error as { code: string; message: string; hint?: string }
      assert.equal(error.code, 'E_INVALID_MESSAGE', query)
      assert.ok(error.hint, query)
    }
    assert.equal((await api.get('/v1/provider/jobs?limit=1000&phase=bid')).status, 200)
    api.db.close()
  })
})
