import { MarketConfigError } from './market-config-error.ts'

/**
 * How a requester picks winners. See docs/market.md for the formulas; defaults are chosen so
 * that a newcomer with no history is not shut out, while a provider with a bad record pays
 * for it in effective price.
 */
export interface SelectionPolicy {
  /** How many winners to pick (distinct providers). */
  k: number
  /** Minimum on-chain stake, token base units. */
  minStake: bigint
  /** Seconds a bid must still be valid for after `now`, so the award lands before it expires. */
  minValiditySeconds: bigint
  /** Providers whose reputation (ppm, 0..1e6) is below this are excluded. */
  minReputationPpm: number
  /**
   * How much reputation moves effective price, ppm in [0, 900_000]. Effective price is
   * price / (1 - w·(1 - ρ)): with w = 0.5 a provider with ρ = 0 pays a 2x handicap.
   */
  reputationWeightPpm: number
  /** Pseudo-counts added to every record (Bayesian prior): a newcomer starts at c/(c+f). */
  priorCompleted: number
  priorFailed: number
  /** A slash counts as this many failed jobs. */
  slashWeight: number
  /** Weight (ppm) of the on-chain `score` against the record's counts, when a score is given. */
  scoreWeightPpm: number
  /** Exclude bids from providers with no current offer in the book (`no-offer`). */
  requireOffer: boolean
}

export const DEFAULT_SELECTION_POLICY: Readonly<SelectionPolicy> = Object.freeze({
  k: 1,
  minStake: 0n,
  minValiditySeconds: 30n,
  minReputationPpm: 0,
  reputationWeightPpm: 500_000,
  priorCompleted: 3,
  priorFailed: 1,
  slashWeight: 5,
  scoreWeightPpm: 0,
  requireOffer: false,
})

export const MAX_REPUTATION_WEIGHT_PPM = 900_000

function intIn(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new MarketConfigError(field, `must be an integer in [${min}, ${max}], got ${value}`)
  }
}

/** Fills defaults and validates ranges; throws MarketConfigError. */
export function resolvePolicy(partial: Partial<SelectionPolicy> = {}): SelectionPolicy {
  const policy: SelectionPolicy = { ...DEFAULT_SELECTION_POLICY, ...partial }
  intIn('k', policy.k, 1, 1_000)
  intIn('minReputationPpm', policy.minReputationPpm, 0, 1_000_000)
  intIn('reputationWeightPpm', policy.reputationWeightPpm, 0, MAX_REPUTATION_WEIGHT_PPM)
  intIn('priorCompleted', policy.priorCompleted, 0, 1_000_000)
  intIn('priorFailed', policy.priorFailed, 0, 1_000_000)
  intIn('slashWeight', policy.slashWeight, 0, 1_000_000)
  intIn('scoreWeightPpm', policy.scoreWeightPpm, 0, 1_000_000)
  if (policy.minStake < 0n) throw new MarketConfigError('minStake', 'must not be negative')
  if (policy.minValiditySeconds < 0n)
    throw new MarketConfigError('minValiditySeconds', 'must not be negative')
  return policy
}
