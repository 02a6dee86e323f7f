/**
 * Load on the multi-process market (issue #8): `bazaar devnet`, one requester daemon and 10
 * provider daemons as separate OS processes on 127.0.0.1, 1,000 small wasm jobs submitted
 * through the SDK with bounded concurrency. Reports jobs/s, submit-to-ended latency, peak RSS
 * per process and gas per job, and fails if anything was lost (packages/cli/test/harness).
 * Sizes can be lowered for a quick look: BAZAAR_LOAD_PROVIDERS, BAZAAR_LOAD_JOBS,
 * BAZAAR_LOAD_CONCURRENCY.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadViolations, percentile, runLoad } from '../../packages/cli/test/harness/load-run.ts'
import { startProcessMarket } from '../../packages/cli/test/harness/process-market.ts'
import type { BenchSuite } from '../bench-suite.ts'

const mib = (bytes: number) => Math.round(bytes / 2 ** 20)

export const loadSuite: BenchSuite = {
  name: 'load',
  async run({ log }) {
    const providers = Number(process.env.BAZAAR_LOAD_PROVIDERS ?? 10)
    const jobs = Number(process.env.BAZAAR_LOAD_JOBS ?? 1000)
    const concurrency = Number(process.env.BAZAAR_LOAD_CONCURRENCY ?? 6)
    const dir = await mkdtemp(join(tmpdir(), 'bazaar-bench-load-'))
    const t0 = performance.now()
    const market = await startProcessMarket({
      dir,
      providers,
      providerCores: 2,
      fundTokens: '100000',
      requesterConfig: ['requester:', '  maxAnnouncements: 20'],
    })
    const setupMs = performance.now() - t0
    try {
      const run = await runLoad(market, {
        jobs,
        concurrency,
        onJob: (done) => {
          if (done % 100 === 0)
            log.line(`  ${done}/${jobs} jobs ended (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
        },
      })
      const problems = loadViolations(run)
      if (problems.length > 0)
        throw new Error(`load run lost something:\n${problems.slice(0, 20).join('\n')}`)
      const states: Record<string, number> = {}
      for (const v of run.views) states[v.state] = (states[v.state] ?? 0) + 1
      // Every provider counts, also one that won nothing.
      const wins: Record<string, number> = Object.fromEntries(
        market.providerAccounts.map((a) => [a.address, 0]),
      )
      for (const v of run.views) if (v.provider) wins[v.provider] = (wins[v.provider] ?? 0) + 1
      const results = {
        providers,
        jobs,
        concurrency,
        workload: 'wordcount (examples/build/wordcount.wasm) over a 12-word inline input',
        setupSeconds: setupMs / 1000,
        runSeconds: run.elapsedMs / 1000,
        jobsPerSecond: jobs / (run.elapsedMs / 1000),
        latencyMs: {
          p50: percentile(run.latenciesMs, 50),
          p95: percentile(run.latenciesMs, 95),
          max: percentile(run.latenciesMs, 100),
        },
        states,
        jobsPerProvider: { min: Math.min(...Object.values(wins)), max: Math.max(...Object.values(wins)) },
        gasPerJob: Number(run.gas / BigInt(jobs)),
        transactionsPerJob: run.transactions / jobs,
        peakRssMiB: {
          devnet: mib(run.peakRss.devnet),
          requester: mib(run.peakRss.requester),
          providerMax: mib(Math.max(...run.peakRss.providers)),
          providerMin: mib(Math.min(...run.peakRss.providers)),
        },
        invariants:
          'held: every job completed or refunded in full; balances exact; no escrow or collateral left',
      }
      log.table({
        throughput: {
          value: `${results.jobsPerSecond.toFixed(2)} jobs/s`,
          over: `${jobs} jobs, ${results.runSeconds.toFixed(0)} s`,
        },
        latency: {
          value: `p50 ${results.latencyMs.p50.toFixed(0)} ms`,
          over: `p95 ${results.latencyMs.p95.toFixed(0)} ms`,
        },
        gas: {
          value: `${results.gasPerJob.toLocaleString('en-US')} per job`,
          over: `${results.transactionsPerJob.toFixed(2)} tx per job`,
        },
        'peak RSS': {
          value: `providers ${results.peakRssMiB.providerMin}-${results.peakRssMiB.providerMax} MiB`,
          over: `requester ${results.peakRssMiB.requester} MiB, devnet ${results.peakRssMiB.devnet} MiB`,
        },
      })
      log.line(
        `states: ${JSON.stringify(states)}; jobs per provider ${results.jobsPerProvider.min}-${results.jobsPerProvider.max}; setup ${results.setupSeconds.toFixed(0)} s`,
      )
      return results
    } finally {
      await market.stop()
      await rm(dir, { recursive: true, force: true })
    }
  },
}
