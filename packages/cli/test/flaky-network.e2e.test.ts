/**
 * A flaky network on the multi-process market (docs/reliability.md, "Failure model"): every
 * provider daemon drops all its libp2p connections every 5 s (test-only
 * BAZAAR_TEST_DROP_CONNECTIONS_MS), mid-bid, mid-award notice, mid-transfer or idle, while jobs
 * run. Peers redial; a lost award notice is made up for by the award seen on-chain; a cut
 * transfer is fetched again. Every job must end completed or refunded in full, the balances
 * must reconcile exactly and no provider, all honest here, may lose stake. The same holds with
 * slow peers: providers that answer every request (award notices, data requests: the results)
 * and serve every blob 1.5 s late (test-only BAZAAR_TEST_DELAY_ANSWERS_MS).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadViolations, runLoad } from './harness/load-run.ts'
import { type ProcessMarket, startProcessMarket } from './harness/process-market.ts'

const JOBS_PER_BATCH = 5
const DROP_EVERY_MS = 5_000

describe('flaky network: providers drop every libp2p connection every 5 s', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-flaky-'))
    market = await startProcessMarket({
      dir,
      providers: 2,
      providerCores: 2,
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
      providerEnv: () => ({ BAZAAR_TEST_DROP_CONNECTIONS_MS: String(DROP_EVERY_MS) }),
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('every job ends completed or refunded, every token is accounted for, nobody is slashed', async (t) => {
    const dropsSoFar = () =>
      market.providers.map((p) => p.logs().split('test: dropping every connection').length - 1)
    // Batches of jobs until every provider has dropped its connections at least twice while
    // jobs ran (how many batches that takes depends on the machine's speed, not on the code).
    let batches = 0
    let completed = 0
    const ends: string[] = []
    const until = Date.now() + 180_000
    while (Date.now() < until && dropsSoFar().some((n) => n < 2)) {
      batches++
      const run = await runLoad(market, { jobs: JOBS_PER_BATCH, concurrency: 3 })
      const logs = market.providers.map((p, i) => `--- provider ${i}\n${p.logs().slice(-3000)}`).join('\n')
      assert.deepEqual(loadViolations(run), [], logs)
      completed += run.views.filter((v) => v.state === 'completed').length
      ends.push(
        ...run.views.map((v) => `${v.id}:${v.state}${v.error ? `(${v.error.code} ${v.error.message})` : ''}`),
      )
    }
    const drops = dropsSoFar()
    assert.ok(
      drops.every((n) => n >= 2),
      `each provider dropped its connections while jobs ran (${drops.join(', ')} times)`,
    )
    assert.ok(completed > 0, `jobs still complete on a flaky network; ends: ${ends.join('; ')}`)
    t.diagnostic(
      `${completed}/${ends.length} completed (the rest refunded in full) in ${batches} batches; drops per provider: ${drops.join(', ')}`,
    )
  })
})

describe('slow peers: providers answer every request and serve every blob 1.5 s late', () => {
  let dir: string
  let market: ProcessMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-slow-'))
    market = await startProcessMarket({
      dir,
      providers: 2,
      providerCores: 2,
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
      providerEnv: () => ({ BAZAAR_TEST_DELAY_ANSWERS_MS: '1500' }),
    })
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('every job ends completed or refunded, every token is accounted for, nobody is slashed', async (t) => {
    const run = await runLoad(market, { jobs: 6, concurrency: 3 })
    assert.deepEqual(loadViolations(run), [])
    const completed = run.views.filter((v) => v.state === 'completed').length
    assert.ok(completed > 0, 'jobs still complete with slow peers')
    // Each job waited for at least two late answers (the award notice, then the result).
    const slowest = Math.max(...run.latenciesMs)
    assert.ok(slowest >= 3_000, `the delay was in effect (slowest job ${slowest.toFixed(0)} ms)`)
    t.diagnostic(`${completed}/6 completed in ${(run.elapsedMs / 1000).toFixed(1)} s`)
  })
})
