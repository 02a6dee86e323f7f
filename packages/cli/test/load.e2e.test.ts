/**
 * The load test scaled for CI (the full-size run is `npm run bench -- load`): a devnet, a
 * requester and 3 provider daemons as separate processes, 30 small wasm jobs submitted through
 * the SDK, 4 at a time (2 cores per provider). Asserts that nothing is lost (every job completed or refunded in full,
 * token balances moved by exactly what the jobs paid, no escrow or collateral left locked),
 * never how fast it went.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadViolations, runLoad } from './harness/load-run.ts'
import { type ProcessMarket, startProcessMarket } from './harness/process-market.ts'

const PROVIDERS = 3
const JOBS = 30

describe(`load: ${JOBS} jobs over ${PROVIDERS} provider processes`, () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-load-'))
    // 2 cores per provider against 4 jobs in flight, and many announcement rounds: a provider
    // still holding a reservation for a bid it is about to lose never runs a job out of bids.
    market = await startProcessMarket({
      dir,
      providers: PROVIDERS,
      providerCores: 2,
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('every job ends completed, and every token is accounted for', async () => {
    const run = await runLoad(market, { jobs: JOBS, concurrency: 4 })
    assert.deepEqual(loadViolations(run), [])
    const completed = run.views.filter((v) => v.state === 'completed')
    // Spare capacity throughout (4 in flight, 6 cores offered): none should need a refund.
    assert.equal(
      completed.length,
      JOBS,
      `all jobs completed; not: ${JSON.stringify(run.views.filter((v) => v.state !== 'completed'))}`,
    )
    const winners = new Set(completed.map((v) => v.provider))
    assert.ok(winners.size >= 2, `work spread over providers (winners: ${[...winners].join(', ')})`)
    assert.ok(run.gas > 0n && run.transactions >= JOBS * 5, 'each job costs its transactions')
    for (const [i, rss] of run.peakRss.providers.entries()) assert.ok(rss > 0, `provider ${i} RSS read`)
  })
})
