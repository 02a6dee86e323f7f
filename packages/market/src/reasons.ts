/**
 * One vocabulary for every "why not": a bid the requester excluded, an offer `explain` found
 * unable to serve a job, a job the provider strategy declined, and the report of a job that
 * received no bids. Values are stable strings: they cross the wire and appear in `--json`.
 */
export const MarketReason = {
  /** The signature did not verify (checked by the caller, passed in as a flag). */
  SignatureInvalid: 'signature-invalid',
  /** A second bid from a provider that already has a better one in the auction. */
  Duplicate: 'duplicate',
  /** The bid expires before the award could land (now + minimum validity). */
  BidExpired: 'bid-expired',
  /** The provider's offer has expired. */
  OfferExpired: 'offer-expired',
  /** The policy requires a current offer and the provider has none. */
  NoOffer: 'no-offer',
  Runtime: 'runtime',
  Cores: 'cores',
  Memory: 'memory',
  Gpu: 'gpu',
  Region: 'region',
  Attribute: 'attribute',
  /** The bid's price is above the job's maximum. */
  PriceAboveMax: 'price-above-max',
  /** The provider's floor (or its ask at current utilization) is above the job's maximum. */
  PriceFloorAboveMax: 'price-floor-above-max',
  StakeTooLow: 'stake-too-low',
  Jailed: 'jailed',
  ReputationTooLow: 'reputation-too-low',
  /** Able in principle, but its free capacity is committed to other jobs right now. */
  Busy: 'busy',
} as const
export type MarketReason = (typeof MarketReason)[keyof typeof MarketReason]

/** One failed check: the stable reason and a human sentence with the numbers. */
export interface Exclusion {
  reason: MarketReason
  detail: string
}

/** Counts exclusions by reason (first reason of each entry), for summaries and metrics. */
export function countReasons(
  entries: Iterable<{ reasons: readonly Exclusion[] }>,
): Partial<Record<MarketReason, number>> {
  const counts: Partial<Record<MarketReason, number>> = {}
  for (const entry of entries) {
    const first = entry.reasons[0]
    if (first) counts[first.reason] = (counts[first.reason] ?? 0) + 1
  }
  return counts
}
