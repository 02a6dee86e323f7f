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
import type { WasmRunner } from '../src/provider/provider-service.ts'
import type { JobEvent } from '../src/requester/job-events.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'
import type { RefereeEvent } from '../src/verification/referee-duty.ts'

const logger = pino({ level: process.env.BAZAAR_TEST_LOG ?? 'silent' })
const GWEI = 1_000_000_000n

/** Test harness: a provider that returns a wrong result (its output with every byte flipped). */
const wrongResult = (runner: WasmRunner): WasmRunner => ({
  async run(job, opts) {
    const result = await runner.run(job, opts)
    return { ...result, stdout: result.stdout.map((b) => b ^ 0xff) }
  },
})

describe('audited jobs on a real local market', () => {
  let market: LocalMarket
  let module: Uint8Array
  let moduleCid: string
  const refereeEvents: { provider: string; event: RefereeEvent }[] = []

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
        honest('honest-a', GWEI),
        honest('honest-b', GWEI + 1n),
        honest('honest-c', GWEI + 2n),
        honest('honest-d', GWEI + 3n),
      ],
      verification: {
        pollMs: 100,
        onRefereeEvent: (provider, event) => refereeEvents.push({ provider, event }),
      },
    })
  })
  after(async () => {
    await market?.stop()
  })

  async function audited(memoryMb: number) {
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
      verification: { mode: 'audit', probability: 1 },
      deadlines: { biddingMs: 600, executionSeconds: 120 },
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

  it('pays an honest provider after the auditor re-executes and agrees, and hands over the right output', async () => {
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
})
