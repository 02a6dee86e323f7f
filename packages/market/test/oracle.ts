/**
 * A second, deliberately naive implementation of the market rules, written from
 * docs/market.md and not from the engine's code, for the property tests to compare against.
 */
import type { OfferMessage } from '@bazaar/protocol'
import type { MarketBid, ProviderStanding } from '../src/bid-evaluation.ts'
import type { JobRequirements } from '../src/requirements.ts'
import type { SelectionPolicy } from '../src/selection-policy.ts'

const M = 1_000_000n

export function naiveReputation(s: ProviderStanding | undefined, p: SelectionPolicy): bigint {
  const c = BigInt(s?.reputation?.completed ?? 0)
  const f = BigInt(s?.reputation?.failed ?? 0)
  const x = BigInt(s?.reputation?.slashed ?? 0)
  const num = c + BigInt(p.priorCompleted)
  const den = c + f + BigInt(p.slashWeight) * x + BigInt(p.priorCompleted) + BigInt(p.priorFailed)
  return den === 0n ? M : (num * M) / den
}

export function naiveEffective(price: bigint, rep: bigint, p: SelectionPolicy): bigint {
  return (price * M * M) / (M - (BigInt(p.reputationWeightPpm) * (M - rep)) / M)
}

function gpuOk(g: { model: string; memoryMb: number }, need: NonNullable<JobRequirements['gpu']>): boolean {
  const words = g.model.toLowerCase().split(' ')
  return (need.model === undefined || words.includes(need.model)) && g.memoryMb >= (need.minMemoryMb ?? 0)
}

/** The set of reasons an offer cannot serve the job, by the documented rules. */
export function naiveCapabilityReasons(job: JobRequirements, o: OfferMessage): string[] {
  const r: string[] = []
  if (!o.runtimes.includes(job.runtime)) r.push('runtime')
  if (o.cores < job.cores) r.push('cores')
  if (o.memoryMb < job.memoryMb) r.push('memory')
  if (job.gpu && job.gpu.count > 0 && o.gpus.filter((g) => gpuOk(g, job.gpu!)).length < job.gpu.count)
    r.push('gpu')
  if (job.region !== undefined && job.region !== o.region) r.push('region')
  for (const [k, v] of Object.entries(job.attributes ?? {})) {
    if (!o.attributes.some((a) => a.key === k && a.value === v)) r.push('attribute')
  }
  return r
}

export interface NaiveWorld {
  standing: Partial<Record<string, ProviderStanding>>
  offers: Partial<Record<string, OfferMessage>>
}

export function naiveBidReasons(
  bid: MarketBid,
  job: JobRequirements,
  w: NaiveWorld,
  p: SelectionPolicy,
  now: bigint,
): string[] {
  const key = bid.provider.toLowerCase()
  const r: string[] = []
  if (!bid.signatureValid) r.push('signature-invalid')
  if (bid.expiry < now + p.minValiditySeconds) r.push('bid-expired')
  if (bid.pricePerFuel > job.maxPricePerFuel) r.push('price-above-max')
  const offer = w.offers[key]
  if (p.requireOffer) {
    if (offer === undefined) r.push('no-offer')
    else {
      if (offer.expiry <= now) r.push('offer-expired')
      r.push(...naiveCapabilityReasons(job, offer))
    }
  } else if (offer !== undefined && offer.expiry > now) r.push(...naiveCapabilityReasons(job, offer))
  const s = w.standing[key]
  if ((s?.stake ?? 0n) < p.minStake) r.push('stake-too-low')
  if (s?.jailed) r.push('jailed')
  if (naiveReputation(s, p) < BigInt(p.minReputationPpm)) r.push('reputation-too-low')
  return r
}
