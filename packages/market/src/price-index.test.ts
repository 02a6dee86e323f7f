import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PriceIndex } from './price-index.ts'

describe('PriceIndex', () => {
  it('reports recent, median and range per class over the window', () => {
    const index = new PriceIndex({ windowSeconds: 100n })
    const cls = 'wasm/c1/m512m'
    for (const [jobId, price, time] of [
      [1n, 10n, 10n],
      [2n, 30n, 150n],
      [3n, 20n, 120n],
      [4n, 40n, 190n],
      [5n, 99n, 250n], // in the future at now = 200
    ] as const) {
      assert.equal(index.record({ jobId, resourceClass: cls, pricePerFuel: price, timeSeconds: time }), true)
    }
    assert.equal(index.record({ jobId: 2n, resourceClass: cls, pricePerFuel: 1n, timeSeconds: 160n }), false)
    const stats = index.stats(cls, 200n)
    assert.deepEqual(stats && [stats.count, stats.recent, stats.median, stats.min, stats.max], [
      3,
      40n,
      30n,
      20n,
      40n,
    ])
    assert.equal(index.stats('wasm/c2/m1g', 200n), undefined)
    assert.equal(index.prune(200n), 1)
    assert.equal(index.size, 4)
  })

  it('bounds memory per class by dropping the oldest awards', () => {
    const index = new PriceIndex({ windowSeconds: 1_000n, maxRecordsPerClass: 2 })
    for (let i = 0; i < 5; i++) {
      index.record({ jobId: BigInt(i), resourceClass: 'c', pricePerFuel: BigInt(i), timeSeconds: BigInt(i) })
    }
    assert.deepEqual(index.stats('c', 10n)?.min, 3n)
    assert.equal(index.size, 2)
  })

  it('rejects a zero window', () => {
    assert.throws(() => new PriceIndex({ windowSeconds: 0n }), { name: 'MarketConfigError' })
  })
})
