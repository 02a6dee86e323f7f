import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { BaseError, parseJobSpec } from '@bazaar/protocol'
import { createExecutor, type RunResult, type WasmJob } from './executor.ts'
import { mutateBytes, mutateText, Rng, randomJob, randomProgram, randomSections } from './fuzz-generators.ts'
import { exampleModule, job, TILE_ARGS, wat } from './test-fixtures.ts'

/**
 * Feeds RUNS random or mutated modules and job specs to `executor.run` on a 2-worker pool.
 * Every call must end in a RunResult or one of the typed job errors; a SandboxError (the
 * executor's own fault), any other error, or a crash fails the test. The seed is printed;
 * FUZZ_SEED=<n> replays a run, FUZZ_RUNS=<n> changes its length.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const SEED = Number(process.env.FUZZ_SEED ?? 20261125)
const IN_FLIGHT = 16
const JOB_ERRORS = new Set([
  'OutOfFuelError',
  'MemoryLimitError',
  'TimeoutError',
  'OutputTooLargeError',
  'TrapError',
  'InvalidModuleError',
  'InvalidJobError',
])

/** Debugging a crash: each case is written to DIR before it runs. */
function trace(dir: string, index: number, kind: string, job: WasmJob): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}/${index}.wasm`, job.module)
  const fields = { kind, ...job, module: undefined, limits: { ...job.limits, fuel: String(job.limits.fuel) } }
  writeFileSync(
    `${dir}/${index}.json`,
    JSON.stringify(fields, (_k, v) => (v instanceof Uint8Array ? [...v] : v)),
  )
}

const specUrl = (name: string) => new URL(`../../../examples/specs/${name}`, import.meta.url)

test(`fuzz: ${RUNS} random and mutated modules and specs through executor.run`, async (t) => {
  const rng = new Rng(SEED)
  t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED})`)
  const examples = {
    mandelbrot: await exampleModule('mandelbrot'),
    wordcount: await exampleModule('wordcount'),
    spin: await exampleModule('spin'),
  }
  const small = wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 16) "hello")
    (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 5))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
  const seeds = [examples.mandelbrot, examples.wordcount, examples.spin, small]
  const specs = ['mandelbrot-tile.yaml', 'wordcount.yaml'].map((name) => ({
    name,
    text: readFileSync(specUrl(name), 'utf8'),
  }))

  const executor = createExecutor({ workers: 2 })
  const counts = new Map<string, number>()
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
  const failures: string[] = []
  let runs = 0
  let specRejected = 0
  const started = performance.now()

  /** The next case: a job for executor.run, or undefined when a mutated spec did not parse. */
  const nextCase = (): { kind: string; job: WasmJob } | undefined => {
    const roll = rng.next()
    if (roll < 0.3) {
      const source = rng.pick(seeds)
      return { kind: 'mutated module', job: randomJob(rng, mutateBytes(rng, source)) }
    }
    if (roll < 0.4) return { kind: 'random sections', job: randomJob(rng, randomSections(rng)) }
    if (roll < 0.8) {
      let module: Uint8Array
      try {
        module = wat(randomProgram(rng))
      } catch (err) {
        throw new Error(`the generator wrote an invalid program: ${(err as Error).message}`)
      }
      return roll < 0.7
        ? { kind: 'random program', job: randomJob(rng, module) }
        : { kind: 'mutated program', job: randomJob(rng, mutateBytes(rng, module)) }
    }
    if (roll < 0.85) {
      // The real examples with random arguments and limits (cached by key: instrumented once).
      const name = rng.pick(['mandelbrot', 'wordcount'] as const)
      return { kind: 'example, random job', job: randomJob(rng, examples[name], name) }
    }
    const spec = rng.pick(specs)
    try {
      const parsed = parseJobSpec(mutateText(rng, spec.text), fileURLToPath(specUrl(spec.name)))
      // A mutation that yields a valid container spec is not a wasm job: count it as refused.
      if (parsed.runtime !== 'wasm') {
        specRejected++
        return undefined
      }
      const name = spec.name.startsWith('mandelbrot') ? 'mandelbrot' : 'wordcount'
      return {
        kind: 'mutated spec',
        job: {
          module: examples[name],
          moduleKey: name,
          args: parsed.args,
          env: parsed.env,
          inputs: parsed.inputs.map((input) => ({
            path: input.name,
            bytes: new TextEncoder().encode(input.text ?? input.path ?? input.cid ?? ''),
          })),
          limits: { ...parsed.limits, memoryMb: parsed.resources.memoryMb },
          seed: 'spec',
        },
      }
    } catch (err) {
      // The parser's own errors are typed too; anything else is a bug worth seeing.
      assert.ok(err instanceof BaseError, `parseJobSpec threw ${String(err)}`)
      specRejected++
      return undefined
    }
  }

  const check = (kind: string, outcome: RunResult | Error) => {
    if (!(outcome instanceof Error)) {
      const ok =
        outcome.stdout instanceof Uint8Array &&
        outcome.stderr instanceof Uint8Array &&
        Number.isInteger(outcome.exitCode) &&
        typeof outcome.fuelUsed === 'bigint'
      if (!ok) failures.push(`${kind}: malformed result`)
      count('result')
      return
    }
    if (!JOB_ERRORS.has(outcome.name)) {
      failures.push(`${kind}: ${outcome.name}: ${outcome.message}`)
      return
    }
    assert.ok(outcome instanceof BaseError && outcome.hint, `${outcome.name} without a hint`)
    count(outcome.name)
  }

  const worker = async () => {
    while (runs < RUNS) {
      const next = nextCase()
      if (!next) continue
      runs++
      if (process.env.FUZZ_TRACE) trace(process.env.FUZZ_TRACE, runs, next.kind, next.job)
      check(next.kind, await executor.run(next.job).catch((err: Error) => err))
    }
  }
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    // Still healthy: a known job gives its known answer.
    const after = await executor.run(job(examples.mandelbrot, { args: TILE_ARGS }))
    assert.equal(createHash('sha256').update(after.stdout).digest('hex').length, 64)
    assert.equal(after.stdout.length, 64 * 64)
  } finally {
    await executor.close()
  }
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(
    `${runs} executor.run calls in ${seconds.toFixed(1)} s (${specRejected} mutated specs refused by the parser): ${JSON.stringify(Object.fromEntries(counts))}`,
  )
  assert.equal(runs, RUNS)
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} untyped outcomes`)
  // The generators reach every layer: the validator, the profile, the limits and real runs.
  for (const outcome of ['result', 'InvalidModuleError', 'InvalidJobError', 'TrapError', 'OutOfFuelError']) {
    assert.ok((counts.get(outcome) ?? 0) > 0, `no case ended in ${outcome}`)
  }
})
