import type { SelectionPolicy } from './selection-policy.ts'

/** A provider's record as the registry reports it. */
export interface ReputationRecord {
  completed: number | bigint
  failed: number | bigint
  slashed: number | bigint
  /** Optional on-chain score in ppm (0..1e6); blended by `policy.scoreWeightPpm`. */
  score?: number | bigint
}

const PPM = 1_000_000n

function clampPpm(v: bigint): bigint {
  return v < 0n ? 0n : v > PPM ? PPM : v
}

/**
 * Reputation ρ in ppm (0 = worst, 1e6 = best):
 *   hist = (completed + priorCompleted) / (completed + failed + slashWeight·slashed + priorCompleted + priorFailed)
 *   ρ    = hist·(1 − s) + score·s           (s = scoreWeightPpm; only when a score is given)
 * Integer arithmetic, rounded down, so every node computes the same value.
 * No record counts as zero history: the prior alone (3/4 by default).
 */
export function reputationPpm(
  record: ReputationRecord | undefined,
  policy: Pick<SelectionPolicy, 'priorCompleted' | 'priorFailed' | 'slashWeight' | 'scoreWeightPpm'>,
): number {
  const completed = BigInt(record?.completed ?? 0)
  const failed = BigInt(record?.failed ?? 0)
  const slashed = BigInt(record?.slashed ?? 0)
  const good = completed + BigInt(policy.priorCompleted)
  const total = good + failed + BigInt(policy.slashWeight) * slashed + BigInt(policy.priorFailed)
  const hist = total === 0n ? PPM : clampPpm((good * PPM) / total)
  if (record?.score === undefined || policy.scoreWeightPpm === 0) return Number(hist)
  const s = BigInt(policy.scoreWeightPpm)
  return Number((hist * (PPM - s) + clampPpm(BigInt(record.score)) * s) / PPM)
}

/**
 * Effective price, scaled by 1e6 (base units per fuel × 1e6):
 *   effective = price / (1 − w·(1 − ρ))     (w = reputationWeightPpm, ρ = reputation)
 * A perfect record pays its price; the worst pays price / (1 − w). Lower is better.
 */
export function effectivePriceScaled(
  pricePerFuel: bigint,
  repPpm: number,
  reputationWeightPpm: number,
): bigint {
  const penalty = (BigInt(reputationWeightPpm) * (PPM - clampPpm(BigInt(repPpm)))) / PPM
  const divisor = PPM - penalty // >= 1e6 − 0.9e6 > 0 for a valid policy
  return (pricePerFuel * PPM * PPM) / divisor
}
