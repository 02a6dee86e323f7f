import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decideBid } from './bid-strategy.ts'

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
