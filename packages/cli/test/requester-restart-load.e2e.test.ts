/**
 * The requester killed and restarted under load (docs/reliability.md, "Failure model"): on the
 * multi-process market (devnet, a requester, 3 provider daemons), 16 small jobs are submitted at
 * once; once a few have ended, and the rest are spread over every step (auction, award, run,
 * commit, reveal), the requester is killed with SIGKILL and started again on its data dir,
 * bootstrapped to the providers. Every job must then end completed or refunded in full, the token
 * balances must move by exactly what the jobs say, nobody (all honest) may be slashed and no
 * escrow or collateral may stay locked.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createBazaarClient, type JobView } from '@bazaar/sdk'
import { jobSpec, type LoadRunResult, loadViolations } from './harness/load-run.ts'
import {
  kill9,
  type ProcessMarket,
  repoRoot,
  startProcessMarket,
  waitFor,
  waitForJobEnd,
} from './harness/process-market.ts'

const JOBS = 16
/** Jobs that end before the kill: the rest are in flight at every step. */
const ENDED_BEFORE_KILL = 3

describe('the requester killed and restarted with many jobs in flight', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-requester-restart-'))
    market = await startProcessMarket({
      dir,
      providers: 3,
      providerCores: 2,
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('every job ends completed or refunded in full, every token accounted for, nobody slashed', async (t) => {
    const client = createBazaarClient({ url: market.requester.ready.api })
    const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
    const { cid } = await client.uploadBlob(module)
    const before = await market.snapshot()
    const ids: string[] = []
    for (let i = 0; i < JOBS; i++) ids.push((await client.submit(jobSpec(cid, i))).id)
    await waitFor(
      `${ENDED_BEFORE_KILL} jobs to end`,
      async () => {
        const jobs = await client.listJobs()
        return jobs.filter((j) => j.state !== 'running').length >= ENDED_BEFORE_KILL ? true : undefined
      },
      120_000,
      100,
    )
    const atKill = await client.listJobs()
    const inFlight = atKill.filter((j) => j.state === 'running').length
    assert.ok(inFlight > 0, 'jobs were still in flight when the requester was killed')
    await kill9(market.requester.child)

    market.requester = await market.startRequester([
      'bootstrap:',
      ...market.providers.map((p) => `  - ${p.ready.multiaddrs[0]}`),
    ])
    const resumed = createBazaarClient({ url: market.requester.ready.api })
    const views: JobView[] = []
    for (const id of ids) {
      views.push(
        await waitForJobEnd(resumed, id, 240_000).catch((err: Error) => {
          throw new Error(`${err.message}\nrequester log:\n${market.requester.logs()}`)
        }),
      )
    }
    const after = await market.snapshot()
    const problems = loadViolations({ views, before, after } as LoadRunResult)
    assert.deepEqual(problems, [], `${problems.join('\n')}\nrequester log:\n${market.requester.logs()}`)
    const completed = views.filter((v) => v.state === 'completed').length
    t.diagnostic(
      `${inFlight} in flight at the kill; ${completed} completed, ${JOBS - completed} refunded in full`,
    )
    assert.ok(completed >= ENDED_BEFORE_KILL, `${completed} of ${JOBS} completed`)
  })
})
