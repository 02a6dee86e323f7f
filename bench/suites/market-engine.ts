/**
 * The pure market engine under load: how many bids the requester can evaluate per second,
 * how long picking the top k of 10,000 bids takes, and the cost of `explain` over a large
 * offer book and of a provider's bid decision. Inputs come from a seeded generator, so every
 * run measures the same work.
 */
import {
  CapacityLedger,
  type EvaluationContext,
  evaluateBid,
  explainJob,
  type MarketBid,
  OfferBook,
  type ProviderStanding,
  resolvePolicy,
  selectBestBids,
} from '@bazaar/market'
import type { OfferMessage } from '@bazaar/protocol'
import type { BenchSuite } from '../bench-suite.ts'
import { summarize } from '../stats.ts'

/** mulberry32: a small seeded generator, so the workload is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const NOW = 1_800_000_000n
const BIDS = 10_000

function world(n: number, rand: () => number) {
  const offers = new Map<string, OfferMessage>()
  const standing = new Map<string, ProviderStanding>()
  const bids: MarketBid[] = []
  for (let i = 0; i < n; i++) {
    const provider = `0x${i.toString(16).padStart(40, '0')}` as const
    const floor = 1_000_000_000n + BigInt(Math.floor(rand() * 1_000_000_000))
    offers.set(provider, {
      provider,
      peerId: `peer-${i}`,
      cores: 1 + Math.floor(rand() * 16),
      memoryMb: 512 * (1 + Math.floor(rand() * 32)),
      gpus: rand() < 0.1 ? [{ model: 'NVIDIA A100', memoryMb: 40_960 }] : [],
      runtimes: ['wasm'],
      floorPricePerFuel: floor,
      stake: 10n ** 21n,
      region: rand() < 0.5 ? 'eu' : 'us',
      attributes: [],
      issuedAt: NOW - 60n,
      expiry: NOW + (rand() < 0.05 ? -1n : 600n),
      sequence: 1n,
    })
    standing.set(provider, {
      stake: rand() < 0.03 ? 0n : 10n ** 21n,
      jailed: rand() < 0.02,
      reputation: {
        completed: Math.floor(rand() * 500),
        failed: Math.floor(rand() * 20),
        slashed: rand() < 0.05 ? 1 : 0,
      },
    })
    bids.push({
      provider,
      pricePerFuel: floor + BigInt(Math.floor(rand() * 500_000_000)),
      expiry: NOW + 120n,
      signatureValid: rand() > 0.01,
    })
  }
  return { offers, standing, bids }
}

function timeMs(fn: () => void): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

export const marketEngineSuite: BenchSuite = {
  name: 'market-engine',
  async run({ log }) {
    const rand = seeded(42)
    const { offers, standing, bids } = world(BIDS, rand)
    const job = { runtime: 'wasm', cores: 2, memoryMb: 2048, maxPricePerFuel: 2_200_000_000n }
    const ctx: EvaluationContext = {
      job,
      nowSeconds: NOW,
      standing: (p) => standing.get(p),
      offer: (p) => offers.get(p),
    }
    const policy = resolvePolicy({ minStake: 10n ** 20n, requireOffer: true })

    // Bid evaluations per second: every hard filter plus the effective price, one bid at a time.
    const ROUNDS = 30
    let qualified = 0
    for (const bid of bids) if (evaluateBid(bid, ctx, policy).qualified) qualified++ // warm-up
    const evalRates: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const ms = timeMs(() => {
        for (const bid of bids) evaluateBid(bid, ctx, policy)
      })
      evalRates.push(bids.length / (ms / 1000))
    }
    const evals = summarize(evalRates)

    // Selecting the top k of 10,000 bids: filters, dedupe, rank, split.
    const select: Record<string, ReturnType<typeof summarize>> = {}
    for (const k of [1, 10, 100]) {
      for (let w = 0; w < 3; w++) selectBestBids(bids, ctx, { ...policy, k })
      const samples: number[] = []
      for (let r = 0; r < ROUNDS; r++) samples.push(timeMs(() => selectBestBids(bids, ctx, { ...policy, k })))
      select[`k=${k}`] = summarize(samples)
    }

    // explain over a book of 10,000 offers.
    const book = new OfferBook()
    for (const offer of offers.values()) book.add(offer, NOW - 1n)
    const all = book.offers()
    const explainMs: number[] = []
    let candidates = 0
    for (let r = 0; r < 10; r++) {
      explainMs.push(
        timeMs(() => {
          candidates = explainJob(job, all, { nowSeconds: NOW, standing: (p) => standing.get(p), policy })
            .candidates.length
        }),
      )
    }
    const explain = summarize(explainMs)

    // Provider side: decide + reserve + release, as one announcement costs a provider.
    const ledger = new CapacityLedger({ cores: 64, memoryMb: 262_144, runtimes: ['wasm'] })
    const pricing = { floorPerFuel: 1_000_000_000n, utilizationMarkupPercent: 100 }
    const DECISIONS = 100_000
    const decideMs = timeMs(() => {
      for (let i = 0; i < DECISIONS; i++) {
        const id = String(i)
        ledger.bid(id, job, pricing)
        if (i % 4 === 0) ledger.award(id)
        if (i >= 16) ledger.release(String(i - 16))
      }
    })

    const results = {
      bids: BIDS,
      qualifiedBids: qualified,
      bidEvaluationsPerSecond: evals,
      selectTopKOf10000Ms: select,
      explain10000OffersMs: { ...explain, candidates },
      providerDecisionsPerSecond: DECISIONS / (decideMs / 1000),
    }
    log.table({
      'bid evaluations / s': { p50: Math.round(evals.p50), p95: Math.round(evals.p95), n: evals.n },
      ...Object.fromEntries(
        Object.entries(select).map(([k, s]) => [
          `select top ${k.slice(2)} of ${BIDS} (ms)`,
          { p50: s.p50.toFixed(2), p95: s.p95.toFixed(2), n: s.n },
        ]),
      ),
      [`explain over ${BIDS} offers (ms)`]: {
        p50: explain.p50.toFixed(2),
        p95: explain.p95.toFixed(2),
        n: explain.n,
      },
    })
    log.line(
      `${qualified} of ${BIDS} bids qualify; provider decide+reserve: ${Math.round(results.providerDecisionsPerSecond).toLocaleString('en-US')} / s`,
    )
    return results
  },
}
