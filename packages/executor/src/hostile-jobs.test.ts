import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { createExecutor, type Executor } from './executor.ts'
import {
  DEFAULT_LIMITS,
  exampleModule,
  job,
  SAMPLE_TEXT,
  TILE_ARGS,
  wat,
  watProgram,
} from './test-fixtures.ts'
import { WASI_SIGNATURES, wasiImport } from './wasi-signatures.ts'

/** Jobs written to hurt the node: each must end in a typed error and leave the pool working. */

const TYPED = new Set([
  'OutOfFuelError',
  'MemoryLimitError',
  'TimeoutError',
  'OutputTooLargeError',
  'TrapError',
  'InvalidModuleError',
  'InvalidJobError',
])

describe('hostile jobs', () => {
  let executor: Executor
  let mandelbrot: Uint8Array
  let reference: Uint8Array
  before(async () => {
    executor = createExecutor({ workers: 2 })
    mandelbrot = await exampleModule('mandelbrot')
    reference = (await executor.run(job(mandelbrot, { args: TILE_ARGS }))).stdout
  })
  after(() => executor.close())

  test('many hostile jobs at once: typed errors, and an honest job beside them is unaffected', async () => {
    const hostile: [string, Uint8Array, Partial<typeof DEFAULT_LIMITS>, string][] = [
      [
        'infinite recursion',
        wat(`(module (memory (export "memory") 1)
          (func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))
          (func (export "_start") (call $down (i32.const 0))))`),
        {},
        'TrapError',
      ],
      [
        'recursion with huge frames',
        wat(`(module (memory (export "memory") 1)
          (func $down (param i32) (local ${'f64 '.repeat(4000)}) (call $down (local.get 0)))
          (func (export "_start") (call $down (i32.const 0))))`),
        {},
        'TrapError',
      ],
      [
        'a 4 GiB allocation',
        watProgram('(if (i32.eq (memory.grow (i32.const 65535)) (i32.const -1)) (then (unreachable)))', null),
        { memoryMb: 64 },
        'MemoryLimitError',
      ],
      [
        'allocating until refused',
        watProgram(
          `(loop $l
             (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (unreachable)))
             (memory.fill (i32.mul (i32.sub (memory.size) (i32.const 16)) (i32.const 65536)) (i32.const 1) (i32.const 1048576))
             (br $l))`,
          null,
        ),
        { memoryMb: 256 },
        'MemoryLimitError',
      ],
      [
        'a trap in the start function',
        wat(
          `(module (memory (export "memory") 1) (func $boom (unreachable)) (start $boom) (func (export "_start")))`,
        ),
        {},
        'TrapError',
      ],
      [
        'an endless start function',
        wat(
          `(module (memory (export "memory") 1) (func $spin (loop $l (br $l))) (start $spin) (func (export "_start")))`,
        ),
        { fuel: 1_000_000n },
        'OutOfFuelError',
      ],
      [
        'endless output',
        watProgram('(loop $l (br $l))', null),
        { timeoutMs: 300, fuel: 2n ** 62n },
        'TimeoutError',
      ],
      [
        'an output flood',
        watProgram(
          `(loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))`,
          null,
          '(data (i32.const 0) "\\00\\10\\00\\00\\00\\80\\00\\00")',
        ),
        { outputBytes: 1 << 20 },
        'OutputTooLargeError',
      ],
    ]
    const honest = Array.from({ length: 4 }, () =>
      executor.run(job(mandelbrot, { moduleKey: 'm', args: TILE_ARGS })),
    )
    const outcomes = await Promise.all(
      hostile.map(([label, module, limits, expected]) =>
        executor.run(job(module, { limits: { ...DEFAULT_LIMITS, ...limits } })).then(
          () => assert.fail(`${label}: expected ${expected}`),
          (err) => [label, err, expected] as const,
        ),
      ),
    )
    for (const [label, err, expected] of outcomes) {
      assert.equal(err.name, expected, `${label}: ${err.message}`)
      assert.ok(err.hint, label)
    }
    for (const result of await Promise.all(honest)) assert.deepEqual(result.stdout, reference)
  })

  test('a start function runs metered before _start, with WASI available', async () => {
    const module = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "start;main")
      (func $init
        (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 6))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      (start $init)
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 70)) (i32.store (i32.const 4) (i32.const 4))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
    const result = await executor.run(job(module))
    assert.equal(new TextDecoder().decode(result.stdout), 'start;main')
    assert.ok(result.fuelUsed > 20n, 'both functions are metered')
  })

  test('every WASI function called with hostile arguments returns an errno or a typed error', async () => {
    const hostileArgs = [0, 1, 2, 3, 7, -1, -16, 0x7fffffff, 65530]
    const names = Object.keys(WASI_SIGNATURES).filter((name) => name !== 'proc_exit')
    for (const value of hostileArgs) {
      const calls = names
        .map((name) => {
          const args = (WASI_SIGNATURES[name] ?? []).map((type, i) =>
            // the first argument is usually a descriptor: try the stdio ones and the preopen too
            i === 0 ? `(${type}.const ${[0, 1, 2, 3][value & 3]})` : `(${type}.const ${value})`,
          )
          return `(drop (call $${name} ${args.join(' ')}))`
        })
        .join('\n')
      // Memory full of 'a': a path argument has no NUL after it (node:wasi used to read on
      // past the end of memory and crash the process).
      const module = wat(`(module ${names.map(wasiImport).join('\n')}
        (memory (export "memory") 1) (func (export "_start")
          (memory.fill (i32.const 0) (i32.const 97) (i32.const 65536)) ${calls}))`)
      const outcome = await executor
        .run(job(module, { inputs: [{ path: 'a.txt', bytes: SAMPLE_TEXT }] }))
        .then(
          (result) => `exit ${result.exitCode}`,
          (err) => err.name,
        )
      assert.ok(outcome.startsWith('exit') || TYPED.has(outcome), `argument ${value}: ${outcome}`)
    }
    // The shared stdio descriptors survived (closing, renumbering or re-flagging 0-2 is refused).
    assert.deepEqual(
      (await executor.run(job(mandelbrot, { moduleKey: 'm', args: TILE_ARGS }))).stdout,
      reference,
    )
  })

  test('descriptors of finished and killed jobs are closed', async () => {
    const spin = await exampleModule('spin')
    const wordcount = await exampleModule('wordcount')
    const open = () => readdirSync('/proc/self/fd').length
    const before = open()
    for (let i = 0; i < 10; i++) {
      await executor.run(job(wordcount, { moduleKey: 'w', inputs: [{ path: 'a.txt', bytes: SAMPLE_TEXT }] }))
      await executor
        .run(job(spin, { moduleKey: 's', limits: { ...DEFAULT_LIMITS, fuel: 2n ** 62n, timeoutMs: 50 } }))
        .catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, 300)) // killed workers finish stopping
    assert.ok(open() <= before + 4, `descriptors: ${before} before, ${open()} after 20 jobs`)
  })
})
