/**
 * Replicated jobs (`verification: { mode: replicated, k }`) end to end on real parts: embedded
 * EVM (EDR) with the VerificationCourt, libp2p over TCP on 127.0.0.1, WASM in worker sandboxes,
 * SQLite. Which providers win a job's replicas is steered by what they can hold: `mallory`
 * (1 core, 64 MB, cheapest of those) returns a wrong result (a test-only executor wrapper flips
 * its output), and so does its accomplice `mallory-2` (1 core, 48 MB); `sleepy` (2 cores, 32 MB, cheapest of all) takes jobs and never delivers; the
 * honest ones (2 cores, 256 MB) fit everything. `lazy` (2 cores, 20 MB, cheapest) waits to copy another
 * replica's revealed result; `diligent`, next in price with the same size, is its honest sibling. Honest providers sit in the referee pool and
 * re-execute disputed jobs for real.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { jobMarketAbi } from '@bazaar/contracts'
import { createExecutor } from '@bazaar/executor'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { examplesBuildDir } from '../src/demo/run-demo.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { JobEvent } from '../src/requester/job-events.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'
import type { RefereeEvent } from '../src/verification/referee-duty.ts'
import { lazyCopier, noShow, wrongResult } from './misbehaving-runners.ts'

const logger = pino({ level: process.env.BAZAAR_TEST_LOG ?? 'silent' })
const GWEI = 1_000_000_000n
const COLLATERAL = 10n ** 18n // the market's least collateral (1 BZR): what a fault costs
const TEXT = 'the quick brown fox jumps over the lazy dog the end'

describe('replicated jobs on a real local market', () => {
  let market: LocalMarket
  let module: Uint8Array
  let moduleCid: string
  const refereeEvents: { provider: string; event: RefereeEvent }[] = []

  before(async () => {
    module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
    moduleCid = await cidOf(module)
    const honest = (name: string, floor: bigint) => ({
      name,
      cores: 2,
      memoryMb: 256,
      pricing: { floorPerFuel: floor, utilizationMarkupPercent: 0 },
    })
    market = await startLocalMarket({
      logger,
      providers: [
        {
          name: 'mallory',
          cores: 1,
          memoryMb: 64,
          pricing: { floorPerFuel: GWEI / 2n, utilizationMarkupPercent: 0 },
          wrapRunner: wrongResult,
        },
        // Mallory's accomplice: the same wrong result, cheaper still, and only 48 MB (so it only
        // wins the jobs the colluding-pair test asks for). Kept out of the referee pool, so a
        // dispute's referees never hold two wrong votes.
        {
          name: 'mallory-2',
          cores: 1,
          memoryMb: 48,
          pricing: { floorPerFuel: GWEI / 4n, utilizationMarkupPercent: 0 },
          wrapRunner: wrongResult,
          referee: false,
        },
        {
          name: 'sleepy',
          cores: 2,
          memoryMb: 32,
          pricing: { floorPerFuel: GWEI / 8n, utilizationMarkupPercent: 0 },
          wrapRunner: noShow,
          // It would never answer as a referee either: keep it out of the pool.
          referee: false,
        },
        // The lazy copier and its honest sibling: only 2-core 20 MB jobs fit both and nobody else
        // cheaper, so they take those jobs' two replicas and no other test's.
        {
          name: 'lazy',
          cores: 2,
          memoryMb: 20,
          pricing: { floorPerFuel: GWEI / 16n, utilizationMarkupPercent: 0 },
          wrapRunner: lazyCopier((specHash) => siblingRevealed('lazy', specHash)),
          referee: false,
        },
        {
          name: 'diligent',
          cores: 2,
          memoryMb: 20,
          pricing: { floorPerFuel: GWEI / 16n + 1n, utilizationMarkupPercent: 0 },
          referee: false,
        },
        honest('honest-a', GWEI),
        honest('honest-b', GWEI + 1n),
        honest('honest-c', GWEI + 2n),
        honest('honest-d', GWEI + 3n),
      ],
      challengeWindow: 6n,
      verification: {
        pollMs: 100,
        onRefereeEvent: (provider, event) => refereeEvents.push({ provider, event }),
        watchProbability: 0,
      },
    })
  })
  after(async () => {
    await market?.stop()
  })

  const address = (name: string) => market.providers.find((p) => p.name === name)!.chain.address

  /** Whether another provider than `name` revealed a job of this spec (the lazy copier's watch). */
  async function siblingRevealed(name: string, specHash: string): Promise<boolean> {
    const count = await market.admin.clients.publicClient.readContract({
      address: market.deployment.market,
      abi: jobMarketAbi,
      functionName: 'jobCount',
    })
    for (let id = count; id > 0n && id > count - 10n; id--) {
      const job = await market.admin.getJob(id)
      if (job.specHash.toLowerCase() !== specHash.toLowerCase()) continue
      if (job.provider === address(name)) continue
      if (job.status === 'Revealed' || job.status === 'Finalized') return true
    }
    return false
  }

  async function replicated(resources: { cores: number; memoryMb: number }, k = 2, executionSeconds = 120) {
    const spec = validateJobSpec({
      version: 1,
      name: 'replicated-wordcount',
      runtime: 'wasm',
      module: { cid: moduleCid },
      args: ['text.txt'],
      inputs: [{ name: 'text.txt', text: TEXT }],
      resources,
      limits: { fuel: '20000000', timeoutMs: 10_000 },
      price: { maxPerFuel: (5n * GWEI).toString() },
      verification: { mode: 'replicated', k },
      // The round closes as soon as every provider answered; the long window only matters on a
      // loaded machine, where a 600 ms one let the cheapest bid arrive too late (seen in CI).
      deadlines: { biddingMs: 3_000, executionSeconds },
    })
    const prepared = await prepareJob(spec, { baseDir: '.', known: new Map([[moduleCid, module]]) })
    const events: JobEvent[] = []
    const outcome = await market.requester.requester!.run(prepared, { onEvent: (e) => events.push(e) })
    return { prepared, outcome, events }
  }

  /** What an honest machine computes for the job: replicas are seeded by the spec hash. */
  async function direct(seed: string) {
    const executor = createExecutor({ workers: 1 })
    try {
      return await executor.run({
        module,
        args: ['text.txt'],
        env: {},
        inputs: [{ path: 'text.txt', bytes: new TextEncoder().encode(TEXT) }],
        limits: { fuel: 20_000_000n, memoryMb: 128, timeoutMs: 10_000, outputBytes: 65_536 },
        seed,
      })
    } finally {
      await executor.close()
    }
  }

  async function balances(names: string[]) {
    const out = new Map<string, bigint>()
    for (const n of names) out.set(n, await market.admin.balanceOf(address(n)))
    out.set('requester', await market.admin.balanceOf(market.requester.chain.address))
    return out
  }

  async function supplyConserved() {
    const holders = [
      market.deployment.deployer,
      market.requester.chain.address,
      ...market.providers.map((p) => p.chain.address),
      market.deployment.market,
      market.deployment.registry,
      market.deployment.court,
    ]
    let sum = 0n
    for (const h of holders) sum += await market.admin.balanceOf(h)
    assert.equal(sum, await market.admin.totalSupply(), 'tokens appeared or vanished')
    assert.equal(await market.admin.balanceOf(market.deployment.market), 0n, 'no escrow left behind')
  }

  it('k=2, both honest: two providers each paid fuel x price, the requester charged for both, nothing slashed', async () => {
    const names = ['honest-a', 'honest-b', 'honest-c', 'honest-d']
    const stakes = new Map<string, bigint>()
    for (const n of names) stakes.set(n, await market.admin.stakeOf(address(n)))
    const before = await balances(names)
    const { prepared, outcome, events } = await replicated({ cores: 1, memoryMb: 128 })
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const replicas = outcome.replicas ?? []
    assert.equal(replicas.length, 2)
    assert.deepEqual(
      replicas.map((r) => r.provider),
      [address('honest-a'), address('honest-b')],
      'the two cheapest fitting providers, one replica each',
    )
    const verdict = events.find((e) => e.type === 'replicas-settled')
    assert.ok(verdict?.type === 'replicas-settled')
    assert.equal(verdict.verdict, 'agreed')
    assert.equal(verdict.disputed, false)
    const after = await balances(names)
    let charged = 0n
    for (const r of replicas) {
      assert.equal(r.status, 'upheld')
      assert.equal(r.paid, outcome.fuelUsed * r.pricePerFuel, 'paid exactly fuel x its price')
      assert.equal(r.slashed, 0n)
      const name = names.find((n) => address(n) === r.provider)!
      assert.equal(after.get(name)! - before.get(name)!, outcome.fuelUsed * r.pricePerFuel)
      charged += outcome.fuelUsed * r.pricePerFuel
    }
    assert.equal(before.get('requester')! - after.get('requester')!, charged, 'charged for both replicas')
    assert.equal(outcome.paid, charged)
    assert.equal(outcome.paid + outcome.refunded, outcome.escrow)
    for (const n of names) assert.equal(await market.admin.stakeOf(address(n)), stakes.get(n), `${n} slashed`)
    // The output is what an honest machine computes, with the replica group's seed.
    const expected = await direct(prepared.specHash)
    assert.deepEqual(outcome.output, expected.stdout)
    assert.equal(outcome.fuelUsed, expected.fuelUsed)
    const types = events.map((e) => e.type)
    for (const step of [
      'created',
      'announced',
      'awarded',
      'replicas-linked',
      'revealed',
      'verified',
      'finalized',
    ]) {
      assert.ok(types.includes(step as JobEvent['type']), `no ${step} event in ${types.join(', ')}`)
    }
    // Linked before any replica revealed.
    assert.ok(types.indexOf('replicas-linked') < types.indexOf('revealed'), types.join(', '))
    // The whole timeline is on the job's record too.
    const stored = market.requester.db.requesterJobs.events<{ type: string }>(outcome.jobId)
    assert.ok(stored.some((e) => e.type === 'replicas-settled'))
    await supplyConserved()
  })

  it('k=2, one wrong result: referees find it, the cheater is slashed, the honest one paid, the requester gets the right output', async () => {
    const mallory = address('mallory')
    const honestA = address('honest-a')
    const malloryStake = await market.admin.stakeOf(mallory)
    const malloryBalance = await market.admin.balanceOf(mallory)
    const honestBefore = await market.admin.balanceOf(honestA)
    const requesterBefore = await market.admin.balanceOf(market.requester.chain.address)
    const { prepared, outcome, events } = await replicated({ cores: 1, memoryMb: 64 })
    const replicas = outcome.replicas ?? []
    assert.deepEqual(
      replicas.map((r) => r.provider),
      [mallory, honestA],
    )
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const verdict = events.find((e) => e.type === 'replicas-settled')
    assert.ok(verdict?.type === 'replicas-settled')
    assert.equal(verdict.verdict, 'verified')
    assert.equal(verdict.disputed, true)
    const types = events.map((e) => e.type)
    for (const step of ['replicas-linked', 'referees-drawn', 'replicas-settled', 'verified']) {
      assert.ok(types.includes(step as JobEvent['type']), `no ${step} event in ${types.join(', ')}`)
    }
    const [bad, good] = replicas
    assert.equal(bad?.status, 'slashed')
    assert.equal(bad?.paid, 0n, 'the wrong result is never paid')
    assert.equal(good?.status, 'upheld')
    assert.equal(good?.paid, outcome.fuelUsed * good!.pricePerFuel)
    assert.equal(outcome.provider, honestA, 'the output came from the upheld replica')
    assert.equal(await market.admin.stakeOf(mallory), malloryStake - COLLATERAL)
    assert.equal(await market.admin.balanceOf(mallory), malloryBalance, 'mallory earned nothing')
    assert.ok((await market.admin.balanceOf(honestA)) >= honestBefore + good!.paid)
    // The requester paid the honest replica only (and got a share of the slash back, if any).
    const spent = requesterBefore - (await market.admin.balanceOf(market.requester.chain.address))
    assert.ok(spent <= good!.paid, `spent ${spent}, the honest replica cost ${good!.paid}`)
    const expected = await direct(prepared.specHash)
    assert.deepEqual(outcome.output, expected.stdout)
    const revealed = refereeEvents.filter((r) => r.event.type === 'revealed').map((r) => r.provider)
    assert.ok(revealed.length >= 2, `revealed by ${revealed.join(', ')}`)
    assert.ok(
      !revealed.includes('mallory') && !revealed.includes('honest-a'),
      'a party never judges its own case',
    )
    await supplyConserved()
  })

  it('k=3 against a colluding pair: two replicas agree on a wrong result, referees side with the third', async () => {
    const pair = [address('mallory-2'), address('mallory')]
    const stakes = await Promise.all(pair.map((a) => market.admin.stakeOf(a)))
    const { prepared, outcome, events } = await replicated({ cores: 1, memoryMb: 48 }, 3)
    const replicas = outcome.replicas ?? []
    // Who wins which replica depends on price and on standing (mallory already has a fault on
    // record): the three that fit 48 MB at the lowest prices, one replica each.
    const byProvider = new Map(replicas.map((r) => [r.provider, r]))
    assert.deepEqual([...byProvider.keys()].sort(), [...pair, address('honest-a')].sort())
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    for (const a of pair) {
      assert.equal(byProvider.get(a)?.status, 'slashed')
      assert.equal(byProvider.get(a)?.paid, 0n, 'a wrong replica is never paid')
    }
    const honest = byProvider.get(address('honest-a'))!
    assert.equal(honest.status, 'upheld')
    assert.equal(honest.paid, outcome.fuelUsed * honest.pricePerFuel)
    assert.equal(outcome.provider, address('honest-a'))
    for (const [i, a] of pair.entries()) assert.equal(await market.admin.stakeOf(a), stakes[i]! - COLLATERAL)
    const verdict = events.find((e) => e.type === 'replicas-settled')
    assert.ok(verdict?.type === 'replicas-settled' && verdict.verdict === 'verified' && verdict.disputed)
    assert.deepEqual(outcome.output, (await direct(prepared.specHash)).stdout)
    await supplyConserved()
  })

  it('k=2, one replica never delivers: it is reclaimed and slashed, the other paid after the referees confirm it', async () => {
    const sleepy = address('sleepy')
    const sleepyStake = await market.admin.stakeOf(sleepy)
    const { outcome, events } = await replicated({ cores: 2, memoryMb: 32 }, 2, 10)
    const replicas = outcome.replicas ?? []
    // Both providers hold a replica, in whichever order their awards landed.
    assert.deepEqual(replicas.map((r) => r.provider).sort(), [sleepy, address('honest-a')].sort())
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const late = replicas.find((r) => r.provider === sleepy)
    const good = replicas.find((r) => r.provider === address('honest-a'))
    assert.equal(late?.status, 'expired')
    assert.equal(late?.paid, 0n)
    assert.equal(good?.status, 'upheld')
    assert.equal(good?.paid, outcome.fuelUsed * good!.pricePerFuel)
    assert.equal(await market.admin.stakeOf(sleepy), sleepyStake - COLLATERAL)
    const verdict = events.find((e) => e.type === 'replicas-settled')
    assert.ok(verdict?.type === 'replicas-settled')
    assert.equal(verdict.verdict, 'verified', 'a lone surviving replica is judged by referees')
    assert.ok(events.some((e) => e.type === 'refunded' && e.jobId === late!.jobId))
    await supplyConserved()
  })

  it('k=2 with a lazy copier: nothing is revealed before it must commit, so it misses its commit and is slashed, the honest replica paid', async () => {
    const lazy = address('lazy')
    const diligent = address('diligent')
    const lazyStake = await market.admin.stakeOf(lazy)
    const lazyBalance = await market.admin.balanceOf(lazy)
    const { prepared, outcome, events } = await replicated({ cores: 2, memoryMb: 20 }, 2, 10)
    const replicas = outcome.replicas ?? []
    // Both providers hold a replica, in whichever order their awards landed.
    assert.deepEqual(replicas.map((r) => r.provider).sort(), [lazy, diligent].sort())
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    const copier = replicas.find((r) => r.provider === lazy)
    const honest = replicas.find((r) => r.provider === diligent)
    // Without the court's reveal barrier the honest replica would reveal at once, the copier would
    // commit the same result and both would be paid.
    assert.equal(copier?.status, 'expired', 'the copier never saw a result to copy, so never committed')
    assert.equal(copier?.paid, 0n)
    assert.equal(await market.admin.stakeOf(lazy), lazyStake - COLLATERAL)
    assert.equal(await market.admin.balanceOf(lazy), lazyBalance, 'the copier earned nothing')
    assert.equal(honest?.status, 'upheld')
    assert.equal(honest?.paid, outcome.fuelUsed * honest!.pricePerFuel)
    assert.equal(outcome.provider, diligent)
    assert.deepEqual(outcome.output, (await direct(prepared.specHash)).stdout)
    const verdict = events.find((e) => e.type === 'replicas-settled')
    assert.ok(verdict?.type === 'replicas-settled')
    assert.equal(verdict.verdict, 'verified', 'the lone surviving replica is judged by referees')
    await supplyConserved()
  })

  it('refuses k larger than the distinct providers it can find, refunding every escrow', async () => {
    // Four providers (the honest ones) fit a 2-core 200 MB job: five replicas cannot be placed.
    const before = await market.admin.balanceOf(market.requester.chain.address)
    const { outcome } = await replicated({ cores: 2, memoryMb: 200 }, 5)
    assert.equal(outcome.status, 'refunded')
    assert.equal(outcome.error?.code, 'E_NO_BIDS')
    assert.equal(outcome.refunded, outcome.escrow)
    assert.equal(await market.admin.balanceOf(market.requester.chain.address), before)
    await supplyConserved()
  })
})
