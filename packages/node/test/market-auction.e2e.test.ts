/**
 * The reverse auction at market scale on real parts: 20 providers with varied cores, memory
 * and floor prices, 50 jobs with varied needs and price caps, over libp2p on 127.0.0.1 with
 * settlement on the embedded EVM. Checks every award against the policy recomputed from the
 * bids the job received, that no provider ever held more jobs than its cores, and that every
 * provider that did not bid said why.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { examplesBuildDir, mapConcurrent } from '../src/demo/run-demo.ts'
import { type LocalMarket, type LocalProviderConfig, startLocalMarket } from '../src/local-market.ts'
import type { JobEvent } from '../src/requester/job-events.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'
import type { JobOutcome } from '../src/requester/requester-service.ts'

const PROVIDERS = 20
const JOBS = 50
const GWEI = 1_000_000_000n

// Deterministic variety: cores 1-3, memory 128-1024 MB, floors 1.00-1.95 gwei.
const providers: LocalProviderConfig[] = Array.from({ length: PROVIDERS }, (_, i) => ({
  name: `p${i}`,
  cores: 1 + (i % 3),
  memoryMb: [128, 256, 512, 1024][i % 4]!,
  pricing: { floorPerFuel: GWEI + (BigInt((i * 7) % 20) * GWEI) / 20n, utilizationMarkupPercent: 50 },
}))

type Timed = JobEvent & { at: number }

describe('reverse auction with 20 providers and 50 jobs', () => {
  let market: LocalMarket
  const results: { outcome: JobOutcome; events: Timed[]; memoryMb: number; maxPrice: bigint }[] = []

  before(async () => {
    market = await startLocalMarket({ providers, logger: pino({ level: 'silent' }), providerStake: '50' })
    const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
    const moduleCid = await cidOf(module)
    const jobs = Array.from({ length: JOBS }, (_, j) => ({
      memoryMb: [64, 200, 400, 800][j % 4]!,
      maxPrice: GWEI + (BigInt(j % 10) * GWEI) / 10n + GWEI / 2n, // 1.5 - 2.4 gwei
      text: `job ${j} `.repeat(1 + (j % 5)),
    }))
    const done = await mapConcurrent(jobs, 5, async (job, index = 0) => {
      const spec = validateJobSpec({
        version: 1,
        name: `auction-${index}`,
        runtime: 'wasm',
        module: { cid: moduleCid },
        args: ['in.txt'],
        env: { LANG: 'C' },
        inputs: [{ name: 'in.txt', text: job.text }],
        resources: { cores: 1, memoryMb: job.memoryMb },
        limits: { fuel: '50000000' },
        price: { maxPerFuel: job.maxPrice.toString() },
        deadlines: { biddingMs: 800, executionSeconds: 120 },
      })
      const events: Timed[] = []
      const prepared = await prepareJob(spec, { baseDir: '/', known: new Map([[moduleCid, module]]) })
      const outcome = await market.requester.requester!.run(prepared, { onEvent: (e) => events.push(e) })
      return { outcome, events, memoryMb: job.memoryMb, maxPrice: job.maxPrice }
    })
    results.push(...done)
  })

  after(async () => {
    await market?.stop()
  })

  it('completes every job that some provider could run', () => {
    for (const { outcome, memoryMb } of results) {
      const capable = providers.some((p) => p.memoryMb >= memoryMb)
      if (capable) assert.notEqual(outcome.status, 'failed')
      assert.ok(['completed', 'refunded'].includes(outcome.status), `job ${outcome.jobId}: ${outcome.status}`)
    }
    assert.ok(results.filter((r) => r.outcome.status === 'completed').length >= JOBS * 0.8)
  })

  it('awards each job to the cheapest qualifying bid of its final round', () => {
    for (const { outcome, events } of results) {
      if (outcome.status !== 'completed') continue
      // The final round is the last announcement; its bids are the ones after it.
      const lastAnnounce = events.findLastIndex((e) => e.type === 'announced')
      const bids = events
        .slice(lastAnnounce)
        .filter((e): e is Extract<Timed, { type: 'bid' }> => e.type === 'bid')
      const expected = [...bids].sort((a, b) =>
        a.pricePerFuel === b.pricePerFuel
          ? a.provider.toLowerCase() < b.provider.toLowerCase()
            ? -1
            : 1
          : a.pricePerFuel < b.pricePerFuel
            ? -1
            : 1,
      )[0]
      assert.ok(expected, `job ${outcome.jobId} completed without a bid`)
      assert.equal(outcome.provider?.toLowerCase(), expected.provider.toLowerCase(), `job ${outcome.jobId}`)
      assert.equal(outcome.pricePerFuel, expected.pricePerFuel)
      assert.equal(outcome.paid, outcome.fuelUsed * expected.pricePerFuel)
    }
  })

  it('never bids below a floor or above the job maximum', () => {
    const floorOf = new Map(
      market.providers.map((node, i) => [
        node.chain.address.toLowerCase(),
        providers[i]!.pricing.floorPerFuel,
      ]),
    )
    for (const { events, maxPrice } of results) {
      for (const e of events) {
        if (e.type !== 'bid') continue
        assert.ok(e.pricePerFuel >= floorOf.get(e.provider.toLowerCase())!)
        assert.ok(e.pricePerFuel <= maxPrice)
      }
    }
  })

  it('never had a provider run more jobs at once than it has cores', () => {
    const coresOf = new Map(
      market.providers.map((node, i) => [node.chain.address.toLowerCase(), providers[i]!.cores]),
    )
    const spans = results
      .filter((r) => r.outcome.provider)
      .map((r) => ({
        provider: r.outcome.provider!.toLowerCase(),
        from: r.events.find((e) => e.type === 'awarded')!.at,
        to: r.events.find((e) => e.type === 'revealed')?.at ?? Number.POSITIVE_INFINITY,
      }))
    for (const span of spans) {
      const overlapping = spans.filter(
        (s) => s.provider === span.provider && s.from <= span.from && s.to > span.from,
      )
      assert.ok(
        overlapping.length <= coresOf.get(span.provider)!,
        `${span.provider} held ${overlapping.length} jobs`,
      )
    }
  })

  it('hears a bid or a reason from every provider on every announcement (late answers included)', async () => {
    const heardInLastRound = (events: Timed[]) => {
      const lastAnnounce = events.findLastIndex((e) => e.type === 'announced')
      return new Set(
        events
          .slice(lastAnnounce)
          .filter((e) => e.type === 'bid' || e.type === 'declined' || e.type === 'bid-rejected')
          .map((e) => (e as { provider: string }).provider.toLowerCase()),
      )
    }
    // An answer after the round closed is still recorded (as too late) for 30 s: on a loaded
    // machine the last jobs' late answers may still be on their way when the runs return.
    const until = Date.now() + 25_000
    while (Date.now() < until && results.some(({ events }) => heardInLastRound(events).size < PROVIDERS)) {
      await new Promise((r) => setTimeout(r, 250))
    }
    // Gossip is best effort: now and then an announcement misses a node (seen about once in
    // 1,000 provider-announcements when CI runs this beside another test file), and the round
    // then closes at its deadline without it. A provider that stays silent more often than that,
    // or several silent on one job, is a fault: named here with what it made of the job.
    const silent = results.flatMap(({ events, outcome }) => {
      const heard = heardInLastRound(events)
      return market.providers
        .filter((node) => !heard.has(node.chain.address.toLowerCase()))
        .map((node) => ({
          jobId: outcome.jobId,
          rounds: events.filter((e) => e.type === 'announced').length,
          provider: node.chain.address,
          record: node.db.providerJobs.get(outcome.jobId),
        }))
    })
    const detail = JSON.stringify(silent, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
    const perJob = new Map<bigint, number>()
    for (const s of silent) perJob.set(s.jobId, (perJob.get(s.jobId) ?? 0) + 1)
    assert.ok(silent.length <= 2, `${silent.length} unanswered announcements: ${detail}`)
    assert.ok(
      [...perJob.values()].every((n) => n <= 1),
      `several providers silent on one job: ${detail}`,
    )
  })

  it('reports per-provider reasons when a job gets no bid', () => {
    for (const { outcome } of results) {
      if (outcome.status !== 'refunded') continue
      assert.equal(outcome.error?.code, 'E_NO_BIDS')
      assert.equal(outcome.paid, 0n)
      const reasons = (outcome.error as { details?: { reasons?: unknown[] } }).details?.reasons ?? []
      assert.ok(reasons.length > 0)
    }
  })
})
