import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { effectivePriceScaled, reputationPpm } from './reputation.ts'
import { DEFAULT_SELECTION_POLICY as P } from './selection-policy.ts'

describe('reputation', () => {
  it('follows the documented formula', () => {
    assert.equal(reputationPpm(undefined, P), 750_000) // prior 3 / (3 + 1)
    assert.equal(reputationPpm({ completed: 9, failed: 0, slashed: 0 }, P), 923_076) // 12/13
    assert.equal(reputationPpm({ completed: 9n, failed: 2n, slashed: 1n }, P), 600_000) // 12/20
    assert.equal(
      reputationPpm({ completed: 0, failed: 0, slashed: 0, score: 0 }, { ...P, scoreWeightPpm: 500_000 }),
      375_000,
    )
    assert.equal(reputationPpm(undefined, { ...P, priorCompleted: 0, priorFailed: 0 }), 1_000_000)
    // effective = price / (1 − w(1 − ρ)): ρ = 0.5, w = 0.5 → price / 0.75
    assert.equal(effectivePriceScaled(300n, 500_000, 500_000), 400n * 1_000_000n)
    assert.equal(effectivePriceScaled(300n, 1_000_000, 900_000), 300n * 1_000_000n)
  })

  it('more completed jobs never hurt, more failures or slashes never help', () => {
    const counts = fc.record({
      completed: fc.nat(1_000),
      failed: fc.nat(1_000),
      slashed: fc.nat(100),
    })
    fc.assert(
      fc.property(counts, fc.constantFrom('completed', 'failed', 'slashed'), (r, field) => {
        const more = { ...r, [field]: r[field as keyof typeof r] + 1 }
        const delta = reputationPpm(more, P) - reputationPpm(r, P)
        if (field === 'completed') assert.ok(delta >= 0)
        else assert.ok(delta <= 0)
      }),
    )
  })

  it('effective price is never below the price and grows as reputation falls', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 900_000 }),
        (price, r1, r2, w) => {
          const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1]
          const atHi = effectivePriceScaled(price, hi, w)
          assert.ok(atHi >= price * 1_000_000n)
          assert.ok(effectivePriceScaled(price, lo, w) >= atHi)
          assert.ok(effectivePriceScaled(price, 0, w) <= (price * 10n ** 12n) / 100_000n)
        },
      ),
    )
  })
})
