/**
 * `npm run bench`: runs every suite in one process, prints its table, and writes all figures
 * to bench/results/latest.json. Timings are what this machine did in this run; compare ratios
 * measured in one run, not absolute numbers across runs. `npm run bench -- NAME...` runs some.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchSuite } from './bench-suite.ts'
import { executionSuite } from './suites/execution.ts'
import { gossipSuite } from './suites/gossip.ts'
import { loadSuite } from './suites/load.ts'
import { marketEngineSuite } from './suites/market-engine.ts'
import { marketLatencySuite } from './suites/market-latency.ts'
import { verificationSimSuite } from './suites/verification-sim.ts'

const suites: BenchSuite[] = [
  marketLatencySuite,
  marketEngineSuite,
  executionSuite,
  gossipSuite,
  verificationSimSuite,
  loadSuite,
]

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !suites.some((s) => s.name === name))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${suites.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const results: Record<string, object> = {}
for (const suite of suites) {
  if (wanted.length > 0 && !wanted.includes(suite.name)) continue
  console.log(`\n== ${suite.name}`)
  results[suite.name] = await suite.run({
    log: { table: (rows) => console.table(rows), line: (text) => console.log(text) },
  })
}
const out = resolve(dirname(fileURLToPath(import.meta.url)), 'results/latest.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
)
console.log(`\nwritten ${out}`)
