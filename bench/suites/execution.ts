/**
 * The WASI sandbox: what metering costs, how long a sandbox takes to start, and how many
 * jobs per second the pool runs.
 *
 * Metering overhead: each workload runs as published (unmetered), with fuel metering only,
 * and with the full rewrite the executor uses (fuel + NaN canonicalization + memory cap),
 * in this process on the same node:wasi, variants interleaved, after warm-up (V8 tiers hot
 * code up to TurboFan; compiled code is shared by every instance of a module). The figure
 * is the median of per-round ratios metered / unmetered.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WASI } from 'node:wasi'
import { createExecutor, type WasmJob } from '@bazaar/executor'
import { instrumentModule } from '@bazaar/executor/meter'
import { TILE_ARGS } from '@bazaar/executor/test-fixtures'
import type { BenchSuite } from '../bench-suite.ts'
import { summarize } from '../stats.ts'

const here = dirname(fileURLToPath(import.meta.url))
const buildDir = resolve(here, '../../examples/build')
const sampleText = readFileSync(resolve(here, '../../examples/data/sample.txt'))

interface Workload {
  name: string
  module: Uint8Array
  args: string[]
  inputs: { path: string; bytes: Uint8Array }[]
}

const median = (values: number[]) => summarize(values).p50
/** Rounds run and thrown away first, so V8 has tiered the hot code up. */
const WARMUP = 5
const round = (value: number, digits = 3) => Number(value.toFixed(digits))

/** Runs `_start` of a compiled module once on a fresh instance; returns milliseconds. */
function timeOnce(
  compiled: WebAssembly.Module,
  workload: Workload,
  inputDir: string,
  devNull: number,
): number {
  const wasi = new WASI({
    version: 'preview1',
    args: ['main.wasm', ...workload.args],
    env: { LANG: 'C' },
    preopens: { '/input': inputDir },
    stdin: devNull,
    stdout: devNull,
    stderr: devNull,
    returnOnExit: true,
  })
  const instance = new WebAssembly.Instance(compiled, {
    wasi_snapshot_preview1: wasi.wasiImport,
    bazaar: { fuel_limit: new WebAssembly.Global({ value: 'i64', mutable: false }, 2n ** 62n) },
  } as WebAssembly.Imports)
  const started = performance.now()
  const exit = wasi.start(instance)
  const elapsed = performance.now() - started
  if (exit !== 0) throw new Error(`${workload.name} exited with ${exit}`)
  return elapsed
}

async function meteringOverhead(workloads: Workload[], rounds: number) {
  const devNull = openSync('/dev/null', 'w')
  const rows: Record<string, unknown>[] = []
  try {
    for (const workload of workloads) {
      const dir = mkdtempSync(join(tmpdir(), 'bazaar-bench-'))
      mkdirSync(join(dir, 'input'))
      for (const input of workload.inputs) writeFileSync(join(dir, 'input', input.path), input.bytes)
      const pages = 1024 // 64 MiB cap
      const variants = {
        unmetered: new WebAssembly.Module(workload.module as Uint8Array<ArrayBuffer>),
        fuel: new WebAssembly.Module(
          instrumentModule(workload.module, {
            memoryMaxPages: pages,
            canonicalizeNaNs: false,
          }) as Uint8Array<ArrayBuffer>,
        ),
        full: new WebAssembly.Module(
          instrumentModule(workload.module, { memoryMaxPages: pages }) as Uint8Array<ArrayBuffer>,
        ),
      }
      const names = Object.keys(variants) as (keyof typeof variants)[]
      const times: Record<string, number[]> = { unmetered: [], fuel: [], full: [] }
      for (let r = -WARMUP; r < rounds; r++) {
        // Rotate the order each round so no variant always runs first (or after a GC).
        for (let k = 0; k < names.length; k++) {
          const name = names[(r + WARMUP + k) % names.length] as keyof typeof variants
          const ms = timeOnce(variants[name], workload, join(dir, 'input'), devNull)
          if (r >= 0) times[name]?.push(ms)
        }
      }
      rmSync(dir, { recursive: true, force: true })
      const ratio = (variant: string) =>
        median((times[variant] as number[]).map((ms, i) => ms / (times.unmetered?.[i] as number)))
      rows.push({
        workload: workload.name,
        unmeteredMs: round(median(times.unmetered as number[]), 1),
        fuelOnlyMs: round(median(times.fuel as number[]), 1),
        fullMs: round(median(times.full as number[]), 1),
        fuelOnlyRatio: round(ratio('fuel')),
        fullRatio: round(ratio('full')),
      })
    }
  } finally {
    closeSync(devNull)
  }
  return rows
}

async function startup(nop: Uint8Array) {
  const job = (overrides: Partial<WasmJob> = {}): WasmJob => ({
    module: nop,
    args: [],
    env: {},
    inputs: [],
    limits: { fuel: 1_000_000n, memoryMb: 16, timeoutMs: 10_000, outputBytes: 1024 },
    ...overrides,
  })
  // Cold: a new pool, a module never seen: worker start + binaryen load + instrument + run.
  const cold: number[] = []
  for (let i = 0; i < 5; i++) {
    const executor = createExecutor({ workers: 1 })
    const t0 = performance.now()
    await executor.run(job())
    cold.push(performance.now() - t0)
    await executor.close()
  }
  // A fresh worker, module already instrumented and cached: a timed-out job makes the pool
  // replace its worker, and the next job pays only the worker start.
  const executor = createExecutor({ workers: 1 })
  const spinner = new Uint8Array(readFileSync(join(buildDir, 'spin.wasm')))
  await executor.run(job({ moduleKey: 'nop' }))
  await executor
    .run(job({ module: spinner, moduleKey: 'spin', limits: { ...job().limits, fuel: 1000n } }))
    .catch(() => {})
  const freshWorker: number[] = []
  for (let i = 0; i < 5; i++) {
    await executor
      .run(
        job({
          module: spinner,
          moduleKey: 'spin',
          limits: { ...job().limits, fuel: 2n ** 62n, timeoutMs: 20 },
        }),
      )
      .catch(() => {})
    const t0 = performance.now()
    await executor.run(job({ moduleKey: 'nop' }))
    freshWorker.push(performance.now() - t0)
  }
  // Warm: pooled worker, cached module.
  const warm: number[] = []
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now()
    await executor.run(job({ moduleKey: 'nop' }))
    warm.push(performance.now() - t0)
  }
  await executor.close()
  const row = (name: string, samples: number[]) => ({
    case: name,
    p50Ms: round(summarize(samples).p50, 2),
    p95Ms: round(summarize(samples).p95, 2),
    n: samples.length,
  })
  return [
    row('cold: new pool, new module (spawn + binaryen + instrument)', cold),
    row('fresh worker, cached module (spawn only)', freshWorker),
    row('warm: pooled worker, cached module', warm),
  ]
}

async function throughput(jobs: { name: string; job: WasmJob; count: number }[]) {
  const rows: Record<string, unknown>[] = []
  for (const workers of [1, 2]) {
    for (const { name, job, count } of jobs) {
      const executor = createExecutor({ workers })
      // Warm every worker and the cache first: the figure is the steady state.
      await Promise.all(Array.from({ length: workers * 20 }, () => executor.run(job)))
      const t0 = performance.now()
      await Promise.all(Array.from({ length: count }, () => executor.run(job)))
      const seconds = (performance.now() - t0) / 1000
      await executor.close()
      rows.push({
        workers,
        job: name,
        jobs: count,
        seconds: round(seconds, 2),
        jobsPerSecond: round(count / seconds, 1),
      })
    }
  }
  return rows
}

export const executionSuite: BenchSuite = {
  name: 'execution',
  async run({ log }) {
    const load = (name: string) => new Uint8Array(readFileSync(join(buildDir, `${name}.wasm`)))
    const bigText = Buffer.concat(
      Array.from({ length: Math.ceil((1.4 * 2 ** 20) / sampleText.length) }, () => sampleText),
    )
    const workloads: Workload[] = [
      {
        name: 'mandelbrot 512x512, 256 iterations (f64)',
        module: load('mandelbrot'),
        args: [
          '--width',
          '512',
          '--height',
          '512',
          '--tile-width',
          '512',
          '--tile-height',
          '512',
          '--max-iter',
          '256',
        ],
        inputs: [],
      },
      {
        name: `wordcount ${(bigText.length / 2 ** 20).toFixed(1)} MiB (strings, maps, GC)`,
        module: load('wordcount'),
        args: ['text.txt'],
        inputs: [{ path: 'text.txt', bytes: bigText }],
      },
      { name: 'sha256 4 MiB (i32 bit ops)', module: load('sha256'), args: ['4096'], inputs: [] },
    ]
    log.line(
      'metering overhead (ratio = metered / unmetered time of _start, median of 15 rounds after 5 warm-up rounds)',
    )
    const overhead = await meteringOverhead(workloads, 15)
    log.table(Object.fromEntries(overhead.map((row) => [row.workload, row])))

    // (module (memory (export "memory") 1) (func (export "_start")))
    const nopModule = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01,
      0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x13, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02,
      0x00, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
    ])
    log.line('sandbox start-up (time of executor.run for a no-op module)')
    const start = await startup(nopModule)
    log.table(Object.fromEntries(start.map((row) => [row.case, row])))

    const tile = {
      module: load('mandelbrot'),
      moduleKey: 'mandelbrot',
      // Same tile as the executor tests and examples/specs/mandelbrot-tile.yaml.
      args: TILE_ARGS,
      env: {},
      inputs: [],
      limits: { fuel: 50_000_000n, memoryMb: 16, timeoutMs: 10_000, outputBytes: 4096 },
    }
    const nopJob = { ...tile, module: nopModule, moduleKey: 'nop', args: [] }
    const wordcountJob = {
      ...tile,
      module: load('wordcount'),
      moduleKey: 'wordcount',
      args: ['sample.txt'],
      inputs: [{ path: 'sample.txt', bytes: new Uint8Array(sampleText) }],
      limits: { ...tile.limits, outputBytes: 65536 },
    }
    log.line('throughput (all jobs submitted at once; steady state after warm-up)')
    const rate = await throughput([
      { name: 'no-op', job: nopJob, count: 1000 },
      { name: 'wordcount sample.txt (~1.45 M fuel)', job: wordcountJob, count: 400 },
      { name: 'mandelbrot 64x64 tile (~2.4 M fuel)', job: tile, count: 400 },
    ])
    log.table(Object.fromEntries(rate.map((row) => [`${row.workers} worker(s): ${row.job}`, row])))
    return { meteringOverhead: overhead, startup: start, throughput: rate }
  },
}
