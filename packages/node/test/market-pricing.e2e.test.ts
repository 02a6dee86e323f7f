/**
 * Spot pricing on real parts (embedded EVM + libp2p): a provider busy with an awarded job bids
 * higher than an idle one with the same floor; every node, requester or provider, sees the
 * whole market's clearing prices from the chain's award events (not only its own awards); and a
 * provider with spot pricing bids off that median, recording why.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { BazaarNode } from '../src/bazaar-node.ts'
import type { JobOutcome } from '../src/requester/requester-service.ts'
import {
  BZR,
  GWEI,
  lastRoundBids,
  type MarketFixture,
  runJob,
  startMarketFixture,
  TestRunner,
  type Timed,
  testJob,
  waitFor,
} from './market-fixture.ts'

const CLASS = 'wasm/c1/m64m'

describe('provider pricing follows utilization and the market', () => {
  let market: MarketFixture
  let requester: BazaarNode
  let observer: BazaarNode
  let spot: BazaarNode
  const twins: { node: BazaarNode; runner: TestRunner }[] = []
  let first: { outcome: JobOutcome; events: Timed[] }
  let second: { outcome: JobOutcome; events: Timed[] }
  let busy: { node: BazaarNode; runner: TestRunner }
  let idle: { node: BazaarNode; runner: TestRunner }

  before(async () => {
    market = await startMarketFixture({ accounts: 6, minStake: 10n * BZR, maxFaults: 3 })
    const same = { floorPerFuel: GWEI, utilizationMarkupPercent: 100 }
    for (const account of [2, 3]) {
      const runner = new TestRunner()
      runner.hold = true
      const node = await market.startNode({
        name: `twin-${account}`,
        account,
        provider: { cores: 2, memoryMb: 512, pricing: same, stake: 100n * BZR, runner },
      })
      twins.push({ node, runner })
    }
    spot = await market.startNode({
      name: 'spot',
      account: 4,
      provider: {
        cores: 1,
        memoryMb: 512,
        stake: 100n * BZR,
        pricing: {
          floorPerFuel: GWEI / 10n,
          utilizationMarkupPercent: 0,
          spot: { percentOfMedian: 200, minSamples: 2 },
        },
      },
    })
    // Keep the spot provider out of the first two auctions (it declines them as busy).
    assert.ok(spot.provider!.ledger.reserve('held-by-test', { cores: 1, memoryMb: 0 }))
    observer = await market.startNode({ name: 'observer', account: 5, requester: {} })
    requester = await market.startNode({ name: 'requester', account: 1, requester: {} })
    await requester.network.waitForJobSubscribers(4, { signal: AbortSignal.timeout(20_000) })
    await waitFor('every offer', () => (requester.requester?.offers.size ?? 0) >= 3)

    // Job 1: both twins idle at the same floor; the winner's runner holds it "running".
    const firstRun = runJob(requester, await testJob('pricing-1', 2n * GWEI))
    await waitFor('job 1 running', () => twins.some((t) => t.runner.runs === 1))
    busy = twins.find((t) => t.runner.runs === 1)!
    idle = twins.find((t) => t !== busy)!
    // Job 2 while job 1 runs: one twin is busy, the other idle.
    const secondRun = runJob(requester, await testJob('pricing-2', 2n * GWEI))
    await waitFor('job 2 running', () => idle.runner.runs === 1)
    for (const t of twins) t.runner.release()
    first = await firstRun
    second = await secondRun
  })

  after(async () => {
    await market?.stop()
  })

  const address = (node: BazaarNode) => node.chain.address.toLowerCase()

  it('a busy provider bids higher than an idle one with the same floor, and says why', () => {
    assert.equal(first.outcome.status, 'completed')
    assert.equal(second.outcome.status, 'completed')
    const bids = lastRoundBids(second.events)
    const busyBid = bids.get(address(busy.node))
    const idleBid = bids.get(address(idle.node))
    assert.equal(idleBid, GWEI, 'idle: its floor')
    // 1 of 2 cores awarded: floor × (1 + 100% × 50%)
    assert.equal(busyBid, (3n * GWEI) / 2n)
    assert.equal(second.outcome.provider?.toLowerCase(), address(idle.node))
    const quote = busy.node.provider!.jobs.get(second.outcome.jobId.toString())?.quote
    assert.ok(quote)
    assert.equal(quote.utilizationPpm, 500_000n)
    assert.equal(quote.floorPerFuel, GWEI)
    assert.equal(quote.basis, 'floor')
    assert.equal(quote.pricePerFuel, busyBid)
  })

  it('every node sees the whole market’s clearing prices from the chain', async () => {
    for (const node of [observer, spot, busy.node, idle.node, requester]) {
      await node.prices.poll()
      const stats = node.prices.snapshot()[CLASS]
      assert.ok(stats, `${node.name} has prices for ${CLASS}`)
      assert.equal(stats.count, 2, node.name)
      assert.equal(stats.median, GWEI)
      assert.equal(node.prices.stats.unclassified, 0, `${node.name} classed every award`)
    }
    // The observer made no award itself: what its API serves came from the chain.
    const now = BigInt(Math.floor(Date.now() / 1000))
    assert.equal(observer.requester!.prices.snapshot(now)[CLASS]?.count, 2)
    assert.equal(observer.requester!.prices, observer.prices.index)
  })

  it('a spot provider bids off the market median, never under its floor', async () => {
    spot.provider!.ledger.release('held-by-test')
    const third = await runJob(requester, await testJob('pricing-3', 3n * GWEI))
    assert.equal(third.outcome.status, 'completed')
    // 200% of the median (1 gwei), well above its 0.1 gwei floor.
    assert.equal(lastRoundBids(third.events).get(address(spot)), 2n * GWEI)
    const quote = spot.provider!.jobs.get(third.outcome.jobId.toString())?.quote
    assert.ok(quote)
    assert.equal(quote.basis, 'spot')
    assert.equal(quote.marketSamples, 2)
    assert.equal(quote.marketMedian, GWEI)
    assert.equal(quote.anchor, 2n * GWEI)
  })
})
