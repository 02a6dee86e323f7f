/**
 * End-to-end latency of a small job through the market against running
 * the same module directly in the same sandbox, measured in one run, plus gas per job.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createExecutor } from '@bazaar/executor'
import { demoProviders, examplesBuildDir } from '@bazaar/node/demo/run-demo'
import { startLocalMarket } from '@bazaar/node/local-market'
import { prepareJob } from '@bazaar/node/requester/prepare-job'
import { cidOf, validateJobSpec } from '@bazaar/protocol'
import pino from 'pino'

import type { BenchSuite } from '../bench-suite.ts'
import { summarize } from '../stats.ts'

const here = dirname(fileURLToPath(import.meta.url))

export const marketLatencySuite: BenchSuite = {
  name: 'market-latency',
  async run({ log }) {
    const JOBS = 20
    const module = new Uint8Array(await readFile(resolve(examplesBuildDir, 'wordcount.wasm')))
    const text = await readFile(resolve(here, '../../examples/data/sample.txt'), 'utf8')
    const moduleCid = await cidOf(module)
    const limits = { fuel: 500_000_000n, memoryMb: 64, timeoutMs: 30_000, outputBytes: 1 << 20 }

    // Direct: the same module and input in the same sandbox, no market.
    const executor = createExecutor({ workers: 1 })
    const direct: number[] = []
    const input = { path: 'sample.txt', bytes: new TextEncoder().encode(text) }
    for (let i = 0; i < JOBS; i++) {
      const t0 = performance.now()
      await executor.run({
        module,
        moduleKey: moduleCid,
        args: ['sample.txt'],
        env: { LANG: 'C' },
        inputs: [input],
        limits,
      })
      direct.push(performance.now() - t0)
    }
    await executor.close()

    // Through the market: announce, bid, award, fetch, run, commit, reveal, verify, finalize.
    const market = await startLocalMarket({
      providers: demoProviders,
      logger: pino({ level: 'warn' }, pino.destination(2)),
    })
    const viaMarket: number[] = []
    const gasPerJob: number[] = []
    const phases = { bidding: [] as number[], execution: [] as number[], settlement: [] as number[] }
    try {
      const spec = validateJobSpec({
        version: 1,
        name: 'bench-wordcount',
        runtime: 'wasm',
        module: { cid: moduleCid },
        args: ['sample.txt'],
        env: { LANG: 'C' },
        inputs: [{ name: 'sample.txt', text }],
        limits: { fuel: limits.fuel.toString(), timeoutMs: limits.timeoutMs },
        price: { maxPerFuel: '5000000000' },
        deadlines: { biddingMs: 200, executionSeconds: 60 },
      })
      const prepared = await prepareJob(spec, { baseDir: here, known: new Map([[moduleCid, module]]) })
      for (let i = 0; i < JOBS; i++) {
        const gasBefore = [market.requester, ...market.providers].reduce((s, n) => s + n.chain.gasSpent, 0n)
        const marks: Record<string, number> = {}
        const t0 = performance.now()
        const outcome = await market.requester.requester!.run(prepared, {
          onEvent: (event) => {
            marks[event.type] ??= performance.now()
          },
        })
        const t1 = performance.now()
        if (outcome.status !== 'completed')
          throw new Error(`bench job ${outcome.jobId} ended ${outcome.status}`)
        viaMarket.push(t1 - t0)
        const gasAfter = [market.requester, ...market.providers].reduce((s, n) => s + n.chain.gasSpent, 0n)
        gasPerJob.push(Number(gasAfter - gasBefore))
        phases.bidding.push((marks.awarded ?? t1) - t0)
        phases.execution.push((marks.revealed ?? t1) - (marks.awarded ?? t0))
        phases.settlement.push(t1 - (marks.revealed ?? t1))
      }
    } finally {
      await market.stop()
    }

    const d = summarize(direct)
    const m = summarize(viaMarket)
    const g = summarize(gasPerJob)
    const results = {
      jobs: JOBS,
      workload: 'wordcount over examples/data/sample.txt',
      directMs: d,
      marketMs: m,
      ratioP50: m.p50 / d.p50,
      phasesP50Ms: {
        bidding: summarize(phases.bidding).p50,
        execution: summarize(phases.execution).p50,
        settlement: summarize(phases.settlement).p50,
      },
      gasPerJob: g,
    }
    log.table({
      'direct (same sandbox)': { p50_ms: d.p50.toFixed(1), p95_ms: d.p95.toFixed(1), n: d.n },
      'through the market': { p50_ms: m.p50.toFixed(1), p95_ms: m.p95.toFixed(1), n: m.n },
    })
    log.line(`market / direct at p50: ${results.ratioP50.toFixed(1)}x`)
    log.line(
      `market p50 by phase: bidding ${results.phasesP50Ms.bidding.toFixed(0)} ms, execution ${results.phasesP50Ms.execution.toFixed(0)} ms, settlement ${results.phasesP50Ms.settlement.toFixed(0)} ms`,
    )
    log.line(
      `gas per job lifecycle (approve+create+award+commit+reveal+finalize): p50 ${g.p50.toLocaleString('en-US')}`,
    )
    return results
  },
}
