import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { type BidDecision, decideBid as decideWithQuote } from './bid-strategy.ts'
import { describeQuote } from './price-quote.ts'

/** The decision without its quote, so the price checks below read as plain values. */
type PlainDecision = Extract<BidDecision, { bid: false }> | Omit<Extract<BidDecision, { bid: true }>, 'quote'>
function decideBid(...args: Parameters<typeof decideWithQuote>): PlainDecision {
  const decision = decideWithQuote(...args)
  if (!decision.bid) return decision
  const { quote: _quote, ...rest } = decision
  return rest
}

const capacity = { cores: 4, memoryMb: 1024, runtimes: ['wasm'] }
const pricing = { floorPerFuel: 1_000n, utilizationMarkupPercent: 100 }
const job = { runtime: 'wasm', cores: 1, memoryMb: 64, maxPricePerFuel: 10_000n }
const idle = { cores: 0, memoryMb: 0, awardedCores: 0 }

describe('decideBid', () => {
  it('bids the floor when idle and more as utilization rises', () => {
    assert.deepEqual(decideBid(job, capacity, idle, pricing), { bid: true, pricePerFuel: 1_000n })
    assert.deepEqual(decideBid(job, capacity, { cores: 2, memoryMb: 128, awardedCores: 2 }, pricing), {
      bid: true,
      pricePerFuel: 1_500n,
    })
  })

  it('asks the floor of the job runtime when one is set (a docker fuel unit is a core-ms)', () => {
    const both = { ...capacity, runtimes: ['wasm', 'docker'] }
    const perRuntime = { ...pricing, floorPerFuelByRuntime: { docker: 5_000_000n } }
    const docker = { ...job, runtime: 'docker', maxPricePerFuel: 10_000_000n }
    assert.deepEqual(decideBid(docker, both, idle, perRuntime), { bid: true, pricePerFuel: 5_000_000n })
    assert.deepEqual(decideBid(job, both, idle, perRuntime), { bid: true, pricePerFuel: 1_000n })
    const cheap = decideBid({ ...docker, maxPricePerFuel: 4_000_000n }, both, idle, perRuntime)
    assert.equal(cheap.bid, false)
    assert.throws(
      () => decideBid(docker, both, idle, { ...pricing, floorPerFuelByRuntime: { docker: -1n } }),
      {
        name: 'MarketConfigError',
      },
    )
  })

  it('prices on awarded work, not on open bids it may still lose', () => {
    assert.deepEqual(decideBid(job, capacity, { cores: 3, memoryMb: 192, awardedCores: 0 }, pricing), {
      bid: true,
      pricePerFuel: 1_000n,
    })
  })

  it('never bids below the floor or above the job maximum', () => {
    const decision = decideBid({ ...job, maxPricePerFuel: 999n }, capacity, idle, pricing)
    assert.equal(decision.bid, false)
    assert.equal(decision.bid === false && decision.reason, 'price-floor-above-max')
  })

  it('declines what it cannot run, with the reason', () => {
    const reasons = [
      decideBid({ ...job, runtime: 'docker' }, capacity, idle, pricing),
      decideBid({ ...job, cores: 5 }, capacity, idle, pricing),
      decideBid({ ...job, memoryMb: 2048 }, capacity, idle, pricing),
      decideBid(job, capacity, { cores: 4, memoryMb: 256, awardedCores: 0 }, pricing),
    ].map((d) => (d.bid ? 'bid' : d.reason))
    assert.deepEqual(reasons, ['runtime', 'cores', 'memory', 'busy'])
  })
})

describe('decideBid with GPUs and spot pricing', () => {
  const gpuBox = {
    cores: 8,
    memoryMb: 8192,
    runtimes: ['wasm'],
    gpus: [
      { model: 'Tesla T4', memoryMb: 16_000 },
      { model: 'NVIDIA A100', memoryMb: 40_000 },
      { model: 'NVIDIA A100', memoryMb: 40_000 },
    ],
  }
  const gpuJob = { ...job, gpu: { count: 2, model: 'a100' } }

  it('assigns free matching GPUs and reports busy when they are taken', () => {
    assert.deepEqual(decideBid(gpuJob, gpuBox, idle, pricing), {
      bid: true,
      pricePerFuel: 1_000n,
      gpus: [1, 2],
    })
    const taken = decideBid(gpuJob, gpuBox, { ...idle, gpus: [2] }, pricing)
    assert.equal(taken.bid === false && taken.reason, 'busy')
    const none = decideBid({ ...job, gpu: { count: 1, model: 'h100' } }, gpuBox, idle, pricing)
    assert.equal(none.bid === false && none.reason, 'gpu')
  })

  it('counts awarded memory and GPUs toward utilization', () => {
    const busyGpus = decideBid(job, gpuBox, { ...idle, gpus: [0, 1], awardedGpus: 2 }, pricing)
    // 2 of 3 GPUs awarded: utilization 666_666 ppm → 1000 + 1000 × 0.666666 = 1666
    assert.deepEqual(busyGpus, { bid: true, pricePerFuel: 1_666n })
    const busyMemory = decideBid(job, capacity, { ...idle, memoryMb: 768, awardedMemoryMb: 768 }, pricing)
    assert.deepEqual(busyMemory, { bid: true, pricePerFuel: 1_750n })
  })

  it('follows the market median when it is above the floor, capped at the job maximum', () => {
    const stats = (median: bigint, count: number) => ({
      'wasm/c1/m64m': {
        resourceClass: 'wasm/c1/m64m',
        count,
        recent: median,
        recentAtSeconds: 0n,
        median,
        min: median,
        max: median,
        fromSeconds: 0n,
        toSeconds: 1n,
      },
    })
    const spot = { ...pricing, spot: { percentOfMedian: 90, minSamples: 3 } }
    assert.deepEqual(decideBid(job, capacity, idle, spot, { prices: stats(5_000n, 3) }), {
      bid: true,
      pricePerFuel: 4_500n,
    })
    // Too few samples, or a median under the floor: the floor rules.
    assert.deepEqual(decideBid(job, capacity, idle, spot, { prices: stats(5_000n, 2) }), {
      bid: true,
      pricePerFuel: 1_000n,
    })
    assert.deepEqual(decideBid(job, capacity, idle, spot, { prices: stats(500n, 9) }), {
      bid: true,
      pricePerFuel: 1_000n,
    })
    assert.deepEqual(
      decideBid({ ...job, maxPricePerFuel: 3_000n }, capacity, idle, spot, { prices: stats(5_000n, 3) }),
      {
        bid: true,
        pricePerFuel: 3_000n,
      },
    )
  })

  it('rejects a negative markup instead of pricing under the floor', () => {
    assert.throws(() => decideBid(job, capacity, idle, { ...pricing, utilizationMarkupPercent: -10 }), {
      name: 'MarketConfigError',
    })
  })
})

describe('decideBid quote: why the provider priced what it did', () => {
  const cls = 'wasm/c1/m64m'
  const market = (median: bigint, count: number) => ({
    prices: {
      [cls]: {
        resourceClass: cls,
        count,
        recent: median,
        recentAtSeconds: 0n,
        median,
        min: median,
        max: median,
        fromSeconds: 0n,
        toSeconds: 1n,
      },
    },
  })
  const spot = { ...pricing, spot: { percentOfMedian: 100, minSamples: 1 } }

  it('records floor, utilization, median and anchor', () => {
    const decision = decideWithQuote(
      job,
      capacity,
      { cores: 1, memoryMb: 64, awardedCores: 1 },
      spot,
      market(2_000n, 4),
    )
    assert.ok(decision.bid)
    const q = decision.quote
    assert.equal(q.resourceClass, cls)
    assert.equal(q.basis, 'spot')
    assert.equal(q.anchor, 2_000n)
    assert.equal(q.marketMedian, 2_000n)
    assert.equal(q.marketSamples, 4)
    assert.equal(q.utilizationPpm, 250_000n)
    // 2000 × (1 + 100% × 25%) = 2500
    assert.equal(q.ask, 2_500n)
    assert.equal(decision.pricePerFuel, 2_500n)
    assert.equal(q.capped, false)
    assert.match(describeQuote(q), /spot 2000 .* = 2500/)
  })

  it('says when the floor ruled and when the job maximum cut the ask', () => {
    const floorRuled = decideWithQuote(job, capacity, idle, spot, market(500n, 9))
    assert.ok(floorRuled.bid)
    assert.equal(floorRuled.quote.basis, 'floor')
    assert.match(describeQuote(floorRuled.quote), /^floor 1000 \(median 500 of 9 awards not used\)/)
    const cut = decideWithQuote({ ...job, maxPricePerFuel: 3_000n }, capacity, idle, spot, market(5_000n, 1))
    assert.ok(cut.bid)
    assert.equal(cut.quote.ask, 5_000n)
    assert.equal(cut.pricePerFuel, 3_000n)
    assert.equal(cut.quote.capped, true)
  })

  it('never bids under the floor; the price rises with utilization and with the median', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 200 }),
        (floor, markup, busyA, busyB, medianA, extra, percent) => {
          const p = {
            floorPerFuel: floor,
            utilizationMarkupPercent: markup,
            spot: { percentOfMedian: percent, minSamples: 1 },
          }
          const j = { ...job, maxPricePerFuel: 10n ** 16n }
          const price = (busy: number, median: bigint) => {
            const d = decideWithQuote(
              j,
              capacity,
              { cores: busy, memoryMb: 0, awardedCores: busy },
              p,
              market(median, 1),
            )
            assert.ok(d.bid)
            assert.ok(d.pricePerFuel >= floor, 'never under the floor')
            return d.pricePerFuel
          }
          const [lo, hi] = busyA <= busyB ? [busyA, busyB] : [busyB, busyA]
          assert.ok(price(lo, medianA) <= price(hi, medianA), 'busier is never cheaper')
          assert.ok(price(lo, medianA) <= price(lo, medianA + extra), 'a higher median is never cheaper')
        },
      ),
    )
  })
})
