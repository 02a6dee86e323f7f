/** fast-check generators shared by the market's property tests: small worlds, many collisions. */
import type { OfferMessage } from '@bazaar/protocol'
import fc from 'fast-check'
import type { MarketBid, ProviderStanding } from '../src/bid-evaluation.ts'
import type { JobRequirements } from '../src/requirements.ts'
import type { SelectionPolicy } from '../src/selection-policy.ts'

export const NOW = 1_000n

/** Few providers, with a case variant, so duplicates and address ties are common. */
export const PROVIDERS = ['0xa1', '0xb2', '0xc3', '0xd4', '0xe5'] as const
export type Provider = `0x${string}`
export const providerArb: fc.Arbitrary<Provider> = fc.constantFrom<Provider>(...PROVIDERS, '0xA1', '0xC3')

/** `arb` in about one case of `oneIn`, else undefined: optional constraints stay the exception. */
export function sometimes<T>(arb: fc.Arbitrary<T>, oneIn = 5): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb })
}

/** Mostly `usual`, now and then `rare`. */
function mostly<T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, oneIn = 6): fc.Arbitrary<T> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: usual }, { weight: 1, arbitrary: rare })
}

export const jobArb: fc.Arbitrary<JobRequirements> = fc
  .record({
    runtime: mostly(fc.constant('wasm'), fc.constant('docker')),
    cores: fc.integer({ min: 1, max: 4 }),
    memoryMb: fc.constantFrom(256, 512, 1024, 2048),
    maxPricePerFuel: fc.bigInt({ min: 8n, max: 25n }),
    gpu: sometimes(
      fc.record({
        count: fc.integer({ min: 1, max: 2 }),
        model: sometimes(fc.constantFrom('a100', 't4'), 2),
        minMemoryMb: sometimes(fc.constantFrom(8_000, 20_000), 2),
      }),
    ),
    region: sometimes(fc.constantFrom('eu', 'us'), 6),
    attributes: sometimes(
      fc.dictionary(fc.constantFrom('tee', 'arch'), fc.constantFrom('sgx', 'x86'), {
        minKeys: 1,
        maxKeys: 2,
      }),
      6,
    ),
  })
  .map(
    (job) =>
      Object.fromEntries(
        Object.entries(job).filter(([, v]) => v !== undefined),
      ) as unknown as JobRequirements,
  )

export function offerArb(provider: Provider): fc.Arbitrary<OfferMessage> {
  return fc.record({
    provider: fc.constant(provider),
    peerId: fc.constant(`peer-${provider.toLowerCase()}`),
    cores: mostly(fc.integer({ min: 4, max: 8 }), fc.integer({ min: 1, max: 3 })),
    memoryMb: mostly(fc.constantFrom(1024, 2048, 4096, 8192), fc.constant(256)),
    gpus: fc.array(
      fc.record({
        model: fc.constantFrom('NVIDIA A100', 'Tesla T4'),
        memoryMb: fc.constantFrom(16_000, 40_000),
      }),
      { maxLength: 2 },
    ),
    runtimes: mostly<readonly string[]>(
      fc.constantFrom(['wasm'], ['wasm', 'docker'], ['docker', 'wasm']),
      fc.constantFrom([], ['docker']),
    ),
    floorPricePerFuel: fc.bigInt({ min: 1n, max: 20n }),
    stake: fc.bigInt({ min: 0n, max: 3n }),
    region: fc.constantFrom('eu', 'us', ''),
    attributes: fc.uniqueArray(
      fc.record({ key: fc.constantFrom('tee', 'arch'), value: fc.constantFrom('sgx', 'x86', 'none') }),
      { selector: (a) => a.key, maxLength: 2 },
    ),
    issuedAt: fc.constant(NOW - 100n),
    expiry: mostly(fc.bigInt({ min: NOW + 1n, max: NOW + 100n }), fc.bigInt({ min: NOW - 10n, max: NOW })),
    sequence: fc.bigInt({ min: 0n, max: 5n }),
  })
}

export const standingArb: fc.Arbitrary<ProviderStanding> = fc
  .record({
    stake: mostly(fc.bigInt({ min: 1n, max: 3n }), fc.constant(0n)),
    jailed: mostly(fc.constant(false), fc.constant(true), 8),
    reputation: sometimes(
      fc.record({
        completed: fc.integer({ min: 0, max: 6 }),
        failed: fc.integer({ min: 0, max: 6 }),
        slashed: fc.integer({ min: 0, max: 2 }),
      }),
      2,
    ),
  })
  .map((s) => (s.reputation === undefined ? { stake: s.stake, jailed: s.jailed } : (s as ProviderStanding)))

function perProvider<T>(arb: (p: Provider) => fc.Arbitrary<T>, presentOneIn: number) {
  return fc
    .tuple(...PROVIDERS.map((p) => mostly(arb(p), fc.constant(undefined), presentOneIn)))
    .map((values) => {
      const out: Partial<Record<string, T>> = {}
      for (const [i, v] of values.entries()) if (v !== undefined) out[PROVIDERS[i]!] = v
      return out
    })
}

/** Standing and (maybe) an offer for each lowercase provider. */
export const worldArb = fc.record({
  standing: perProvider(() => standingArb, 8),
  offers: perProvider(offerArb, 5),
})
export type World = {
  standing: Partial<Record<string, ProviderStanding>>
  offers: Partial<Record<string, OfferMessage>>
}

export const bidArb: fc.Arbitrary<MarketBid> = fc.record({
  provider: providerArb,
  pricePerFuel: mostly(fc.bigInt({ min: 1n, max: 12n }), fc.bigInt({ min: 13n, max: 25n })),
  expiry: mostly(fc.bigInt({ min: NOW + 10n, max: NOW + 40n }), fc.bigInt({ min: NOW - 5n, max: NOW + 10n })),
  signatureValid: mostly(fc.constant(true), fc.constant(false), 8),
})

export const policyArb: fc.Arbitrary<Partial<SelectionPolicy>> = fc.record({
  k: fc.integer({ min: 1, max: 3 }),
  minStake: fc.bigInt({ min: 0n, max: 1n }),
  minValiditySeconds: fc.bigInt({ min: 0n, max: 10n }),
  minReputationPpm: mostly(fc.constant(0), fc.constantFrom(500_000, 700_000), 3),
  reputationWeightPpm: fc.constantFrom(0, 250_000, 500_000, 900_000),
  requireOffer: fc.boolean(),
})

/** A permutation of the indices 0..n-1. */
export function permutationArb(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((keys) =>
    keys
      .map((k, i) => [k, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, i]) => i),
  )
}

/** A world where most bids qualify, so rankings, ties and duplicates get exercised. */
export const friendlyWorldArb = fc.record({
  standing: perProvider(
    () =>
      fc.record({
        stake: fc.bigInt({ min: 1n, max: 3n }),
        jailed: fc.constant(false),
        reputation: fc.record({
          completed: fc.integer({ min: 0, max: 6 }),
          failed: fc.integer({ min: 0, max: 3 }),
          slashed: fc.integer({ min: 0, max: 1 }),
        }),
      }),
    1_000,
  ),
  offers: perProvider(
    (p) =>
      offerArb(p).map((o) => ({
        ...o,
        cores: 8,
        memoryMb: 8192,
        runtimes: ['wasm'],
        region: 'eu',
        attributes: [],
        expiry: NOW + 100n,
      })),
    1_000,
  ),
})

export const friendlyJobArb: fc.Arbitrary<JobRequirements> = fc.record({
  runtime: fc.constant('wasm'),
  cores: fc.integer({ min: 1, max: 8 }),
  memoryMb: fc.constantFrom(256, 1024, 8192),
  maxPricePerFuel: fc.bigInt({ min: 10n, max: 25n }),
})

export const friendlyPolicyArb: fc.Arbitrary<Partial<SelectionPolicy>> = fc.record({
  k: fc.integer({ min: 1, max: 4 }),
  minStake: fc.constant(1n),
  minValiditySeconds: fc.constant(5n),
  minReputationPpm: fc.constantFrom(0, 400_000),
  reputationWeightPpm: fc.constantFrom(0, 250_000, 500_000, 900_000),
  requireOffer: fc.boolean(),
})

/** Auctions: half hostile (most bids fail some filter), half friendly (most qualify). */
export const auctionArb = fc
  .oneof(
    fc.record({ job: jobArb, world: worldArb, policy: policyArb, bids: fc.array(bidArb, { maxLength: 8 }) }),
    fc.record({
      job: friendlyJobArb,
      world: friendlyWorldArb,
      policy: friendlyPolicyArb,
      bids: fc.array(bidArb, { minLength: 1, maxLength: 8 }),
    }),
  )
  .chain((x) => permutationArb(x.bids.length).map((perm) => ({ ...x, perm })))
