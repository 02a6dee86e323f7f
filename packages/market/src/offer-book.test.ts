import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OfferMessage } from '@bazaar/protocol'
import fc from 'fast-check'
import { OfferBook } from './offer-book.ts'

const offer = (over: Partial<OfferMessage> = {}): OfferMessage => ({
  provider: '0x0a',
  peerId: 'peer-a',
  cores: 4,
  memoryMb: 4096,
  gpus: [],
  runtimes: ['wasm'],
  floorPricePerFuel: 10n,
  stake: 100n,
  region: '',
  attributes: [],
  issuedAt: 100n,
  expiry: 700n,
  sequence: 1n,
  ...over,
})

describe('OfferBook', () => {
  it('keeps the highest sequence per provider and says why it refused the rest', () => {
    const book = new OfferBook({ maxLifetimeSeconds: 3_600n })
    assert.equal(book.add(offer(), 200n).status, 'added')
    const replaced = book.add(offer({ sequence: 2n, floorPricePerFuel: 12n, provider: '0x0A' }), 200n)
    assert.equal(replaced.status, 'replaced')
    const reasons = [
      book.add(offer({ sequence: 1n }), 200n),
      book.add(offer({ sequence: 2n, floorPricePerFuel: 12n, provider: '0x0A' }), 200n),
      book.add(offer({ sequence: 2n, floorPricePerFuel: 11n }), 200n),
      book.add(offer({ provider: '0x0b', expiry: 200n }), 200n),
      book.add(offer({ provider: '0x0b', issuedAt: 300n }), 200n),
      book.add(offer({ provider: '0x0b', expiry: 100n + 3_601n }), 200n),
    ].map((r) => (r.status === 'rejected' ? r.reason : r.status))
    assert.deepEqual(reasons, [
      'stale-sequence',
      'duplicate',
      'equivocation',
      'expired',
      'issued-in-future',
      'lifetime-too-long',
    ])
    assert.equal(book.get('0x0a')?.floorPricePerFuel, 12n)
    assert.equal(book.size, 1)
  })

  it('queries live offers that fit, cheapest first, and prunes expired ones', () => {
    const book = new OfferBook()
    book.add(offer({ provider: '0x0a', floorPricePerFuel: 30n }), 200n)
    book.add(offer({ provider: '0x0b', floorPricePerFuel: 20n }), 200n)
    book.add(offer({ provider: '0x0c', floorPricePerFuel: 5n, memoryMb: 256 }), 200n)
    book.add(offer({ provider: '0x0d', floorPricePerFuel: 1n, expiry: 300n }), 200n)
    book.add(offer({ provider: '0x0e', floorPricePerFuel: 90n }), 200n)
    const job = { runtime: 'wasm', cores: 2, memoryMb: 1024, maxPricePerFuel: 50n }
    assert.deepEqual(
      book.query(job, 250n).map((o) => o.provider),
      ['0x0d', '0x0b', '0x0a'],
    )
    assert.deepEqual(
      book.query(job, 300n).map((o) => o.provider),
      ['0x0b', '0x0a'],
    )
    assert.equal(book.offers().length, 5, 'expired offers stay until pruned, for explain')
    assert.deepEqual(
      book.prune(400n, 50n).map((o) => o.provider),
      ['0x0d'],
    )
    assert.equal(book.size, 4)
  })

  it('refuses new providers when full, after dropping expired ones', () => {
    const book = new OfferBook({ maxOffers: 2 })
    book.add(offer({ provider: '0x01', expiry: 250n }), 200n)
    book.add(offer({ provider: '0x02' }), 200n)
    assert.equal(book.add(offer({ provider: '0x03' }), 200n).status, 'rejected')
    assert.equal(book.add(offer({ provider: '0x03' }), 260n).status, 'added')
    assert.deepEqual(
      book.offers().map((o) => o.provider),
      ['0x02', '0x03'],
    )
  })

  it('sums market depth per class with floor quantiles', () => {
    const book = new OfferBook()
    for (const [i, floor] of [10n, 20n, 30n, 40n].entries()) {
      book.add(offer({ provider: `0x0${i}`, floorPricePerFuel: floor }), 200n)
    }
    book.add(
      offer({
        provider: '0x09',
        cores: 16,
        memoryMb: 65_536,
        gpus: [{ model: 'NVIDIA A100', memoryMb: 40_960 }],
      }),
      200n,
    )
    book.add(offer({ provider: '0x08', expiry: 300n }), 200n)
    const depth = book.depth(400n)
    assert.equal(depth.providers, 5)
    assert.equal(depth.cores, 32)
    assert.equal(depth.gpus, 1)
    assert.deepEqual(
      depth.classes.map((c) => [
        c.resourceClass,
        c.providers,
        c.floorPricePerFuel.p50,
        c.floorPricePerFuel.max,
      ]),
      [
        ['wasm/c16/m64g/g1-nvidia-a100', 1, 10n, 10n],
        ['wasm/c4/m4g', 4, 20n, 40n],
      ],
    )
  })

  it('ends up with the highest sequence of each provider whatever the arrival order', () => {
    const arb = fc.array(
      fc.record({
        provider: fc.constantFrom('0x01', '0x02', '0x03'),
        sequence: fc.bigInt({ min: 0n, max: 6n }),
      }),
      { maxLength: 20 },
    )
    fc.assert(
      fc.property(arb, (items) => {
        const book = new OfferBook()
        for (const { provider, sequence } of items) {
          book.add(
            offer({ provider: provider as `0x${string}`, sequence, floorPricePerFuel: sequence }),
            200n,
          )
        }
        for (const p of ['0x01', '0x02', '0x03']) {
          const seqs = items.filter((i) => i.provider === p).map((i) => i.sequence)
          const max = seqs.reduce<bigint | undefined>((m, s) => (m === undefined || s > m ? s : m), undefined)
          assert.equal(book.get(p)?.sequence, max)
        }
      }),
    )
  })
})
