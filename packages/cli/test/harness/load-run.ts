/**
 * Submits many small wasm jobs to a ProcessMarket's requester through the SDK, with bounded
 * concurrency, and checks that nothing was lost: every job ended completed (or refunded with
 * its whole escrow back), and the token balances moved by exactly what the jobs say.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { createBazaarClient, type JobView } from '@bazaar/sdk'
import { type MarketSnapshot, type ProcessMarket, repoRoot } from './process-market.ts'

export interface LoadRunOptions {
  jobs: number
  /** Jobs in flight at once. */
  concurrency: number
  /** Called after each job ends (progress). */
  onJob?: (done: number, view: JobView) => void
}

export interface LoadRunResult {
  views: JobView[]
  /** Submit-to-ended latency per job, ms. */
  latenciesMs: number[]
  elapsedMs: number
  before: MarketSnapshot
  after: MarketSnapshot
  gas: bigint
  transactions: number
  /** Peak resident memory seen per process during the run, bytes. */
  peakRss: { devnet: number; requester: number; providers: number[] }
}

/** A tiny word count whose input differs per job (so no two jobs are the same spec). */
export function jobSpec(moduleCid: string, index: number): object {
  return {
    version: 1,
    name: `load-${index}`,
    runtime: 'wasm',
    module: { cid: moduleCid },
    args: ['in.txt'],
    env: { LANG: 'C' },
    inputs: [{ name: 'in.txt', text: `job ${index} counts these words: the quick brown fox, the lazy dog` }],
    resources: { cores: 1, memoryMb: 16 },
    limits: { fuel: '5000000', timeoutMs: 30_000, outputBytes: 65_536 },
    price: { maxPerFuel: '5000000000' },
  }
}

export async function runLoad(market: ProcessMarket, options: LoadRunOptions): Promise<LoadRunResult> {
  const client = createBazaarClient({ url: market.requester.ready.api, timeoutMs: 120_000 })
  const module = new Uint8Array(await readFile(resolve(repoRoot, 'examples/build/wordcount.wasm')))
  const { cid } = await client.uploadBlob(module)

  const peakRss = { devnet: 0, requester: 0, providers: market.providers.map(() => 0) }
  const sampleRss = () => {
    const rss = market.rss()
    peakRss.devnet = Math.max(peakRss.devnet, rss.devnet ?? 0)
    peakRss.requester = Math.max(peakRss.requester, rss.requester ?? 0)
    rss.providers.forEach((r, i) => {
      peakRss.providers[i] = Math.max(peakRss.providers[i] ?? 0, r ?? 0)
    })
  }
  const sampler = setInterval(sampleRss, 1_000)

  const before = await market.snapshot()
  const views: JobView[] = new Array(options.jobs)
  const latenciesMs: number[] = new Array(options.jobs)
  let next = 0
  let done = 0
  const t0 = performance.now()
  const worker = async () => {
    for (;;) {
      const index = next++
      if (index >= options.jobs) return
      const start = performance.now()
      const submitted = await client.submit(jobSpec(cid, index))
      const view = await client.wait(submitted.id)
      latenciesMs[index] = performance.now() - start
      views[index] = view
      options.onJob?.(++done, view)
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.jobs) }, worker))
  } finally {
    clearInterval(sampler)
  }
  const elapsedMs = performance.now() - t0
  sampleRss()
  const after = await market.snapshot()
  const { gas, transactions } = await market.gasBetween(before.block, after.block)
  return { views, latenciesMs, elapsedMs, before, after, gas, transactions, peakRss }
}

/**
 * The "nothing lost" invariants of a load run; returns what is violated (empty: all hold).
 * Amounts are compared exactly, in base units.
 */
export function loadViolations(run: LoadRunResult): string[] {
  const problems: string[] = []
  let paidTotal = 0n
  const paidTo = new Map<string, bigint>()
  for (const [i, view] of run.views.entries()) {
    if (!view) {
      problems.push(`job #${i} has no final view`)
      continue
    }
    const escrow = BigInt(view.escrow ?? '0')
    const paid = BigInt(view.paid ?? '0')
    const refunded = BigInt(view.refunded ?? '0')
    if (view.state === 'completed') {
      if (!view.provider) problems.push(`job ${view.id} completed without a provider`)
      if (paid !== BigInt(view.fuelUsed ?? '-1') * BigInt(view.pricePerFuel ?? '0'))
        problems.push(`job ${view.id}: paid ${paid} is not fuelUsed × price`)
      if (paid + refunded !== escrow) problems.push(`job ${view.id}: paid + refunded ≠ escrow ${escrow}`)
      paidTotal += paid
      const key = view.provider!.toLowerCase()
      paidTo.set(key, (paidTo.get(key) ?? 0n) + paid)
    } else if (view.state === 'refunded') {
      if (paid !== 0n || refunded !== escrow) problems.push(`job ${view.id} refunded but not in full`)
    } else {
      problems.push(
        `job ${view.id} ended ${view.state}: ${view.error?.code ?? ''} ${view.error?.message ?? ''}`,
      )
    }
  }
  const { before, after } = run
  if (before.requester - after.requester !== paidTotal)
    problems.push(`requester paid ${before.requester - after.requester}, the jobs say ${paidTotal}`)
  for (const [i, p] of after.providers.entries()) {
    const was = before.providers[i]!
    const earned = p.tokens - was.tokens
    const owed = paidTo.get(p.address.toLowerCase()) ?? 0n
    if (earned !== owed) problems.push(`provider ${i} earned ${earned}, its jobs paid ${owed}`)
    if (p.staked !== was.staked) problems.push(`provider ${i} stake changed ${was.staked} → ${p.staked}`)
    if (p.locked !== 0n) problems.push(`provider ${i} still has ${p.locked} collateral locked`)
  }
  if (after.market !== before.market)
    problems.push(`market contract holds ${after.market}, held ${before.market} before: escrow left`)
  if (after.registry !== before.registry)
    problems.push(`registry holds ${after.registry}, held ${before.registry}`)
  return problems
}

/** p-th percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
