/**
 * Monte Carlo of verification (issue: Verification): for each cheater fraction and each mode,
 * the sampled detection rate beside the closed form, the share of cheaters caught within 10
 * jobs beside 1-(1-d)^10, and a cheater's profit per job beside an honest provider's. Then the
 * collateral that makes cheating a loss, and the least audit probability that deters with the
 * default collateral: the figures the defaults in docs/verification.md come from.
 */
import {
  caughtWithin,
  detectionProbability,
  deterrentCollateral,
  simulateVerification,
  type VerificationMode,
} from '@bazaar/market'
import type { BenchSuite } from '../bench-suite.ts'

/** Referees per dispute: the court's default. */
const REFEREES = 3
/** The cheater fraction the defaults are chosen for. */
const DESIGN_CHEATERS = 0.1
/** Collateral per job in units of the job's most possible payment (collateralBps 10 000). */
const DEFAULT_COLLATERAL = 1
const HORIZON = 10
const MODES: VerificationMode[] = [
  { mode: 'none' },
  { mode: 'replicated', replicas: 2 },
  { mode: 'replicated', replicas: 3 },
  { mode: 'audit', probability: 0.1 },
  { mode: 'audit', probability: 0.35 },
  { mode: 'optimistic', watchProbability: 0.5 },
]

const label = (mode: VerificationMode) =>
  mode.mode === 'replicated'
    ? `replicated k=${mode.replicas}`
    : mode.mode === 'audit'
      ? `audit p=${mode.probability}`
      : mode.mode === 'optimistic'
        ? `optimistic q=${mode.watchProbability}`
        : 'none'

export const verificationSimSuite: BenchSuite = {
  name: 'verification-sim',
  async run({ log }) {
    // Costs and collateral in units of the job's payment; the worst case for deterrence is a
    // cheater that saves the whole payment (cost share 1), a typical one 60%.
    const economics = { payment: 1, cost: 0.6, collateral: DEFAULT_COLLATERAL }
    const rows: Record<string, unknown>[] = []
    for (const cheaterFraction of [0.05, 0.1, 0.2, 0.3]) {
      for (const mode of MODES) {
        const sim = simulateVerification({
          mode,
          providers: 1_000,
          cheaterFraction,
          referees: REFEREES,
          jobs: 50_000,
          horizon: HORIZON,
          economics,
          seed: 1,
        })
        const analytic = detectionProbability(mode, { cheaterFraction, referees: REFEREES })
        rows.push({
          cheaters: cheaterFraction,
          mode: label(mode),
          detected: round(sim.detectionRate),
          analytic: round(analytic),
          within3σ: Math.abs(sim.detectionRate - analytic) <= 3 * Math.max(sim.standardError, 1e-3),
          [`caught≤${HORIZON}`]: round(sim.caughtWithinHorizon),
          [`1-(1-d)^${HORIZON}`]: round(caughtWithin(analytic, HORIZON)),
          cheatProfit: round(sim.cheaterProfitPerJob),
          honestProfit: round(sim.honestProfitPerJob),
          wrongPaid: sim.wrongResultsPaid,
        })
      }
    }
    log.table(Object.fromEntries(rows.map((row) => [`f=${row.cheaters} ${row.mode}`, row])))

    const market = { cheaterFraction: DESIGN_CHEATERS, referees: REFEREES }
    const deterrence = MODES.filter((m) => m.mode !== 'none').map((mode) => {
      const d = detectionProbability(mode, market)
      return {
        mode: label(mode),
        detection: round(d),
        'collateral needed (cost 60%)': round(deterrentCollateral({ payment: 1, cost: 0.6 }, d)),
        'collateral needed (cost 100%)': round(deterrentCollateral({ payment: 1, cost: 1 }, d)),
      }
    })
    log.line(
      `\ncollateral (in job payments) that makes cheating a loss, ${DESIGN_CHEATERS * 100}% colluding cheaters:`,
    )
    log.table(Object.fromEntries(deterrence.map((row) => [row.mode, row])))

    // Least audit probability for which the default collateral deters: c < d (P + S).
    const judgedAudit = detectionProbability({ mode: 'audit', probability: 1 }, market)
    const leastAudit = (cost: number) => cost / ((1 + DEFAULT_COLLATERAL) * judgedAudit)
    const defaults = {
      collateralInPayments: DEFAULT_COLLATERAL,
      leastAuditProbabilityCost60: round(leastAudit(0.6)),
      leastAuditProbabilityCost100: round(leastAudit(1)),
    }
    log.line(
      `least audit probability that deters with collateral = ${DEFAULT_COLLATERAL} payment: ` +
        `${defaults.leastAuditProbabilityCost60} (cost 60%), ${defaults.leastAuditProbabilityCost100} (cost 100%)`,
    )
    return { referees: REFEREES, horizon: HORIZON, rows, deterrence, defaults }
  },
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : value
}
