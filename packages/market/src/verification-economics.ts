/**
 * The economics of result verification, in closed form: how likely each verification mode is to
 * catch a cheating provider, what cheating then earns, and how much collateral makes it a loss.
 * These are probabilities and ratios (numbers), not token amounts: the node turns them into
 * bigint prices with {@link verificationCostFactor}. The Monte Carlo in
 * verification-simulation.ts checks every formula here against sampled markets.
 *
 * The cheater modelled is the strongest simple one: it never computes (saving the whole cost of
 * the work), always answers, and all cheaters collude (they give the same wrong answer, so two
 * cheaters replicating a job agree, and a cheating referee or auditor covers for them).
 */

/** How a job's result is checked (the spec's `verification`). */
export type VerificationMode =
  | { mode: 'none' }
  | { mode: 'replicated'; replicas: number }
  | { mode: 'audit'; probability: number }
  /** `watchProbability`: chance that a random provider re-executes the job to look for a fault. */
  | { mode: 'optimistic'; watchProbability: number }

/** The market a cheater works in. */
export interface MarketAssumptions {
  /** Share of providers (and so of referees and auditors) that cheat and collude, 0..1. */
  cheaterFraction: number
  /** Referees drawn per dispute. */
  referees: number
}

/**
 * Probability that a strict majority of `referees` drawn referees is honest, each independently
 * honest with probability 1 - `cheaterFraction` (the pool is large against the draw).
 */
export function honestMajority(referees: number, cheaterFraction: number): number {
  if (referees <= 0) return 0
  const honest = 1 - cheaterFraction
  let probability = 0
  for (let h = Math.floor(referees / 2) + 1; h <= referees; h++) {
    probability += binomial(referees, h) * honest ** h * cheaterFraction ** (referees - h)
  }
  return probability
}

/**
 * Probability that one cheated job is caught: its provider is slashed and the requester pays
 * nothing for the wrong result.
 * - replicated (k): some other replica is honest (1 - f^(k-1)), and the referees' majority is honest;
 * - audit (p): the job is drawn (p), the auditor is honest, and so is the referees' majority;
 * - optimistic (q): a random provider watches the job (q), is honest so it challenges, and the
 *   referees' majority is honest.
 */
export function detectionProbability(mode: VerificationMode, market: MarketAssumptions): number {
  const f = market.cheaterFraction
  const judged = honestMajority(market.referees, f)
  switch (mode.mode) {
    case 'none':
      return 0
    case 'replicated':
      return (1 - f ** (mode.replicas - 1)) * judged
    case 'audit':
      return mode.probability * (1 - f) * judged
    case 'optimistic':
      return mode.watchProbability * (1 - f) * judged
  }
}

/** Probability that a provider cheating on `jobs` jobs is caught at least once: 1 - (1 - d)^m. */
export function caughtWithin(detection: number, jobs: number): number {
  return 1 - (1 - detection) ** jobs
}

/** One job's money, in any one unit (e.g. the job's payment = 1). */
export interface JobEconomics {
  /** What the job pays an undetected provider. */
  payment: number
  /** What computing the job honestly costs the provider (what a cheater saves), 0..payment. */
  cost: number
  /** Collateral the provider loses when caught. */
  collateral: number
}

/** Expected profit of cheating on one job: paid when not caught, collateral lost when caught. */
export function cheaterExpectedProfit(job: JobEconomics, detection: number): number {
  return (1 - detection) * job.payment - detection * job.collateral
}

/** Profit of doing the job honestly. */
export function honestProfit(job: JobEconomics): number {
  return job.payment - job.cost
}

/**
 * Least collateral that makes cheating earn less than honest work:
 * (1-d)P - dS < P - c  <=>  S > c/d - P. Infinite when nothing is ever detected.
 */
export function deterrentCollateral(job: Omit<JobEconomics, 'collateral'>, detection: number): number {
  if (detection <= 0) return Number.POSITIVE_INFINITY
  return Math.max(0, job.cost / detection - job.payment)
}

/**
 * What verification multiplies a job's compute bill by, before fees: k replicas are k bills; an
 * audit re-executes with probability p (its fee is priced at one execution); optimistic adds
 * nothing for the requester (watchers are paid from slashes).
 */
export function verificationCostFactor(mode: VerificationMode): number {
  switch (mode.mode) {
    case 'none':
    case 'optimistic':
      return 1
    case 'replicated':
      return mode.replicas
    case 'audit':
      return 1 + mode.probability
  }
}

function binomial(n: number, k: number): number {
  let result = 1
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i
  return result
}
