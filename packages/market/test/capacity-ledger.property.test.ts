import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decideBid, type ProviderCapacity, type ProviderPricing } from '../src/bid-strategy.ts'
import { CapacityLedger } from '../src/capacity-ledger.ts'
import type { PriceIndexSnapshot } from '../src/price-index.ts'
import type { JobRequirements } from '../src/requirements.ts'
import { resourceClass } from '../src/resource-class.ts'

const capacityArb: fc.Arbitrary<ProviderCapacity> = fc.record({
  cores: fc.integer({ min: 1, max: 16 }),
  memoryMb: fc.integer({ min: 256, max: 16_384 }),
  runtimes: fc.constant(['wasm']),
  gpus: fc.array(
    fc.record({
      model: fc.constantFrom('NVIDIA A100', 'Tesla T4'),
      memoryMb: fc.constantFrom(16_000, 40_000),
    }),
    { maxLength: 4 },
  ),
})

const pricingArb: fc.Arbitrary<ProviderPricing> = fc.record(
  {
    floorPerFuel: fc.bigInt({ min: 0n, max: 10_000n }),
    utilizationMarkupPercent: fc.integer({ min: 0, max: 400 }),
    spot: fc.record({
      percentOfMedian: fc.integer({ min: 0, max: 200 }),
      minSamples: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { requiredKeys: ['floorPerFuel', 'utilizationMarkupPercent'] },
)

const ledgerJobArb: fc.Arbitrary<JobRequirements> = fc.record(
  {
    runtime: fc.constantFrom('wasm', 'wasm', 'wasm', 'docker'),
    cores: fc.integer({ min: 1, max: 8 }),
    memoryMb: fc.integer({ min: 1, max: 8_192 }),
    maxPricePerFuel: fc.bigInt({ min: 0n, max: 30_000n }),
    gpu: fc.record(
      { count: fc.integer({ min: 1, max: 3 }), model: fc.constantFrom('a100', 't4') },
      { requiredKeys: ['count'] },
    ),
  },
  { requiredKeys: ['runtime', 'cores', 'memoryMb', 'maxPricePerFuel'] },
)

type Op =
  | { op: 'bid'; job: JobRequirements; median: bigint; samples: number }
  | { op: 'award'; pick: number }
  | { op: 'release'; pick: number }
  | { op: 'raw-reserve'; cores: number; memoryMb: number; gpus: number[] }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('bid' as const),
      job: ledgerJobArb,
      median: fc.bigInt({ min: 0n, max: 40_000n }),
      samples: fc.integer({ min: 0, max: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('award' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('raw-reserve' as const),
      cores: fc.integer({ min: -1, max: 8 }),
      memoryMb: fc.integer({ min: 0, max: 8_192 }),
      gpus: fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }),
    }),
  },
)

describe('CapacityLedger and decideBid (properties)', () => {
  it('never over-commits, never bids below the floor or above the max, over any sequence', () => {
    fc.assert(
      fc.property(capacityArb, pricingArb, fc.array(opArb, { maxLength: 60 }), (capacity, pricing, ops) => {
        const ledger = new CapacityLedger(capacity)
        let next = 0
        let bids = 0
        for (const op of ops) {
          const held = ledger.list()
          if (op.op === 'bid') {
            const prices: PriceIndexSnapshot = {
              [resourceClass(op.job)]: {
                resourceClass: resourceClass(op.job),
                count: op.samples,
                recent: op.median,
                recentAtSeconds: 0n,
                median: op.median,
                min: op.median,
                max: op.median,
                fromSeconds: 0n,
                toSeconds: 1n,
              },
            }
            const before = ledger.reserved()
            const expected = decideBid(op.job, capacity, before, pricing, { prices })
            const decision = ledger.bid(`job-${next++}`, op.job, pricing, { prices })
            assert.deepEqual(decision, expected)
            if (decision.bid) {
              bids++
              assert.ok(decision.pricePerFuel >= pricing.floorPerFuel, 'below floor')
              assert.ok(decision.pricePerFuel <= op.job.maxPricePerFuel, 'above max')
            } else if (decision.reason === 'busy') {
              // Busy means it would fit an empty machine but not the free part of this one.
              const fresh = decideBid(op.job, capacity, { cores: 0, memoryMb: 0, awardedCores: 0 }, pricing)
              assert.ok(fresh.bid || fresh.reason === 'price-floor-above-max')
            }
          } else if (op.op === 'raw-reserve') {
            ledger.reserve(`raw-${next++}`, op)
          } else if (held.length > 0) {
            const target = held[op.pick % held.length]!
            if (op.op === 'award') ledger.award(target.jobId)
            else ledger.release(target.jobId)
          }
          // Invariants: totals match the holds and stay within the machine; GPUs used once.
          const holds = ledger.list()
          const r = ledger.reserved()
          const gpus = holds.flatMap((h) => [...h.gpus])
          assert.equal(
            r.cores,
            holds.reduce((s, h) => s + h.cores, 0),
          )
          assert.equal(
            r.memoryMb,
            holds.reduce((s, h) => s + h.memoryMb, 0),
          )
          assert.equal(
            r.awardedCores,
            holds.filter((h) => h.awarded).reduce((s, h) => s + h.cores, 0),
          )
          assert.ok(r.cores <= capacity.cores, 'cores over-committed')
          assert.ok(r.memoryMb <= capacity.memoryMb, 'memory over-committed')
          assert.equal(new Set(gpus).size, gpus.length, 'a GPU promised twice')
          assert.ok(gpus.every((i) => i >= 0 && i < (capacity.gpus?.length ?? 0)))
          assert.deepEqual(
            r.gpus,
            [...gpus].sort((a, b) => a - b),
          )
        }
        return bids >= 0
      }),
      { numRuns: 300 },
    )
  })

  it('asks more as awarded utilization rises and as the market median rises', () => {
    fc.assert(
      fc.property(
        capacityArb,
        pricingArb,
        fc.nat(16),
        fc.nat(16),
        fc.bigInt({ min: 0n, max: 40_000n }),
        fc.bigInt({ min: 0n, max: 40_000n }),
        (capacity, pricing, a1, a2, m1, m2) => {
          const job = { runtime: 'wasm', cores: 1, memoryMb: 1, maxPricePerFuel: 10n ** 12n }
          const [lo, hi] = [
            Math.min(a1, a2, capacity.cores - 1),
            Math.min(Math.max(a1, a2), capacity.cores - 1),
          ]
          const res = (awarded: number) => ({ cores: awarded, memoryMb: 0, awardedCores: awarded })
          const stats = (median: bigint): PriceIndexSnapshot => ({
            'wasm/c1/m1m': {
              resourceClass: 'wasm/c1/m1m',
              count: 10,
              recent: median,
              recentAtSeconds: 0n,
              median,
              min: median,
              max: median,
              fromSeconds: 0n,
              toSeconds: 1n,
            },
          })
          const price = (awarded: number, median: bigint) => {
            const d = decideBid(job, capacity, res(awarded), pricing, { prices: stats(median) })
            assert.ok(d.bid)
            return d.pricePerFuel
          }
          const [mlo, mhi] = m1 <= m2 ? [m1, m2] : [m2, m1]
          assert.ok(price(lo, mlo) <= price(hi, mlo))
          assert.ok(price(lo, mlo) <= price(lo, mhi))
        },
      ),
    )
  })
})
