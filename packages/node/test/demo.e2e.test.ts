/**
 * The demo path end to end on real parts: embedded EVM (EDR), libp2p over TCP on
 * 127.0.0.1, WASM in worker sandboxes. Checks the image against a direct render and the
 * money against the contracts, to the base unit.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createExecutor } from '@bazaar/executor'
import { cidOf, parseTokens, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'
import { PNG } from 'pngjs'
import { tileArgs } from '../src/demo/mandelbrot-tiles.ts'
import { type DemoReport, examplesBuildDir, runDemo } from '../src/demo/run-demo.ts'
import type { LocalMarket } from '../src/local-market.ts'
import { prepareJob } from '../src/requester/prepare-job.ts'

const logger = pino({ level: 'silent' })

describe('bazaar demo on a real local market', () => {
  let dir: string
  let report: DemoReport
  let market: LocalMarket

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bazaar-demo-'))
    report = await runDemo({
      logger,
      outputPath: join(dir, 'mandelbrot.png'),
      columns: 4,
      rows: 2,
      keepMarket: true,
    })
    market = report.market!
  })

  after(async () => {
    await market?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('completes and pays every job', () => {
    assert.equal(report.jobs.length, 8)
    for (const job of report.jobs) {
      assert.equal(job.status, 'completed', `job ${job.id}: ${JSON.stringify(job.error)}`)
      assert.equal(job.providers.length, 1)
      assert.ok(job.fuelUsed > 0n)
    }
    assert.equal(report.ok, true)
  })

  it('renders the same image as running the tiles directly', async () => {
    const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'mandelbrot.wasm')))
    const executor = createExecutor({ workers: 1 })
    try {
      for (const job of report.jobs) {
        const direct = await executor.run({
          module,
          args: tileArgs(report.view, job.tile),
          env: {},
          inputs: [],
          limits: { fuel: 2_000_000_000n, memoryMb: 64, timeoutMs: 60_000, outputBytes: 16 * 1024 * 1024 },
        })
        assert.deepEqual(report.pixels.get(job.tile.index), direct.stdout, `tile ${job.tile.index} differs`)
        assert.equal(
          job.fuelUsed,
          direct.fuelUsed,
          `tile ${job.tile.index}: billed fuel differs from a direct run`,
        )
      }
    } finally {
      await executor.close()
    }
    const png = PNG.sync.read(await readFile(report.output))
    assert.equal(png.width, report.view.width)
    assert.equal(png.height, report.view.height)
  })

  it('paid each provider exactly fuelUsed x price and refunded the rest, on-chain', async () => {
    const paidTo = new Map<string, bigint>()
    for (const job of report.jobs) {
      const onChain = await market.admin.getJob(BigInt(job.id))
      assert.equal(onChain.status, 'Finalized')
      assert.equal(onChain.fuelUsed, job.fuelUsed)
      assert.equal(job.paid, job.fuelUsed * onChain.pricePerFuel)
      assert.equal(job.paid + job.refunded, onChain.maxFuel * onChain.maxPricePerFuel)
      const provider = job.providers[0]!.address.toLowerCase()
      paidTo.set(provider, (paidTo.get(provider) ?? 0n) + job.paid)
    }
    // Providers staked everything they were minted, so their wallet holds exactly what they earned.
    for (const node of market.providers) {
      assert.equal(
        await market.admin.balanceOf(node.chain.address),
        paidTo.get(node.chain.address.toLowerCase()) ?? 0n,
      )
    }
    const requesterBalance = await market.admin.balanceOf(market.requester.chain.address)
    assert.equal(requesterBalance, parseTokens('1000') - report.totals.paid)
    assert.equal(await market.admin.balanceOf(market.deployment.market), 0n, 'no escrow left locked')
  })

  it('conserves the token supply', async () => {
    const holders = [
      market.requester.chain.address,
      ...market.providers.map((p) => p.chain.address),
      market.deployment.market,
      market.deployment.registry,
      market.admin.address,
    ]
    let sum = 0n
    for (const holder of holders) sum += await market.admin.balanceOf(holder)
    assert.equal(sum, await market.admin.totalSupply())
    assert.equal(await market.admin.totalSupply(), parseTokens('1000') + parseTokens('100') * 3n)
  })

  it('bills a module that loops forever up to its fuel cap, never more, with a typed error', async () => {
    const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'spin.wasm')))
    const moduleCid = await cidOf(module)
    const spec = validateJobSpec({
      version: 1,
      name: 'spin',
      runtime: 'wasm',
      module: { cid: moduleCid },
      limits: { fuel: '5000000', timeoutMs: 30_000 },
      price: { maxPerFuel: '3000000000' },
      deadlines: { biddingMs: 400, executionSeconds: 60 },
    })
    const prepared = await prepareJob(spec, { baseDir: dir, known: new Map([[moduleCid, module]]) })
    const before = await market.admin.balanceOf(market.requester.chain.address)
    const outcome = await market.requester.requester!.run(prepared)
    assert.equal(outcome.status, 'failed')
    assert.equal(outcome.error?.code, 'E_OUT_OF_FUEL')
    assert.equal(outcome.fuelUsed, 5_000_000n)
    assert.equal(outcome.paid, 5_000_000n * outcome.pricePerFuel!)
    assert.ok(outcome.paid <= outcome.escrow)
    assert.equal(outcome.paid + outcome.refunded, outcome.escrow)
    assert.equal(await market.admin.balanceOf(market.requester.chain.address), before - outcome.paid)
  })

  it('refuses a bid whose signature is not the provider', async () => {
    const requester = market.requester.requester!
    const reply = await requester.onBid({
      type: 'bid',
      jobId: '1',
      provider: market.providers[0]!.chain.address,
      providerPeerId: market.providers[0]!.network.peerId,
      pricePerFuel: '1',
      expiry: '99999999999',
      signature: `0x${'11'.repeat(65)}`,
    })
    assert.equal(reply.accepted, false)
  })

  it('refunds the whole escrow when no provider can run the job', async () => {
    const spec = validateJobSpec({
      version: 1,
      name: 'too-big',
      runtime: 'wasm',
      module: { text: 'not really wasm' },
      resources: { cores: 64, memoryMb: 64 },
      limits: { fuel: '1000' },
      price: { maxPerFuel: '1' },
      deadlines: { biddingMs: 200, executionSeconds: 60 },
    })
    const prepared = await prepareJob(spec, { baseDir: dir })
    const before = await market.admin.balanceOf(market.requester.chain.address)
    const outcome = await market.requester.requester!.run(prepared)
    assert.equal(outcome.status, 'refunded')
    assert.equal(outcome.error?.code, 'E_NO_BIDS')
    assert.equal(outcome.paid, 0n)
    assert.equal(await market.admin.balanceOf(market.requester.chain.address), before)
  })
})
