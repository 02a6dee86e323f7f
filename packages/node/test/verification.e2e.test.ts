/**
 * Audited jobs end to end on real parts: embedded EVM (EDR) with the VerificationCourt,
 * libp2p over TCP on 127.0.0.1, WASM in worker sandboxes. Five providers: the cheapest one
 * cheats (a test-only executor wrapper flips its output bytes, so its receipt names a wrong
 * output), the others are honest and sit in the referee pool. Every job is audited
 * (probability 1), so the court draws an honest auditor, which re-executes the job for real;
 * the mismatch goes to referees, who re-execute it too.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createExecutor } from '@bazaar/executor'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { examplesBuildDir } from '../src/demo/run-demo.ts'
import { type LocalMarket, startLocalMarket } from '../src/local-market.ts'
import type { JobEvent } from '../src/requester/job-events.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'
import type { RefereeEvent } from '../src/verification/referee-duty.ts'
import type { WatcherEvent } from '../src/verification/watcher.ts'
import { greedyFuel, noShow, wrongResult } from './misbehaving-runners.ts'

const logger = pino({ level: process.env.BAZAAR_TEST_LOG ?? 'silent' })
const GWEI = 1_000_000_000n

describe('audited jobs on a real local market', () => {
  let market: LocalMarket
  let module: Uint8Array
  let moduleCid: string
  const refereeEvents: { provider: string; event: RefereeEvent }[] = []
  const watcherEvents: { provider: string; event: WatcherEvent }[] = []

  before(async () => {
    module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
    moduleCid = await cidOf(module)
    const honest = (name: string, floor: bigint) => ({
      name,
      cores: 1,
      memoryMb: 256,
      pricing: { floorPerFuel: floor, utilizationMarkupPercent: 0 },
    })
    market = await startLocalMarket({
      logger,
      providers: [
        // The cheater is cheapest and small: it wins jobs that fit in 64 MB.
        {
          name: 'mallory',
          cores: 1,
          memoryMb: 64,
          pricing: { floorPerFuel: GWEI / 2n, utilizationMarkupPercent: 0 },
          wrapRunner: wrongResult,
        },
        // Cheaper still and smaller: it wins jobs that fit in 32 MB, and over-claims fuel.
        {
          name: 'greedy',
          cores: 1,
          memoryMb: 32,
          pricing: { floorPerFuel: GWEI / 4n, utilizationMarkupPercent: 0 },
          wrapRunner: greedyFuel,
        },
        // The cheapest of all and the smallest: it wins 16 MB jobs, then never commits.
        {
          name: 'sleepy',
          cores: 1,
          memoryMb: 16,
          pricing: { floorPerFuel: GWEI / 8n, utilizationMarkupPercent: 0 },
          wrapRunner: noShow,
          // It would never answer as auditor or referee either: keep it out of the pool.
          referee: false,
        },
        honest('honest-a', GWEI),
        honest('honest-b', GWEI + 1n),
        honest('honest-c', GWEI + 2n),
        honest('honest-d', GWEI + 3n),
      ],
      // Short, so an unchallenged optimistic job finalizes within the test.
      challengeWindow: 6n,
      verification: {
        pollMs: 100,
        onRefereeEvent: (provider, event) => refereeEvents.push({ provider, event }),
        // Every provider re-checks every optimistic job (the default is 10%).
        watchProbability: 1,
        onWatcherEvent: (provider, event) => watcherEvents.push({ provider, event }),
      },
    })
    // Greedy does not watch optimistic jobs (its fuel claims would challenge every one of them);
    // it still serves as auditor and referee, with its wrong fuel, and is outvoted.
    await market.providers[1]!.watcher?.stop()
  })
  after(async () => {
    await market?.stop()
  })

  async function audited(
    memoryMb: number,
    verification: object = { mode: 'audit', probability: 1 },
    executionSeconds = 120,
  ) {
    const spec = validateJobSpec({
      version: 1,
      name: 'audited-wordcount',
      runtime: 'wasm',
      module: { cid: moduleCid },
      args: ['text.txt'],
      inputs: [{ name: 'text.txt', text: 'the quick brown fox jumps over the lazy dog the end' }],
      resources: { cores: 1, memoryMb },
      limits: { fuel: '20000000', timeoutMs: 10_000 },
      price: { maxPerFuel: (5n * GWEI).toString() },
      verification,
      deadlines: { biddingMs: 600, executionSeconds },
    })
    const prepared = await prepareJob(spec, { baseDir: '.', known: new Map([[moduleCid, module]]) })
    const events: JobEvent[] = []
    const outcome = await market.requester.requester!.run(prepared, { onEvent: (e) => events.push(e) })
    return { outcome, events }
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
  }

  it('catches a wrong result: the cheater is slashed and the requester pays nothing', async () => {
    const mallory = market.providers[0]!.chain.address
    const stakeBefore = await market.admin.stakeOf(mallory)
    const balanceBefore = await market.admin.balanceOf(market.requester.chain.address)
    const { outcome, events } = await audited(64)
    assert.equal(outcome.provider, mallory, 'the cheapest provider (the cheater) won the job')
    assert.equal(outcome.status, 'refunded', JSON.stringify(outcome.error))
    assert.equal(outcome.error?.code, 'E_VERIFICATION_FAILED')
    assert.equal(outcome.paid, 0n)
    assert.equal(outcome.refunded, outcome.escrow)
    const types = events.map((e) => e.type)
    for (const step of ['awarded', 'audit-opened', 'revealed', 'audit-drawn', 'referees-drawn', 'audited']) {
      assert.ok(types.includes(step as JobEvent['type']), `no ${step} event in ${types.join(', ')}`)
    }
    const verdict = events.find((e) => e.type === 'audited')
    assert.deepEqual(verdict && 'verdict' in verdict ? verdict.verdict : undefined, 'provider-wrong')
    // Slashed its job collateral (the market's least collateral, 1 BZR), with a fault on record.
    assert.equal(await market.admin.stakeOf(mallory), stakeBefore - 10n ** 18n)
    assert.equal((await market.admin.reputationOf(mallory)).failed, 1n)
    // The requester paid the audit fee and got its escrow back plus a share of the slash.
    assert.ok((await market.admin.balanceOf(market.requester.chain.address)) >= balanceBefore)
    // Honest providers really re-executed it: the auditor and the referees revealed.
    const revealed = refereeEvents.filter((r) => r.event.type === 'revealed').map((r) => r.provider)
    assert.ok(revealed.length >= 2, `revealed by ${revealed.join(', ')}`)
    assert.ok(!revealed.includes('mallory'), 'a party never judges its own job')
    await supplyConserved()
  })

  it('pays an honest provider once the audit confirms its result, and hands over the right output', async () => {
    const { outcome, events } = await audited(128)
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    assert.notEqual(outcome.provider, market.providers[0]!.chain.address)
    const verdict = events.find((e) => e.type === 'audited')
    assert.deepEqual(verdict && 'verdict' in verdict ? verdict.verdict : undefined, 'verified')
    assert.equal(outcome.paid, outcome.fuelUsed * outcome.pricePerFuel!)
    assert.equal(outcome.paid + outcome.refunded, outcome.escrow)
    const executor = createExecutor({ workers: 1 })
    try {
      const direct = await executor.run({
        module,
        args: ['text.txt'],
        env: {},
        inputs: [
          {
            path: 'text.txt',
            bytes: new TextEncoder().encode('the quick brown fox jumps over the lazy dog the end'),
          },
        ],
        limits: { fuel: 20_000_000n, memoryMb: 128, timeoutMs: 10_000, outputBytes: 65_536 },
        seed: outcome.jobId.toString(),
      })
      assert.deepEqual(outcome.output, direct.stdout)
      assert.equal(outcome.fuelUsed, direct.fuelUsed)
    } finally {
      await executor.close()
    }
    await supplyConserved()
  })

  it('optimistic: a watcher re-executes, challenges the wrong result, and referees slash the cheater', async () => {
    const mallory = market.providers[0]!.chain.address
    const stakeBefore = await market.admin.stakeOf(mallory)
    const { outcome, events } = await audited(64, { mode: 'optimistic' })
    assert.equal(outcome.provider, mallory)
    assert.equal(outcome.status, 'refunded', JSON.stringify(outcome.error))
    assert.equal(outcome.error?.code, 'E_VERIFICATION_FAILED')
    assert.deepEqual([outcome.paid, outcome.refunded], [0n, outcome.escrow])
    const types = events.map((e) => e.type)
    assert.ok(types.includes('challenged'), types.join(', '))
    const verdict = events.find((e) => e.type === 'challenge-verdict')
    assert.deepEqual(verdict && 'verdict' in verdict ? verdict.verdict : undefined, 'provider-wrong')
    assert.equal(await market.admin.stakeOf(mallory), stakeBefore - 10n ** 18n)
    const challengers = watcherEvents.filter((w) => w.event.type === 'challenged').map((w) => w.provider)
    assert.equal(challengers.length, 1, 'one challenge per job; the others find it taken')
    assert.ok(!challengers.includes('mallory'))
    await supplyConserved()
  })

  it('optimistic: the cheater challenges an honest result, loses its bond, and the result stands', async () => {
    // Mallory's executor flips every output, so as a watcher it "finds" every honest result
    // wrong and challenges it: the referees uphold the result and its bond pays for the trouble.
    const mallory = market.providers[0]!.chain.address
    const malloryBefore = await market.admin.balanceOf(mallory)
    const { outcome, events } = await audited(128, { mode: 'optimistic' })
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    assert.notEqual(outcome.provider, mallory)
    const verdict = events.find((e) => e.type === 'challenge-verdict')
    assert.deepEqual(verdict && 'verdict' in verdict ? verdict.verdict : undefined, 'upheld')
    assert.equal(outcome.paid, outcome.fuelUsed * outcome.pricePerFuel!)
    assert.equal(outcome.paid + outcome.refunded, outcome.escrow)
    const challenger = watcherEvents.find(
      (w) => w.event.type === 'challenged' && w.event.jobId === outcome.jobId,
    )
    assert.equal(challenger?.provider, 'mallory')
    // The challenge bond (the market's least collateral, 1 BZR) is gone.
    assert.equal(await market.admin.balanceOf(mallory), malloryBefore - 10n ** 18n)
    const agreed = watcherEvents.filter(
      (w) => w.event.type === 'checked' && w.event.jobId === outcome.jobId && w.event.agreed,
    )
    assert.ok(agreed.length >= 1, 'honest watchers re-executed it and agreed')
    await supplyConserved()
  })

  it('optimistic without a challenge: the result stands after the window and is paid', async () => {
    // Mallory stops watching (its bond would go on every honest job); the others agree.
    await market.providers[0]!.watcher?.stop()
    const { outcome, events } = await audited(128, { mode: 'optimistic' })
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error))
    assert.ok(!events.some((e) => e.type === 'challenged'))
    assert.equal(outcome.paid, outcome.fuelUsed * outcome.pricePerFuel!)
    assert.deepEqual(
      events.map((e) => e.type).filter((t) => t === 'revealed' || t === 'verified' || t === 'finalized'),
      ['revealed', 'verified', 'finalized'],
    )
    await supplyConserved()
  })

  it('audit: a provider that over-claims fuel is caught like a wrong result', async () => {
    const greedy = market.providers[1]!.chain.address
    const stakeBefore = await market.admin.stakeOf(greedy)
    const { outcome, events } = await audited(32)
    assert.equal(outcome.provider, greedy)
    assert.equal(outcome.status, 'refunded', JSON.stringify(outcome.error))
    assert.equal(outcome.error?.code, 'E_VERIFICATION_FAILED')
    assert.equal(outcome.paid, 0n)
    const verdict = events.find((e) => e.type === 'audited')
    assert.deepEqual(verdict && 'verdict' in verdict ? verdict.verdict : undefined, 'provider-wrong')
    assert.equal(await market.admin.stakeOf(greedy), stakeBefore - 10n ** 18n)
    await supplyConserved()
  })

  it('audit: a provider that never delivers is slashed, and the requester gets escrow, collateral and fee back', async () => {
    const sleepy = market.providers[2]!.chain.address
    const requester = market.requester.chain.address
    const stakeBefore = await market.admin.stakeOf(sleepy)
    const balanceBefore = await market.admin.balanceOf(requester)
    const { outcome } = await audited(16, { mode: 'audit', probability: 1 }, 10)
    assert.equal(outcome.status, 'refunded', JSON.stringify(outcome.error))
    assert.equal(outcome.error?.code, 'E_TIMEOUT')
    assert.equal(await market.admin.stakeOf(sleepy), stakeBefore - 10n ** 18n)
    // The escrow and the audit fee came back; the slashed collateral went to the requester.
    assert.equal(await market.admin.balanceOf(requester), balanceBefore + 10n ** 18n)
    assert.equal(await market.admin.balanceOf(market.deployment.market), 0n, 'no escrow left behind')
    await supplyConserved()
  })
})
