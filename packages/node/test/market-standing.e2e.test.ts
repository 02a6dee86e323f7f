/**
 * On-chain standing decides awards, end to end (embedded EVM + libp2p): a jailed provider and
 * a provider below the minimum stake never win even when they bid cheapest, and of two equal
 * bids the provider with the better on-chain record wins, even where the address tie-break
 * would have picked the other. Jail and the bad record are written through the contracts
 * (missed commits slashed by reclaimExpired), not stubbed.
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
  missCommit,
  runJob,
  startMarketFixture,
  type Timed,
  testJob,
  waitFor,
} from './market-fixture.ts'

const MIN_STAKE = 10n * BZR
const JOBS = 3

describe('market standing: jail, minimum stake and reputation decide who wins', () => {
  let market: MarketFixture
  let requester: BazaarNode
  const nodes: Record<'jailed' | 'understaked' | 'good' | 'worse', BazaarNode> = {} as never
  const results: { outcome: JobOutcome; events: Timed[] }[] = []

  before(async () => {
    // Accounts: 0 deployer, 1 requester, 2 jailed, 3 understaked, 4 and 5 the equal pair.
    market = await startMarketFixture({ accounts: 6, minStake: MIN_STAKE, maxFaults: 2 })
    const requesterContracts = await market.contractsFor(1)
    await market.admin.mint(requesterContracts.address, 100n * BZR)
    // The equal pair: `worse` gets the lower address, so an address tie-break alone would pick it.
    const pair = await Promise.all([market.contractsFor(4), market.contractsFor(5)])
    const lower = pair[0]!.address.toLowerCase() < pair[1]!.address.toLowerCase() ? 0 : 1
    const worseAccount = 4 + lower
    const goodAccount = 5 - lower
    const worseContracts = pair[lower]!

    // On-chain history first: two missed commits jail a provider (maxFaults 2), one leaves a fault.
    const jailedContracts = await market.contractsFor(2)
    for (const c of [jailedContracts, worseContracts]) {
      await market.admin.mint(c.address, 100n * BZR)
      await c.stakeWithPermit(100n * BZR)
    }
    await missCommit(market.chain, requesterContracts, jailedContracts)
    await missCommit(market.chain, requesterContracts, jailedContracts)
    await missCommit(market.chain, requesterContracts, worseContracts)
    assert.equal(await jailedContracts.isEligible(jailedContracts.address), false, 'jailed on-chain')
    assert.equal(await worseContracts.isEligible(worseContracts.address), true, 'one fault does not jail')

    const cheap = { floorPerFuel: GWEI, utilizationMarkupPercent: 0 }
    const fair = { floorPerFuel: (3n * GWEI) / 2n, utilizationMarkupPercent: 0 }
    nodes.jailed = await market.startNode({
      name: 'jailed',
      account: 2,
      provider: { cores: 2, memoryMb: 512, pricing: cheap, stake: 100n * BZR },
    })
    nodes.understaked = await market.startNode({
      name: 'understaked',
      account: 3,
      provider: { cores: 2, memoryMb: 512, pricing: cheap, stake: 5n * BZR },
    })
    nodes.worse = await market.startNode({
      name: 'worse',
      account: worseAccount,
      provider: { cores: 2, memoryMb: 512, pricing: fair, stake: 100n * BZR },
    })
    nodes.good = await market.startNode({
      name: 'good',
      account: goodAccount,
      provider: { cores: 2, memoryMb: 512, pricing: fair, stake: 100n * BZR },
    })
    requester = await market.startNode({
      name: 'requester',
      account: 1,
      requester: { policy: { minStake: MIN_STAKE } },
    })
    await requester.network.waitForJobSubscribers(4, { signal: AbortSignal.timeout(20_000) })
    await waitFor('every offer', () => (requester.requester?.offers.size ?? 0) >= 4)
    for (let i = 0; i < JOBS; i++)
      results.push(await runJob(requester, await testJob(`standing-${i}`, 2n * GWEI)))
  })

  after(async () => {
    await market?.stop()
  })

  const address = (node: BazaarNode) => node.chain.address.toLowerCase()

  it('completes every job, always with the provider of the better record', () => {
    for (const { outcome } of results) {
      assert.equal(outcome.status, 'completed', outcome.error?.message)
      assert.equal(outcome.provider?.toLowerCase(), address(nodes.good))
    }
  })

  it('never awards the jailed or the under-staked provider, though they bid cheapest', () => {
    for (const { events } of results) {
      const bids = lastRoundBids(events)
      for (const loser of [nodes.jailed, nodes.understaked]) {
        assert.equal(bids.get(address(loser)), GWEI, 'it bid, at the lowest price')
      }
      const rejected = new Map(
        events
          .filter((e): e is Extract<Timed, { type: 'bid-rejected' }> => e.type === 'bid-rejected')
          .map((e) => [e.provider.toLowerCase(), e.reason]),
      )
      assert.match(rejected.get(address(nodes.jailed)) ?? '', /jailed/)
      assert.match(rejected.get(address(nodes.understaked)) ?? '', /stake \d+ below minimum/)
    }
  })

  it('breaks a tie of equal bids by on-chain reputation, not by address', async () => {
    assert.ok(address(nodes.worse) < address(nodes.good), 'the address tie-break favours `worse`')
    for (const { events } of results) {
      const bids = lastRoundBids(events)
      assert.equal(bids.get(address(nodes.worse)), bids.get(address(nodes.good)), 'equal bids')
    }
    const [worse, good] = await Promise.all([
      market.admin.reputationOf(nodes.worse.chain.address),
      market.admin.reputationOf(nodes.good.chain.address),
    ])
    assert.equal(worse.failed, 1n)
    assert.equal(good.failed, 0n)
  })
})
