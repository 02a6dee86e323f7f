import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cidOf, parseTokens, validateJobSpec } from '@bazaar/protocol'
import type { Logger } from 'pino'
import type { Address } from 'viem'
import { type LocalMarket, type LocalProviderConfig, startLocalMarket } from '../local-market.ts'
import type { JobEventListener } from '../requester/job-events.ts'
import { prepareJob } from '../requester/prepare-job.ts'
import type { JobOutcome } from '../requester/requester-service.ts'
import {
  assembleGrayscale,
  encodePng,
  type MandelbrotView,
  splitIntoTiles,
  type Tile,
  tileArgs,
} from './mandelbrot-tiles.ts'

export const examplesBuildDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/build')

export const demoProviders: LocalProviderConfig[] = [
  {
    name: 'provider-a',
    cores: 2,
    memoryMb: 512,
    pricing: { floorPerFuel: 1_000_000_000n, utilizationMarkupPercent: 100 },
  },
  {
    name: 'provider-b',
    cores: 2,
    memoryMb: 512,
    pricing: { floorPerFuel: 1_100_000_000n, utilizationMarkupPercent: 100 },
  },
  {
    name: 'provider-c',
    cores: 2,
    memoryMb: 512,
    pricing: { floorPerFuel: 1_250_000_000n, utilizationMarkupPercent: 100 },
  },
]

export const demoView: MandelbrotView = {
  width: 512,
  height: 384,
  maxIter: 256,
  centerX: -0.6,
  centerY: 0,
  scale: 3.2,
}

export interface DemoOptions {
  logger: Logger
  outputPath: string
  columns?: number
  rows?: number
  /** Jobs in flight at once. */
  concurrency?: number
  rpcUrl?: string
  onEvent?: JobEventListener
  /** Keep the market running after the demo (the caller stops it). */
  keepMarket?: boolean
  /**
   * How the requester pays (docs/vouchers.md): `voucher` (what `bazaar demo` uses) settles every
   * tile off-chain and redeems each provider's vouchers in one transaction at the end, then runs
   * one more tile on the per-job path to measure gas per job beside it; `onchain` (default here,
   * the on-chain e2e test's) escrows and finalizes every tile on JobMarket.
   */
  payment?: 'onchain' | 'voucher'
}

export interface DemoJob {
  id: string
  tile: Tile
  status: JobOutcome['status']
  providers: { address: Address; name: string }[]
  pricePerFuel: bigint | undefined
  fuelUsed: bigint
  paid: bigint
  refunded: bigint
  bids: number
  error?: JobOutcome['error']
}

export interface DemoReport {
  jobs: DemoJob[]
  output: string
  view: MandelbrotView
  totals: { gas: bigint; durationMs: number; paid: bigint; refunded: bigint; escrowed: bigint }
  /** Every job completed and its provider was paid. */
  ok: boolean
  market: LocalMarket | undefined
  /** Per-tile pixels as returned by the market, for checking against a direct render. */
  pixels: Map<number, Uint8Array>
  payment: 'onchain' | 'voucher'
  /**
   * Voucher demo only: gas per job of the voucher path (escrow deposits and batch redemptions over
   * the tiles) beside one job of the per-job on-chain path, measured in this run.
   */
  gasPerJob?: { voucher: bigint; onchain: bigint; redemptions: number }
}

/**
 * The Mandelbrot demo: a local market renders an image tile by tile, each tile a job that
 * is announced, bid on, awarded, run in a provider's sandbox, verified and paid on-chain.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const started = performance.now()
  const payment = options.payment ?? 'onchain'
  const market = await startLocalMarket({
    providers: demoProviders,
    logger: options.logger,
    ...(options.rpcUrl ? { rpcUrl: options.rpcUrl } : {}),
    payment,
    vouchers: {
      // A tile may cost up to 10 BZR (2e9 fuel at 5 gwei); six run at once. Redeemed at the end.
      requester: { depositAmount: parseTokens('100') },
      provider: {
        exposureCap: parseTokens('200'),
        redeemThreshold: parseTokens('1000'),
        redeemIntervalMs: 3_600_000,
      },
    },
  })
  try {
    const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'mandelbrot.wasm')))
    const moduleCid = await cidOf(module)
    const known = new Map([[moduleCid, module]])
    const tiles = splitIntoTiles(demoView, options.columns ?? 4, options.rows ?? 4)
    const names = new Map(market.providers.map((p) => [p.chain.address.toLowerCase(), p.name]))
    const requester = market.requester.requester!
    const gasBefore = [market.requester, ...market.providers].reduce(
      (sum, node) => sum + node.chain.gasSpent,
      0n,
    )

    const prepareTile = async (tile: Tile) => {
      const spec = validateJobSpec(
        {
          version: 1,
          name: `mandelbrot-tile-${tile.index}`,
          runtime: 'wasm',
          module: { cid: moduleCid },
          args: tileArgs(demoView, tile),
          resources: { cores: 1, memoryMb: 64 },
          limits: { fuel: '2000000000', timeoutMs: 60_000 },
          price: { maxPerFuel: '5000000000' },
          deadlines: { biddingMs: 400, executionSeconds: 120 },
        },
        `tile ${tile.index}`,
      )
      return prepareJob(spec, { baseDir: examplesBuildDir, known })
    }
    const outcomes = await mapConcurrent(tiles, options.concurrency ?? 6, async (tile) => ({
      tile,
      outcome: await requester.run(
        await prepareTile(tile),
        options.onEvent ? { onEvent: options.onEvent } : {},
      ),
    }))
    let gasPerJob: DemoReport['gasPerJob']
    let voucherGas = 0n
    if (payment === 'voucher') {
      // Each provider redeems every tile's voucher in one transaction; deposits were the requester's.
      let redemptions = 0
      for (const node of market.providers) {
        const redeemed = await node.vouchers.provider!.redeem('demo end')
        voucherGas += redeemed.gasUsed
        if (redeemed.vouchers > 0) redemptions++
      }
      voucherGas += market.requester.vouchers.requester!.gasUsed
      // One tile more on the per-job path, for the comparison.
      const chainGas = () =>
        [market.requester, ...market.providers].reduce((sum, n) => sum + n.chain.gasSpent, 0n)
      const before = chainGas()
      requester.usePaymentPath(undefined)
      const onchain = await requester.run(await prepareTile(tiles[0]!))
      if (onchain.status !== 'completed')
        options.logger.warn({ error: onchain.error }, 'on-chain comparison job failed')
      gasPerJob = {
        voucher: voucherGas / BigInt(Math.max(1, tiles.length)),
        onchain: chainGas() - before,
        redemptions,
      }
    }

    const pixels = new Map<number, Uint8Array>()
    for (const { tile, outcome } of outcomes) if (outcome.output) pixels.set(tile.index, outcome.output)
    const complete = outcomes.every(({ outcome }) => outcome.status === 'completed' && outcome.paid > 0n)
    if (complete) {
      const gray = assembleGrayscale(
        demoView,
        outcomes.map(({ tile }) => ({ tile, pixels: pixels.get(tile.index)! })),
      )
      await mkdir(dirname(options.outputPath), { recursive: true })
      await writeFile(options.outputPath, encodePng(demoView.width, demoView.height, gray))
    }
    const gasAfter = [market.requester, ...market.providers].reduce(
      (sum, node) => sum + node.chain.gasSpent,
      0n,
    )
    const jobs: DemoJob[] = outcomes.map(({ tile, outcome }) => ({
      id: outcome.jobId.toString(),
      tile,
      status: outcome.status,
      providers: outcome.provider
        ? [{ address: outcome.provider, name: names.get(outcome.provider.toLowerCase()) ?? 'unknown' }]
        : [],
      pricePerFuel: outcome.pricePerFuel,
      fuelUsed: outcome.fuelUsed,
      paid: outcome.paid,
      refunded: outcome.refunded,
      bids: outcome.bidsReceived,
      ...(outcome.error ? { error: outcome.error } : {}),
    }))
    return {
      jobs,
      output: options.outputPath,
      view: demoView,
      totals: {
        gas: payment === 'voucher' ? voucherGas : gasAfter - gasBefore,
        durationMs: Math.round(performance.now() - started),
        paid: jobs.reduce((sum, j) => sum + j.paid, 0n),
        refunded: jobs.reduce((sum, j) => sum + j.refunded, 0n),
        escrowed: outcomes.reduce((sum, { outcome }) => sum + outcome.escrow, 0n),
      },
      ok: complete,
      market: options.keepMarket ? market : undefined,
      pixels,
      payment,
      ...(gasPerJob ? { gasPerJob } : {}),
    }
  } finally {
    if (!options.keepMarket) await market.stop()
  }
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping order. */
export async function mapConcurrent<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
