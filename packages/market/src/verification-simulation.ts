/**
 * Monte Carlo of result verification: a population of providers, a share of them colluding
 * cheaters, jobs assigned at random, each mode's checks played out job by job as the court
 * plays them (replicas compared, audits drawn, referees drawn from the other providers with a
 * strict-majority verdict). It samples what verification-economics.ts states in closed form, so
 * each formula is checked against an independent, mechanical model. Seeded: the same input gives
 * the same output.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { JobEconomics, VerificationMode } from './verification-economics.ts'

export interface SimulationInit {
  mode: VerificationMode
  /** Providers in the market. */
  providers: number
  /** Share of them that cheat (rounded to whole providers). */
  cheaterFraction: number
  /** Referees drawn per dispute. */
  referees: number
  /** Jobs to play. */
  jobs: number
  /** Consecutive cheated jobs per cheater for the "caught within m jobs" estimate. */
  horizon: number
  /** Money of one job (same unit for payment, cost and collateral). */
  economics: JobEconomics
  seed: number
}

export interface SimulationResult {
  /** Jobs whose (first) provider cheated. */
  cheatedJobs: number
  /** Of those, jobs where the cheaters were slashed. */
  caughtJobs: number
  /** caughtJobs / cheatedJobs. */
  detectionRate: number
  /** Binomial standard error of detectionRate. */
  standardError: number
  /** Average profit of a cheater per cheated job (payment if not caught, minus collateral if caught). */
  cheaterProfitPerJob: number
  /** Honest provider's profit per job, for comparison. */
  honestProfitPerJob: number
  /** Share of cheaters caught at least once within `horizon` of their cheated jobs. */
  caughtWithinHorizon: number
  /** Disputes a dishonest referee majority decided against the honest side. */
  honestSlashed: number
  /** Jobs the requester paid for a wrong result. */
  wrongResultsPaid: number
}

/** Plays `init.jobs` jobs and counts what each mode catches. */
export function simulateVerification(init: SimulationInit): SimulationResult {
  const rng = xoroshiro128plus(init.seed)
  const random = () => uniformFloat64(rng)
  const cheaters = Math.round(init.providers * init.cheaterFraction)
  const isCheater = (p: number) => p < cheaters
  /** Draws `count` distinct providers not in `exclude`. */
  const draw = (count: number, exclude: number[]): number[] => {
    const chosen: number[] = []
    while (chosen.length < count && chosen.length + exclude.length < init.providers) {
      const p = Math.floor(random() * init.providers)
      if (!exclude.includes(p) && !chosen.includes(p)) chosen.push(p)
    }
    return chosen
  }
  /** Referees drawn from the non-parties; true when a strict majority of them is honest. */
  const refereesFindTruth = (parties: number[]) => {
    const drawn = draw(init.referees, parties)
    const honest = drawn.filter((r) => !isCheater(r)).length
    return honest * 2 > init.referees
  }

  let cheatedJobs = 0
  let caughtJobs = 0
  let cheaterProfit = 0
  let honestSlashed = 0
  let wrongResultsPaid = 0
  const { payment, collateral } = init.economics

  /** Plays one job with `provider` first; returns whether a cheater took part and was caught. */
  const playJob = (provider: number): { cheated: boolean; caught: boolean } => {
    const mode = init.mode
    switch (mode.mode) {
      case 'none':
        return { cheated: isCheater(provider), caught: false }
      case 'replicated': {
        // Seen from the cheater's side: `provider` cheats, its k-1 fellow replicas are drawn.
        if (!isCheater(provider)) return { cheated: false, caught: false }
        const replicas = [provider, ...draw(mode.replicas - 1, [provider])]
        // Colluding cheaters agree with each other: an all-cheater group agrees on the wrong answer.
        if (replicas.every(isCheater)) return { cheated: true, caught: false }
        const truth = refereesFindTruth(replicas)
        if (!truth) honestSlashed++
        return { cheated: true, caught: truth }
      }
      case 'audit': {
        if (!isCheater(provider)) return { cheated: false, caught: false }
        if (random() >= mode.probability) return { cheated: true, caught: false }
        const [auditor] = draw(1, [provider])
        if (auditor === undefined || isCheater(auditor)) return { cheated: true, caught: false }
        return { cheated: true, caught: refereesFindTruth([provider, auditor]) }
      }
      case 'optimistic': {
        if (!isCheater(provider)) return { cheated: false, caught: false }
        if (random() >= mode.watchProbability) return { cheated: true, caught: false }
        const [challenger] = draw(1, [provider])
        if (challenger === undefined || isCheater(challenger)) return { cheated: true, caught: false }
        return { cheated: true, caught: refereesFindTruth([provider, challenger]) }
      }
    }
  }

  for (let i = 0; i < init.jobs; i++) {
    const { cheated, caught } = playJob(Math.floor(random() * init.providers))
    if (!cheated) continue
    cheatedJobs++
    if (caught) {
      caughtJobs++
      cheaterProfit -= collateral
    } else {
      cheaterProfit += payment
      wrongResultsPaid++
    }
  }

  // Caught within the horizon: each cheater plays `horizon` jobs of its own in a row.
  let caughtCheaters = 0
  const trials = Math.max(cheaters, 1) * Math.ceil(2_000 / Math.max(cheaters, 1))
  if (cheaters > 0) {
    for (let t = 0; t < trials; t++) {
      const cheater = t % cheaters
      for (let m = 0; m < init.horizon; m++) {
        if (playJob(cheater).caught) {
          caughtCheaters++
          break
        }
      }
    }
  }

  const detectionRate = cheatedJobs === 0 ? 0 : caughtJobs / cheatedJobs
  return {
    cheatedJobs,
    caughtJobs,
    detectionRate,
    standardError: cheatedJobs === 0 ? 0 : Math.sqrt((detectionRate * (1 - detectionRate)) / cheatedJobs),
    cheaterProfitPerJob: cheatedJobs === 0 ? 0 : cheaterProfit / cheatedJobs,
    honestProfitPerJob: payment - init.economics.cost,
    caughtWithinHorizon: cheaters === 0 ? 0 : caughtCheaters / trials,
    honestSlashed,
    wrongResultsPaid,
  }
}
