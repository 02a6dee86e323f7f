import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  caughtWithin,
  cheaterExpectedProfit,
  detectionProbability,
  deterrentCollateral,
  honestMajority,
  honestProfit,
  type VerificationMode,
  verificationCostFactor,
} from './verification-economics.ts'
import { simulateVerification } from './verification-simulation.ts'

const market = { cheaterFraction: 0.2, referees: 3 }
const economics = { payment: 1, cost: 0.6, collateral: 1 }

describe('verification economics', () => {
  it('computes the chance of an honest referee majority', () => {
    assert.equal(honestMajority(1, 0.3), 0.7)
    assert.equal(honestMajority(3, 0), 1)
    assert.equal(honestMajority(0, 0), 0)
    // 3 referees, f = 0.2: P(2 honest) + P(3 honest) = 3 * 0.64 * 0.2 + 0.512
    assert.ok(Math.abs(honestMajority(3, 0.2) - 0.896) < 1e-12)
  })

  it('detects nothing without verification, and more with more replicas or audits', () => {
    assert.equal(detectionProbability({ mode: 'none' }, market), 0)
    const k2 = detectionProbability({ mode: 'replicated', replicas: 2 }, market)
    const k3 = detectionProbability({ mode: 'replicated', replicas: 3 }, market)
    assert.ok(k3 > k2 && k2 > 0)
    const p1 = detectionProbability({ mode: 'audit', probability: 0.1 }, market)
    const p5 = detectionProbability({ mode: 'audit', probability: 0.5 }, market)
    assert.ok(p5 > p1 && p1 > 0)
  })

  it('finds the collateral at which cheating earns exactly what honest work earns', () => {
    for (const detection of [0.05, 0.3, 0.9]) {
      const collateral = deterrentCollateral(economics, detection)
      const cheat = cheaterExpectedProfit({ ...economics, collateral }, detection)
      if (collateral > 0) assert.ok(Math.abs(cheat - honestProfit(economics)) < 1e-9)
      else assert.ok(cheat <= honestProfit(economics))
    }
    assert.equal(deterrentCollateral(economics, 0), Number.POSITIVE_INFINITY)
  })

  it('prices verification as a multiple of the compute bill', () => {
    assert.equal(verificationCostFactor({ mode: 'none' }), 1)
    assert.equal(verificationCostFactor({ mode: 'replicated', replicas: 3 }), 3)
    assert.equal(verificationCostFactor({ mode: 'audit', probability: 0.25 }), 1.25)
    assert.equal(verificationCostFactor({ mode: 'optimistic', watchProbability: 0.5 }), 1)
  })
})

describe('verification Monte Carlo', () => {
  const modes: VerificationMode[] = [
    { mode: 'none' },
    { mode: 'replicated', replicas: 2 },
    { mode: 'replicated', replicas: 3 },
    { mode: 'audit', probability: 0.1 },
    { mode: 'audit', probability: 0.5 },
    { mode: 'optimistic', watchProbability: 0.5 },
  ]
  for (const mode of modes) {
    it(`matches the closed form for ${JSON.stringify(mode)} within sampling error`, () => {
      const result = simulateVerification({
        mode,
        providers: 2_000,
        cheaterFraction: market.cheaterFraction,
        referees: market.referees,
        jobs: 40_000,
        horizon: 5,
        economics,
        seed: 7,
      })
      const expected = detectionProbability(mode, market)
      const tolerance = 4 * Math.max(result.standardError, 1e-3)
      assert.ok(result.cheatedJobs > 5_000, 'enough cheated jobs to measure')
      assert.ok(
        Math.abs(result.detectionRate - expected) < tolerance,
        `detection ${result.detectionRate} vs analytic ${expected} (+/- ${tolerance})`,
      )
      const within = caughtWithin(expected, 5)
      const trialsError = Math.sqrt((within * (1 - within)) / 2_000)
      assert.ok(
        Math.abs(result.caughtWithinHorizon - within) < 4 * Math.max(trialsError, 1e-3),
        `caught within 5 jobs ${result.caughtWithinHorizon} vs 1-(1-d)^5 = ${within}`,
      )
      const profit = cheaterExpectedProfit(economics, expected)
      assert.ok(
        Math.abs(result.cheaterProfitPerJob - profit) <
          4 * (1 + economics.collateral) * result.standardError + 1e-3,
      )
    })
  }

  it('is deterministic for a seed', () => {
    const init = {
      mode: { mode: 'audit', probability: 0.2 } as const,
      providers: 100,
      cheaterFraction: 0.3,
      referees: 3,
      jobs: 2_000,
      horizon: 3,
      economics,
      seed: 11,
    }
    assert.deepEqual(simulateVerification(init), simulateVerification(init))
    assert.notDeepEqual(simulateVerification(init), simulateVerification({ ...init, seed: 12 }))
  })
})
