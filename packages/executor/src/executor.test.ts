import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createExecutor, type Executor } from './executor.ts'
import { VIRTUAL_EPOCH_NS } from './sandbox-profile.ts'
import {
  DEFAULT_LIMITS,
  exampleModule,
  job,
  referenceWordcount,
  SAMPLE_TEXT,
  TILE_ARGS,
  WASI_IMPORTS,
  wat,
  watProgram,
} from './test-fixtures.ts'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('executor', () => {
  let executor: Executor
  let mandelbrot: Uint8Array
  let wordcount: Uint8Array
  let spin: Uint8Array

  before(async () => {
    mandelbrot = await exampleModule('mandelbrot')
    wordcount = await exampleModule('wordcount')
    spin = await exampleModule('spin')
    executor = createExecutor({ workers: 2 })
  })
  after(() => executor.close())

  test('the same mandelbrot tile on 5 different workers gives identical bytes and fuel', async () => {
    // Five workers, five jobs at once: each job gets its own worker, and each worker
    // instruments the module itself (no moduleKey), so the rewrite is checked too.
    const pool = createExecutor({ workers: 5 })
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => pool.run(job(mandelbrot, { args: TILE_ARGS }))),
      )
      const [first, ...rest] = results
      assert.ok(first)
      assert.equal(first.exitCode, 0)
      assert.equal(first.stdout.length, 64 * 64)
      assert.ok(first.fuelUsed > 0n)
      assert.ok(new Set(first.stdout).size > 10, 'the tile has a range of grays')
      for (const result of rest) {
        assert.deepEqual(result.stdout, first.stdout)
        assert.equal(result.fuelUsed, first.fuelUsed)
      }
    } finally {
      await pool.close()
    }
  })

  test('wordcount counts words in a known text', async () => {
    const extra = 'Hello hello\tWORLD\nthe end'
    const result = await executor.run(
      job(wordcount, {
        moduleKey: 'wordcount',
        inputs: [
          { path: 'sample.txt', bytes: SAMPLE_TEXT },
          { path: 'extra.txt', bytes: new TextEncoder().encode(extra) },
        ],
      }),
    )
    assert.equal(result.exitCode, 0)
    assert.equal(text(result.stdout), referenceWordcount([text(SAMPLE_TEXT), extra]))

    const single = await executor.run(
      job(wordcount, {
        moduleKey: 'wordcount',
        args: ['/input/sample.txt'],
        inputs: [{ path: 'sample.txt', bytes: SAMPLE_TEXT }],
      }),
    )
    assert.equal(text(single.stdout), referenceWordcount([text(SAMPLE_TEXT)]))
    assert.match(text(single.stdout), /^\{"words":135,"unique":85,"top":\[\["the",21\],\["and",8\]/)
  })

  test('running out of fuel bills the whole limit', async () => {
    const err = await executor
      .run(job(spin, { limits: { ...DEFAULT_LIMITS, fuel: 1_000_000n } }))
      .catch((e) => e)
    assert.equal(err.name, 'OutOfFuelError')
    assert.equal(err.code, 'E_OUT_OF_FUEL')
    assert.equal(err.fuelUsed, 1_000_000n)
    assert.equal(err.details.fuelUsed, '1000000')
    assert.ok(err.hint)
  })

  test('a job past its wall-clock limit is stopped, and the pool keeps working', async () => {
    const err = await executor
      .run(job(spin, { limits: { ...DEFAULT_LIMITS, fuel: 2n ** 62n, timeoutMs: 300 } }))
      .catch((e) => e)
    assert.equal(err.name, 'TimeoutError')
    assert.equal(err.code, 'E_TIMEOUT')
    const after = await executor.run(job(mandelbrot, { args: TILE_ARGS }))
    assert.equal(after.stdout.length, 64 * 64)
  })

  test('an abort signal stops a running job', async () => {
    const controller = new AbortController()
    const running = executor.run(job(spin, { limits: { ...DEFAULT_LIMITS, fuel: 2n ** 62n } }), {
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 200)
    const err = await running.catch((e) => e)
    assert.equal(err.name, 'AbortedError')
  })

  test('growing memory past the cap is a MemoryLimitError', async () => {
    const grower = watProgram(
      `(loop $l
         (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (unreachable)))
         (br $l))`,
      null,
    )
    const err = await executor
      .run(job(grower, { limits: { ...DEFAULT_LIMITS, memoryMb: 2 } }))
      .catch((e) => e)
    assert.equal(err.name, 'MemoryLimitError')
    assert.equal(err.code, 'E_MEMORY_LIMIT')

    const small = watProgram('', null) // 1 page, under a 1 MiB (16 page) cap
    assert.equal((await executor.run(job(small, { limits: { ...DEFAULT_LIMITS, memoryMb: 1 } }))).exitCode, 0)
  })

  test('an initial memory above the cap is a MemoryLimitError', async () => {
    const huge = wat(`(module (memory (export "memory") 100) (func (export "_start")))`)
    const err = await executor.run(job(huge, { limits: { ...DEFAULT_LIMITS, memoryMb: 1 } })).catch((e) => e)
    assert.equal(err.name, 'MemoryLimitError')
  })

  test('stdout beyond outputBytes is OutputTooLargeError', async () => {
    const err = await executor
      .run(job(mandelbrot, { args: TILE_ARGS, limits: { ...DEFAULT_LIMITS, outputBytes: 1000 } }))
      .catch((e) => e)
    assert.equal(err.name, 'OutputTooLargeError')
    assert.equal(err.code, 'E_OUTPUT_TOO_LARGE')
    assert.ok(typeof err.fuelUsed === 'bigint' && err.fuelUsed > 0n)
  })

  test('bytes that are not WebAssembly are InvalidModuleError', async () => {
    const err = await executor.run(job(new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]))).catch((e) => e)
    assert.equal(err.name, 'InvalidModuleError')
    assert.equal(err.code, 'E_INVALID_MODULE')
    assert.ok(err.hint)
  })

  test('a trap is a TrapError; a non-zero exit code is a result', async () => {
    const trap = watProgram('(drop (i32.div_u (i32.const 1) (local.get $i)))', null)
    const err = await executor.run(job(trap)).catch((e) => e)
    assert.equal(err.name, 'TrapError')
    assert.match(err.message, /divide by zero/)

    const exit3 = watProgram('(call $proc_exit (i32.const 3))', null)
    const result = await executor.run(job(exit3))
    assert.equal(result.exitCode, 3)
  })

  test('unbounded recursion is a TrapError, not a crash', async () => {
    const recurse = wat(`(module (memory (export "memory") 1)
      (func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))
      (func (export "_start") (call $down (i32.const 0))))`)
    const err = await executor.run(job(recurse)).catch((e) => e)
    assert.equal(err.name, 'TrapError')
    assert.match(err.message, /call stack/)
  })

  test('paths outside /input cannot be opened', async () => {
    for (const path of ['../../../etc/passwd', '/etc/passwd', '..']) {
      const result = await executor.run(
        job(wordcount, {
          moduleKey: 'wordcount',
          args: [path],
          inputs: [{ path: 'a.txt', bytes: SAMPLE_TEXT }],
        }),
      )
      assert.equal(result.exitCode, 1, path)
      assert.equal(result.stdout.length, 0)
      assert.match(text(result.stderr), /WASI errno 76/) // ENOTCAPABLE
    }
  })

  test('/input is read-only and lists only the inputs, sorted', async () => {
    // errno of: create new.txt, unlink b.txt, write to an opened input; then the listing.
    const probe = wat(`(module
      ${WASI_IMPORTS}
      (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 300) "new.txt")
      (data (i32.const 310) "b.txt")
      (func (export "_start")
        (i32.store8 (i32.const 100) (call $open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 7)
          (i32.const 1) (i64.const 0x7f) (i64.const 0) (i32.const 0) (i32.const 200)))
        (i32.store8 (i32.const 101) (call $unlink (i32.const 3) (i32.const 310) (i32.const 5)))
        (drop (call $open (i32.const 3) (i32.const 0) (i32.const 310) (i32.const 5)
          (i32.const 0) (i64.const 0x7f) (i64.const 0) (i32.const 0) (i32.const 200)))
        (i32.store (i32.const 0) (i32.const 300)) (i32.store (i32.const 4) (i32.const 1))
        (i32.store8 (i32.const 102) (call $fd_write (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 8)))
        (drop (call $readdir (i32.const 3) (i32.const 1024) (i32.const 1000) (i64.const 0) (i32.const 104)))
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1000))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
    const result = await executor.run(
      job(probe, {
        inputs: [
          { path: 'b.txt', bytes: new Uint8Array([1]) },
          { path: 'a.txt', bytes: new Uint8Array([2]) },
        ],
      }),
    )
    const out = result.stdout
    assert.equal(out[0], 69, 'creating a file: EROFS')
    assert.equal(out[1], 69, 'unlinking: EROFS')
    assert.equal(out[2], 76, 'writing to an input: ENOTCAPABLE')
    const used = new DataView(out.buffer, out.byteOffset).getUint32(4, true)
    const listing = Buffer.from(out.subarray(924, 924 + used))
    const names: string[] = []
    for (let pos = 0; pos + 24 <= listing.length; ) {
      const len = listing.readUInt32LE(pos + 16)
      assert.equal(listing.readBigUInt64LE(pos + 8), 0n, 'inode numbers are hidden')
      names.push(listing.subarray(pos + 24, pos + 24 + len).toString())
      pos += 24 + len
    }
    assert.deepEqual(names, ['a.txt', 'b.txt'])
  })

  test('the module sees exactly the given environment, not the host one', async () => {
    process.env.BAZAAR_TEST_SECRET = 'do-not-leak'
    const program = wat(`(module
      ${WASI_IMPORTS}
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $sizes (i32.const 200) (i32.const 204)))
        (drop (call $get (i32.const 208) (i32.const 1024)))
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.load (i32.const 204)))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
    const result = await executor.run(job(program, { env: { FOO: 'bar', EMPTY: '' } }))
    assert.equal(text(result.stdout), 'FOO=bar\0EMPTY=\0')
    delete process.env.BAZAAR_TEST_SECRET
  })

  test('clocks and random bytes are virtual and deterministic', async () => {
    const probe = watProgram(
      `(drop (call $clock (i32.const 0) (i64.const 1) (i32.const 100)))
       (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 108)))
       (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 116)))
       (drop (call $random (i32.const 124) (i32.const 32)))`,
      { from: 100, len: 56 },
      `(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
       (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))`,
    )
    const runs = [
      await executor.run(job(probe, { seed: 'job-1' })),
      await executor.run(job(probe, { seed: 'job-1' })),
      await executor.run(job(probe, { seed: 'job-2' })),
    ]
    const [a, b, c] = runs.map((run) => Buffer.from(run.stdout)) as [Buffer, Buffer, Buffer]
    assert.deepEqual(a, b)
    const realtime = a.readBigUInt64LE(0)
    const mono1 = a.readBigUInt64LE(8)
    const mono2 = a.readBigUInt64LE(16)
    assert.ok(realtime > VIRTUAL_EPOCH_NS && realtime < VIRTUAL_EPOCH_NS + 1_000_000n)
    assert.ok(mono2 > mono1)
    assert.deepEqual(c.subarray(0, 24), a.subarray(0, 24), 'clocks do not depend on the seed')
    assert.notDeepEqual(c.subarray(24), a.subarray(24), 'random bytes do')
  })

  test('the result is deterministic regardless of the cache', async () => {
    const cold = await executor.run(job(mandelbrot, { args: TILE_ARGS }))
    const warm1 = await executor.run(job(mandelbrot, { moduleKey: 'mandelbrot', args: TILE_ARGS }))
    const warm2 = await executor.run(job(mandelbrot, { moduleKey: 'mandelbrot', args: TILE_ARGS }))
    assert.deepEqual(warm1.stdout, cold.stdout)
    assert.deepEqual(warm2.stdout, cold.stdout)
    assert.equal(warm2.fuelUsed, cold.fuelUsed)
  })

  test('bad jobs are rejected before running', async () => {
    const err = await executor
      .run(job(spin, { inputs: [{ path: '../x', bytes: new Uint8Array() }] }))
      .catch((e) => e)
    assert.equal(err.name, 'InvalidJobError')
  })
})
