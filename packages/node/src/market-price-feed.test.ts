import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JobRecord } from '@bazaar/chain'
import type { AwardEvent } from '@bazaar/chain/bazaar-contracts'
import { hashJobDescriptor, type JobAnnouncement, type JobDescriptor } from '@bazaar/protocol'
import pino from 'pino'
import type { Address, Hex } from 'viem'
import { MarketPriceFeed } from './market-price-feed.ts'

const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address
const provider = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address

function descriptor(cores: number, memoryMb: number): JobDescriptor {
  return {
    name: 'feed-test',
    runtime: 'wasm',
    moduleCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
    args: [],
    env: {},
    inputs: [],
    resources: { cores, memoryMb },
    limits: { fuel: '50000000', timeoutMs: 1_000, outputBytes: 1_024 },
    maxPricePerFuel: '100',
    verification: { mode: 'none' },
  }
}

function announcement(jobId: bigint, job: JobDescriptor): JobAnnouncement {
  return {
    type: 'job-announcement',
    chainId: 31337,
    market,
    jobId: jobId.toString(),
    requester: provider,
    requesterPeerId: '12D3KooWRequester',
    specHash: hashJobDescriptor(job),
    job,
    bidDeadline: Date.now() + 1_000,
    requesterAddrs: [],
  }
}

/** A chain that holds a list of awards and the spec hash of each job. */
function fakeChain(jobs: Map<bigint, Hex>) {
  const awards: AwardEvent[] = []
  let block = 10n
  const chain = {
    chainId: 31337,
    market,
    blockNumber: async () => block,
    awardsSince: async (from: bigint) => ({
      awards: awards.filter((a) => a.blockNumber >= from),
      toBlock: block,
    }),
    getJob: async (jobId: bigint) =>
      ({ jobId, specHash: jobs.get(jobId)!, maxFuel: 50_000_000n }) as Partial<JobRecord> as JobRecord,
    award(jobId: bigint, pricePerFuel: bigint, timeSeconds: bigint) {
      block++
      awards.push({
        jobId,
        provider,
        pricePerFuel,
        collateral: 1n,
        blockNumber: block,
        logIndex: 0,
        timeSeconds,
      })
    },
  }
  return chain
}

describe('MarketPriceFeed', () => {
  it('classes awards by announcements whose descriptor matches the on-chain spec hash, else by fuel', async () => {
    const small = descriptor(1, 64)
    const big = descriptor(4, 4096)
    const jobs = new Map<bigint, Hex>([
      [1n, hashJobDescriptor(small)],
      [2n, hashJobDescriptor(big)],
      [3n, hashJobDescriptor(small)],
    ])
    const chain = fakeChain(jobs)
    const feed = new MarketPriceFeed({ fromBlock: 0n }, { chain, logger: pino({ level: 'silent' }) })
    feed.learn(announcement(1n, small))
    // A peer claims job 2 is small: its descriptor does not hash to job 2's spec, so it is ignored.
    feed.learn(announcement(2n, small))
    // Another market's announcement is not ours.
    feed.learn({ ...announcement(3n, small), market: provider })
    const now = BigInt(Math.floor(Date.now() / 1000))
    chain.award(1n, 40n, now - 5n)
    chain.award(2n, 70n, now - 4n)
    chain.award(3n, 50n, now - 3n)
    assert.equal(await feed.poll(), 3)
    const snapshot = feed.snapshot()
    assert.deepEqual(Object.keys(snapshot).sort(), ['unclassified/f64m', 'wasm/c1/m64m'])
    assert.equal(snapshot['wasm/c1/m64m']!.count, 1)
    assert.equal(snapshot['wasm/c1/m64m']!.recent, 40n)
    assert.equal(snapshot['unclassified/f64m']!.count, 2)
    assert.deepEqual([feed.stats.classified, feed.stats.unclassified], [1, 2])
  })

  it('counts an award once across rescans and polls, and never times it after its own clock', async () => {
    const job = descriptor(1, 64)
    const chain = fakeChain(new Map([[7n, hashJobDescriptor(job)]]))
    const feed = new MarketPriceFeed(
      { fromBlock: 0n, rescanBlocks: 5n },
      { chain, logger: pino({ level: 'silent' }) },
    )
    feed.learn(announcement(7n, job))
    const now = BigInt(Math.floor(Date.now() / 1000))
    // A devnet clock moved an hour ahead: the award is still in the index for a node asking now.
    chain.award(7n, 42n, now + 3600n)
    assert.equal(await feed.poll(), 1)
    assert.equal(await feed.poll(), 0)
    assert.equal(await feed.poll(), 0)
    assert.equal(feed.index.size, 1)
    assert.equal(feed.snapshot()['wasm/c1/m64m']?.recent, 42n)
  })
})
