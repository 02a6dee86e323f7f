import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { type AwardRecord, computePriceStats, PriceIndex } from '../src/price-index.ts'

const CLASSES = ['wasm/c1/m512m', 'wasm/c4/m8g', 'wasm/c8/m32g/g1-a100']

const awardArb: fc.Arbitrary<AwardRecord> = fc.record(
  {
    jobId: fc.oneof(fc.bigInt({ min: 0n, max: 30n }), fc.integer({ min: 0, max: 30 }).map(String)),
    provider: fc.constantFrom('0xa', '0xB', '0xb'),
    resourceClass: fc.constantFrom(...CLASSES),
    pricePerFuel: fc.bigInt({ min: 1n, max: 50n }),
    timeSeconds: fc.bigInt({ min: 0n, max: 100n }),
  },
  { requiredKeys: ['jobId', 'resourceClass', 'pricePerFuel', 'timeSeconds'] },
)

/** The slow, obvious way: first record of each (job, provider) counts; filter; sort; read off. */
function naive(records: AwardRecord[], cls: string, now: bigint, window: bigint) {
  const seen = new Set<string>()
  const kept: { price: bigint; time: bigint; key: string }[] = []
  for (const r of records) {
    const key = `${r.jobId}:${(r.provider ?? '').toLowerCase()}`
    if (seen.has(key)) continue
    seen.add(key)
    if (r.resourceClass === cls && r.timeSeconds > now - window && r.timeSeconds <= now) {
      kept.push({ price: r.pricePerFuel, time: r.timeSeconds, key })
    }
  }
  if (kept.length === 0) return undefined
  const prices = kept.map((k) => k.price).sort((a, b) => Number(a - b))
  const n = prices.length
  const median = n % 2 ? prices[(n - 1) / 2]! : (prices[n / 2 - 1]! + prices[n / 2]!) / 2n
  let latest = kept[0]!
  for (const k of kept) if (k.time > latest.time || (k.time === latest.time && k.key > latest.key)) latest = k
  return {
    count: n,
    recent: latest.price,
    recentAtSeconds: latest.time,
    median,
    min: prices[0]!,
    max: prices[n - 1]!,
  }
}

describe('PriceIndex (properties)', () => {
  it('recent, median and range equal a naive recomputation, whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(awardArb, { maxLength: 60 }),
        fc.bigInt({ min: 0n, max: 120n }),
        fc.bigInt({ min: 1n, max: 120n }),
        (records, now, window) => {
          const index = new PriceIndex({ windowSeconds: window })
          const fresh = records.map((r) => index.record(r))
          const snapshot = index.snapshot(now)
          for (const cls of CLASSES) {
            const want = naive(records, cls, now, window)
            const got = index.stats(cls, now)
            const pure = computePriceStats(records, cls, now, window)
            const view = (s: typeof got) =>
              s && {
                count: s.count,
                recent: s.recent,
                recentAtSeconds: s.recentAtSeconds,
                median: s.median,
                min: s.min,
                max: s.max,
              }
            assert.deepEqual(view(got), want)
            assert.deepEqual(view(pure), want)
            assert.deepEqual(snapshot[cls], got)
          }
          // record() says false exactly for repeats of (job, provider).
          const keys = records.map((r) => `${r.jobId}:${(r.provider ?? '').toLowerCase()}`)
          assert.deepEqual(
            fresh,
            keys.map((k, i) => keys.indexOf(k) === i),
          )
        },
      ),
      { numRuns: 500 },
    )
  })

  it('pruning forgets only what fell out of the window', () => {
    fc.assert(
      fc.property(
        fc.array(awardArb, { maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 120n }),
        (records, now) => {
          const index = new PriceIndex({ windowSeconds: 30n })
          for (const r of records) index.record(r)
          const before = index.snapshot(now)
          index.prune(now)
          assert.deepEqual(index.snapshot(now), before)
        },
      ),
    )
  })
})
