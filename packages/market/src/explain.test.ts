import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OfferMessage } from '@bazaar/protocol'
import { explainJob } from './explain.ts'

const base: OfferMessage = {
  provider: '0x0a',
  peerId: 'peer-a',
  cores: 4,
  memoryMb: 4096,
  gpus: [],
  runtimes: ['wasm'],
  floorPricePerFuel: 10n,
  stake: 100n,
  region: 'eu',
  attributes: [],
  issuedAt: 0n,
  expiry: 2_000n,
  sequence: 1n,
}
const offers: OfferMessage[] = [
  base,
  { ...base, provider: '0x0b', peerId: 'peer-b', floorPricePerFuel: 20n },
  { ...base, provider: '0x0c', memoryMb: 512 },
  { ...base, provider: '0x0d', runtimes: ['docker'] },
  { ...base, provider: '0x0e', floorPricePerFuel: 80n },
  { ...base, provider: '0x0f', stake: 1n },
  { ...base, provider: '0x10' },
  { ...base, provider: '0x11', expiry: 900n },
  { ...base, provider: '0x12', gpus: [{ model: 'Tesla T4', memoryMb: 16_000 }] },
]
const job = { runtime: 'wasm', cores: 2, memoryMb: 1024, maxPricePerFuel: 50n }

describe('explainJob', () => {
  it('lists who could bid at what price, and why each other provider could not', () => {
    const result = explainJob({ ...job, gpu: undefined }, offers, {
      nowSeconds: 1_000n,
      standing: (p) => (p === '0x10' ? { stake: 100n, jailed: true } : undefined),
      policy: { minStake: 50n },
      prices: {
        'wasm/c2/m1g': {
          resourceClass: 'wasm/c2/m1g',
          count: 4,
          recent: 15n,
          recentAtSeconds: 990n,
          median: 15n,
          min: 12n,
          max: 30n,
          fromSeconds: 0n,
          toSeconds: 1_000n,
        },
      },
    })
    assert.equal(result.resourceClass, 'wasm/c2/m1g')
    assert.deepEqual(
      result.candidates.map((c) => [c.provider, c.expectedPrice.low, c.expectedPrice.high]),
      [
        ['0x0a', 10n, 30n], // max(10, median 15) × 2
        ['0x12', 10n, 30n],
        ['0x0b', 20n, 40n],
      ],
    )
    assert.deepEqual(result.expectedPrice, { low: 10n, high: 40n })
    assert.deepEqual(
      result.excluded.map((x) => [x.provider, x.reason]),
      [
        ['0x0c', 'memory'],
        ['0x0d', 'runtime'],
        ['0x0e', 'price-floor-above-max'],
        ['0x0f', 'stake-too-low'],
        ['0x10', 'jailed'],
        ['0x11', 'offer-expired'],
      ],
    )
    assert.equal(result.reasonCounts.memory, 1)
    assert.equal(result.market?.median, 15n)
  })

  it('reports every reason of a provider, not only the first', () => {
    const result = explainJob(
      { ...job, gpu: { count: 1, model: 'a100' }, region: 'us' },
      [{ ...base, expiry: 10n, memoryMb: 512, floorPricePerFuel: 99n }],
      { nowSeconds: 1_000n },
    )
    assert.deepEqual(
      result.excluded[0]?.reasons.map((r) => r.reason),
      ['offer-expired', 'memory', 'gpu', 'region', 'price-floor-above-max'],
    )
    assert.equal(result.expectedPrice, undefined)
  })
})
