import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JobRecord } from '@bazaar/chain'
import pino from 'pino'
import type { Address } from 'viem'
import { type CollectedJob, collectPayments, type PaymentCollectorInit } from './payment-collector.ts'

const ME: Address = '0x00000000000000000000000000000000000000aa'
const OTHER: Address = '0x00000000000000000000000000000000000000bb'

/** A chain double holding job records; finalize pays fuel x price and flips the status. */
function fakeChain(jobs: Map<bigint, Partial<JobRecord>>, now: bigint, finalizeError?: Error) {
  const finalized: bigint[] = []
  const chain: PaymentCollectorInit['chain'] = {
    address: ME,
    challengeWindow: async () => 100n,
    nowSeconds: async () => now,
    getJob: async (jobId) => ({ status: 'None', ...jobs.get(jobId) }) as JobRecord,
    finalize: async (jobId) => {
      if (finalizeError) throw finalizeError
      finalized.push(jobId)
      const job = jobs.get(jobId)!
      jobs.set(jobId, { ...job, status: 'Finalized' })
      return { hash: '0x01', gasUsed: 50_000n, paid: 7n, refunded: 3n }
    },
  }
  return { chain, finalized }
}

/** Block times ahead of this machine's clock, so they, not the clock, decide what is due. */
const T = BigInt(Math.floor(Date.now() / 1000)) + 100_000n

const revealed = (revealedAt: bigint, provider = ME): Partial<JobRecord> => ({
  status: 'Revealed',
  provider,
  revealedAt,
})

describe('payment collector', () => {
  const logger = pino({ level: 'silent' })

  it('finalizes only its own revealed jobs left unsettled past the window and the grace', async () => {
    const jobs = new Map<bigint, Partial<JobRecord>>([
      [1n, revealed(T + 1_000n)], // window ends 1100, grace 60: due after 1160
      [2n, revealed(T + 1_100n)], // due after 1260: not yet
      [3n, { status: 'Finalized', provider: ME }],
      [4n, { status: 'Expired', provider: ME }],
      [5n, revealed(T + 1_000n, OTHER)],
    ])
    const { chain, finalized } = fakeChain(jobs, T + 1_200n)
    const seen: CollectedJob[] = []
    const out = await collectPayments({
      chain,
      logger,
      graceSeconds: 60n,
      revealed: () => [1n, 2n, 3n, 4n, 5n],
      onCollected: (job) => seen.push(job),
    })
    assert.deepEqual(finalized, [1n])
    assert.deepEqual(out, seen)
    assert.deepEqual(
      seen.map((j) => [j.jobId, j.outcome]),
      [
        [1n, 'finalized-by-us'],
        [3n, 'finalized'],
        [4n, 'closed'],
        [5n, 'closed'],
      ],
    )
    assert.equal((seen[0] as { paid: bigint }).paid, 7n)
  })

  it('a job exactly at the end of window + grace is not yet due (the contract needs a later block)', async () => {
    const { chain, finalized } = fakeChain(new Map([[1n, revealed(T + 1_000n)]]), T + 1_160n)
    const seen: CollectedJob[] = []
    await collectPayments({
      chain,
      logger,
      graceSeconds: 60n,
      revealed: () => [1n],
      onCollected: (j) => seen.push(j),
    })
    assert.deepEqual(finalized, [])
    assert.deepEqual(seen, [])
  })

  it('a finalize that fails (job held for verification) leaves the job for the next sweep', async () => {
    const jobs = new Map([[1n, revealed(T)]])
    const { chain } = fakeChain(jobs, T + 10_000n, new Error('JobMarket__OnHold'))
    const seen: CollectedJob[] = []
    const out = await collectPayments({
      chain,
      logger,
      revealed: () => [1n],
      onCollected: (j) => seen.push(j),
    })
    assert.deepEqual(out, [])
    assert.deepEqual(seen, [])
  })

  it('looks at no more than maxPerSweep jobs at a time, oldest first', async () => {
    const jobs = new Map<bigint, Partial<JobRecord>>()
    for (let i = 1n; i <= 10n; i++) jobs.set(i, revealed(T))
    const { chain, finalized } = fakeChain(jobs, T + 10_000n)
    await collectPayments({
      chain,
      logger,
      maxPerSweep: 3,
      revealed: () => [...jobs.keys()],
      onCollected: () => undefined,
    })
    assert.deepEqual(finalized, [1n, 2n, 3n])
  })

  it("judges by this machine's clock when the chain's latest block is older (a quiet chain)", async () => {
    const wall = BigInt(Math.floor(Date.now() / 1000))
    const { chain, finalized } = fakeChain(new Map([[1n, revealed(wall - 200n)]]), wall - 190n)
    await collectPayments({
      chain,
      logger,
      graceSeconds: 60n,
      revealed: () => [1n],
      onCollected: () => undefined,
    })
    assert.deepEqual(finalized, [1n])
  })
})
